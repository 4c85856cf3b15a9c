//! A thin safe wrapper over librados (Ceph's C client library): a cluster connection, pool I/O contexts,
//! atomic compound write/read operations on one object (data, xattrs, omap, cls calls), asynchronous
//! operations for parallel I/O, and cls_lock leases. Only what Meridian's RADOS store needs.

#![allow(
    unsafe_code,
    reason = "the bindings to librados, a C library: every call crosses the FFI boundary"
)]

mod ffi;

use libc::{c_char, c_int};
use std::ffi::{CStr, CString};
use std::path::Path;
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

/// A librados error: the negative errno a call returned, and what was being done.
#[derive(Debug, Clone)]
pub struct Error {
    pub errno: i32,
    pub what: String,
}

impl Error {
    fn new(rc: i32, what: impl Into<String>) -> Self {
        Self {
            errno: -rc,
            what: what.into(),
        }
    }
    pub fn is_not_found(&self) -> bool {
        self.errno == libc::ENOENT
    }
    pub fn is_exists(&self) -> bool {
        self.errno == libc::EEXIST
    }
    pub fn is_busy(&self) -> bool {
        self.errno == libc::EBUSY
    }
    /// A compare (cmpxattr, assert) in a compound operation failed: nothing of the operation was applied.
    pub fn is_canceled(&self) -> bool {
        self.errno == libc::ECANCELED
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "librados: {}: {} (errno {})",
            self.what,
            std::io::Error::from_raw_os_error(self.errno),
            self.errno
        )
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

fn check(rc: c_int, what: impl FnOnce() -> String) -> Result<c_int> {
    if rc < 0 {
        Err(Error::new(rc, what()))
    } else {
        Ok(rc)
    }
}

fn cstr(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::new(-libc::EINVAL, format!("name with a NUL byte: {s:?}")))
}

/// A connected cluster handle (thread-safe in librados).
pub struct Rados {
    cluster: ffi::rados_t,
}

// SAFETY: librados cluster handles may be used from any thread concurrently.
unsafe impl Send for Rados {}
unsafe impl Sync for Rados {}

impl Rados {
    /// Connects as `user` (`admin` or `client.admin`) with the settings of the ceph.conf at `conf`.
    pub fn connect(conf: &Path, user: &str) -> Result<Arc<Self>> {
        let name = if user.contains('.') {
            user.to_string()
        } else {
            format!("client.{user}")
        };
        let cluster_name = cstr("ceph")?;
        let cname = cstr(&name)?;
        let mut cluster: ffi::rados_t = ptr::null_mut();
        // SAFETY: out-pointer to a local; the strings outlive the call.
        check(
            unsafe { ffi::rados_create2(&mut cluster, cluster_name.as_ptr(), cname.as_ptr(), 0) },
            || format!("create a cluster handle for {name}"),
        )?;
        let handle = Self { cluster };
        let path = cstr(&conf.display().to_string())?;
        // SAFETY: a live handle and a NUL-terminated path.
        check(
            unsafe { ffi::rados_conf_read_file(handle.cluster, path.as_ptr()) },
            || format!("read {}", conf.display()),
        )?;
        // A gateway must not hang forever on a cluster that went away: fail the op, answer 503, go on.
        for (k, v) in [
            ("client_mount_timeout", "30"),
            ("rados_osd_op_timeout", "60"),
            ("rados_mon_op_timeout", "30"),
        ] {
            let (k, v) = (cstr(k)?, cstr(v)?);
            // SAFETY: a live handle and NUL-terminated strings.
            unsafe { ffi::rados_conf_set(handle.cluster, k.as_ptr(), v.as_ptr()) };
        }
        // SAFETY: a configured handle.
        check(unsafe { ffi::rados_connect(handle.cluster) }, || {
            format!("connect to the cluster of {}", conf.display())
        })?;
        Ok(Arc::new(handle))
    }

    /// Creates the pool unless it exists.
    pub fn ensure_pool(&self, pool: &str) -> Result<()> {
        let name = cstr(pool)?;
        // SAFETY: a connected handle and a NUL-terminated name.
        if unsafe { ffi::rados_pool_lookup(self.cluster, name.as_ptr()) } >= 0 {
            return Ok(());
        }
        // SAFETY: as above.
        match check(unsafe { ffi::rados_pool_create(self.cluster, name.as_ptr()) }, || {
            format!("create pool {pool}")
        }) {
            Err(e) if e.is_exists() => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// An I/O context on `pool`, in the RADOS namespace `namespace` ("" is the default one).
    pub fn ioctx(self: &Arc<Self>, pool: &str, namespace: &str) -> Result<IoCtx> {
        let name = cstr(pool)?;
        let ns = cstr(namespace)?;
        let mut io: ffi::rados_ioctx_t = ptr::null_mut();
        // SAFETY: a connected handle, out-pointer to a local.
        check(
            unsafe { ffi::rados_ioctx_create(self.cluster, name.as_ptr(), &mut io) },
            || format!("open pool {pool}"),
        )?;
        // SAFETY: a fresh context; librados copies the namespace.
        unsafe { ffi::rados_ioctx_set_namespace(io, ns.as_ptr()) };
        Ok(IoCtx {
            io,
            pool: pool.to_string(),
            _cluster: self.clone(),
        })
    }
}

impl Drop for Rados {
    fn drop(&mut self) {
        // SAFETY: every IoCtx holds an Arc to this handle, so none is left when it drops.
        unsafe { ffi::rados_shutdown(self.cluster) };
    }
}

/// An I/O context on one pool (thread-safe for concurrent operations).
pub struct IoCtx {
    io: ffi::rados_ioctx_t,
    pool: String,
    _cluster: Arc<Rados>,
}

// SAFETY: librados I/O contexts may be shared between threads for object operations.
unsafe impl Send for IoCtx {}
unsafe impl Sync for IoCtx {}

impl Drop for IoCtx {
    fn drop(&mut self) {
        // SAFETY: created by rados_ioctx_create; pending async ops own their completion and are waited for
        // before they drop (they borrow this context).
        unsafe { ffi::rados_ioctx_destroy(self.io) };
    }
}

/// How `WriteOp::cmpxattr` compares the given value with the stored one (byte strings).
#[derive(Debug, Clone, Copy)]
pub enum Cmp {
    Eq = 1,
    /// The given value is greater than the stored one.
    Gt = 3,
}

impl IoCtx {
    pub fn pool(&self) -> &str {
        &self.pool
    }

    pub fn write_full(&self, oid: &str, data: &[u8]) -> Result<()> {
        let o = cstr(oid)?;
        // SAFETY: data is valid for len bytes during the call (librados copies it).
        check(
            unsafe { ffi::rados_write_full(self.io, o.as_ptr(), data.as_ptr().cast(), data.len()) },
            || format!("write {oid}"),
        )?;
        Ok(())
    }

    /// Reads into `buf` from `off`; returns how many bytes were read (fewer at the object's end).
    pub fn read(&self, oid: &str, off: u64, buf: &mut [u8]) -> Result<usize> {
        let o = cstr(oid)?;
        // SAFETY: buf is valid for writes of buf.len() bytes during the call.
        let n = check(
            unsafe { ffi::rados_read(self.io, o.as_ptr(), buf.as_mut_ptr().cast(), buf.len(), off) },
            || format!("read {oid}"),
        )?;
        Ok(n as usize)
    }

    pub fn remove(&self, oid: &str) -> Result<()> {
        let o = cstr(oid)?;
        // SAFETY: a NUL-terminated name.
        check(unsafe { ffi::rados_remove(self.io, o.as_ptr()) }, || {
            format!("remove {oid}")
        })?;
        Ok(())
    }

    /// Size and modification time (seconds since the epoch).
    pub fn stat(&self, oid: &str) -> Result<(u64, i64)> {
        let o = cstr(oid)?;
        let (mut size, mut mtime) = (0u64, 0 as libc::time_t);
        // SAFETY: out-pointers to locals.
        check(
            unsafe { ffi::rados_stat(self.io, o.as_ptr(), &mut size, &mut mtime) },
            || format!("stat {oid}"),
        )?;
        #[allow(clippy::useless_conversion)] // time_t is not i64 on every platform
        Ok((size, i64::from(mtime)))
    }

    pub fn getxattr(&self, oid: &str, name: &str) -> Result<Vec<u8>> {
        let (o, n) = (cstr(oid)?, cstr(name)?);
        let mut buf = vec![0u8; 256];
        // SAFETY: buf is valid for buf.len() bytes.
        let len = check(
            unsafe { ffi::rados_getxattr(self.io, o.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) },
            || format!("getxattr {oid} {name}"),
        )?;
        buf.truncate(len as usize);
        Ok(buf)
    }

    /// Every object name in the pool (default namespace).
    pub fn list_objects(&self) -> Result<Vec<String>> {
        let mut ctx: ffi::rados_list_ctx_t = ptr::null_mut();
        // SAFETY: out-pointer to a local.
        check(unsafe { ffi::rados_nobjects_list_open(self.io, &mut ctx) }, || {
            format!("list pool {}", self.pool)
        })?;
        let mut out = Vec::new();
        let result = loop {
            let (mut entry, mut key, mut ns): (*const c_char, *const c_char, *const c_char) =
                (ptr::null(), ptr::null(), ptr::null());
            // SAFETY: ctx is open; the returned strings stay valid until the next call.
            let rc = unsafe { ffi::rados_nobjects_list_next(ctx, &mut entry, &mut key, &mut ns) };
            if rc == -libc::ENOENT {
                break Ok(());
            }
            if rc < 0 {
                break Err(Error::new(rc, format!("list pool {}", self.pool)));
            }
            // SAFETY: librados returns a NUL-terminated name.
            out.push(unsafe { CStr::from_ptr(entry) }.to_string_lossy().into_owned());
        };
        // SAFETY: opened above.
        unsafe { ffi::rados_nobjects_list_close(ctx) };
        result.map(|()| out)
    }

    /// Runs `op` atomically on `oid`: every step or none.
    pub fn operate(&self, oid: &str, op: &WriteOp) -> Result<()> {
        let o = cstr(oid)?;
        // SAFETY: op is a live write op; librados copied every input when it was built.
        let rc = unsafe { ffi::rados_write_op_operate(op.op, self.io, o.as_ptr(), ptr::null_mut(), 0) };
        check(rc, || format!("write op on {oid}"))?;
        Ok(())
    }

    /// Starts `op` on `oid`; `wait` on the result (a dropped pending op is waited for too).
    pub fn aio_operate(self: &Arc<Self>, oid: &str, op: WriteOp) -> Result<Pending<WriteOp>> {
        let o = cstr(oid)?;
        let comp = completion()?;
        // SAFETY: op and comp live in the returned Pending until the completion fires.
        let rc = unsafe { ffi::rados_aio_write_op_operate(op.op, self.io, comp, o.as_ptr(), ptr::null_mut(), 0) };
        Pending::start(rc, comp, op, self, oid)
    }

    pub fn aio_write_full(self: &Arc<Self>, oid: &str, data: Vec<u8>) -> Result<Pending<Vec<u8>>> {
        let o = cstr(oid)?;
        let comp = completion()?;
        // SAFETY: data stays alive inside the Pending until the completion fires.
        let rc = unsafe { ffi::rados_aio_write_full(self.io, o.as_ptr(), comp, data.as_ptr().cast(), data.len()) };
        Pending::start(rc, comp, data, self, oid)
    }

    pub fn aio_remove(self: &Arc<Self>, oid: &str) -> Result<Pending<()>> {
        let o = cstr(oid)?;
        let comp = completion()?;
        // SAFETY: a fresh completion.
        let rc = unsafe { ffi::rados_aio_remove(self.io, o.as_ptr(), comp) };
        Pending::start(rc, comp, (), self, oid)
    }

    /// Starts reading `len` bytes from `off`; `wait` returns the bytes read (fewer at the object's end).
    pub fn aio_read(self: &Arc<Self>, oid: &str, off: u64, len: usize) -> Result<Pending<Vec<u8>>> {
        let o = cstr(oid)?;
        let comp = completion()?;
        let mut buf = vec![0u8; len];
        // SAFETY: buf's heap storage does not move when the Vec moves into the Pending, and lives until the
        // completion fires.
        let rc = unsafe { ffi::rados_aio_read(self.io, o.as_ptr(), comp, buf.as_mut_ptr().cast(), len, off) };
        Pending::start(rc, comp, buf, self, oid)
    }

    /// Runs a read op on `oid`; its results are read from the op afterwards.
    pub fn read_op(&self, oid: &str, op: &mut ReadOp) -> Result<()> {
        let o = cstr(oid)?;
        // SAFETY: op's out-slots are boxed and live as long as op.
        let rc = unsafe { ffi::rados_read_op_operate(op.op, self.io, o.as_ptr(), 0) };
        check(rc, || format!("read op on {oid}"))?;
        Ok(())
    }

    pub fn aio_read_op(self: &Arc<Self>, oid: &str, op: ReadOp) -> Result<Pending<ReadOp>> {
        let o = cstr(oid)?;
        let comp = completion()?;
        // SAFETY: op (and its boxed out-slots) lives inside the Pending until the completion fires.
        let rc = unsafe { ffi::rados_aio_read_op_operate(op.op, self.io, comp, o.as_ptr(), 0) };
        Pending::start(rc, comp, op, self, oid)
    }

    /// Takes (or with `renew`, extends) the exclusive cls_lock `name` on `oid` for `duration`. Fails with
    /// EBUSY when another holder has it, EEXIST when this (client, cookie) holds it and `renew` is false.
    pub fn lock_exclusive(&self, oid: &str, name: &str, cookie: &str, duration: Duration, renew: bool) -> Result<()> {
        let (o, n, c, d) = (cstr(oid)?, cstr(name)?, cstr(cookie)?, cstr("meridian")?);
        let mut tv = libc::timeval {
            tv_sec: duration.as_secs() as libc::time_t,
            tv_usec: duration.subsec_micros() as libc::suseconds_t,
        };
        let flags = if renew { ffi::LIBRADOS_LOCK_FLAG_MAY_RENEW } else { 0 };
        // SAFETY: NUL-terminated strings and a timeval on the stack, all valid during the call.
        let rc = unsafe {
            ffi::rados_lock_exclusive(self.io, o.as_ptr(), n.as_ptr(), c.as_ptr(), d.as_ptr(), &mut tv, flags)
        };
        check(rc, || format!("lock {name} on {oid}"))?;
        Ok(())
    }

    pub fn unlock(&self, oid: &str, name: &str, cookie: &str) -> Result<()> {
        let (o, n, c) = (cstr(oid)?, cstr(name)?, cstr(cookie)?);
        // SAFETY: NUL-terminated strings.
        check(
            unsafe { ffi::rados_unlock(self.io, o.as_ptr(), n.as_ptr(), c.as_ptr()) },
            || format!("unlock {name} on {oid}"),
        )?;
        Ok(())
    }
}

fn completion() -> Result<ffi::rados_completion_t> {
    let mut c: ffi::rados_completion_t = ptr::null_mut();
    // SAFETY: no callback; out-pointer to a local.
    check(
        unsafe { ffi::rados_aio_create_completion2(ptr::null_mut(), None, &mut c) },
        || "create an aio completion".into(),
    )?;
    Ok(c)
}

/// An asynchronous operation in flight, owning what librados reads from or writes to until it completes.
pub struct Pending<T> {
    comp: ffi::rados_completion_t,
    owned: Option<T>,
    oid: String,
    done: bool,
    _io: Arc<IoCtx>,
}

// SAFETY: a completion may be waited for from any thread; T is only touched after completion.
unsafe impl<T: Send> Send for Pending<T> {}

impl<T> Pending<T> {
    fn start(rc: c_int, comp: ffi::rados_completion_t, owned: T, io: &Arc<IoCtx>, oid: &str) -> Result<Self> {
        if rc < 0 {
            // SAFETY: the op was never queued, so the completion is ours to release.
            unsafe { ffi::rados_aio_release(comp) };
            return Err(Error::new(rc, format!("start async op on {oid}")));
        }
        Ok(Self {
            comp,
            owned: Some(owned),
            oid: oid.to_string(),
            done: false,
            _io: io.clone(),
        })
    }

    fn finish(&mut self) -> c_int {
        if self.done {
            return 0;
        }
        self.done = true;
        // SAFETY: the completion is live until released here, once.
        unsafe {
            ffi::rados_aio_wait_for_complete(self.comp);
            let rc = ffi::rados_aio_get_return_value(self.comp);
            ffi::rados_aio_release(self.comp);
            rc
        }
    }

    /// Waits for completion; returns the op's return value (e.g. bytes read) and what it owned.
    pub fn wait(mut self) -> Result<(usize, T)> {
        let rc = self.finish();
        let owned = self.owned.take();
        let rc = check(rc, || format!("async op on {}", self.oid))?;
        match owned {
            Some(t) => Ok((rc as usize, t)),
            None => Err(Error::new(-libc::EINVAL, "async op waited twice")),
        }
    }
}

impl<T> Drop for Pending<T> {
    fn drop(&mut self) {
        // librados may still write into what this owns: never free it under a running op.
        self.finish();
    }
}

/// A compound write on one object, applied atomically. librados copies each input as it is added.
pub struct WriteOp {
    op: ffi::rados_write_op_t,
    /// Return values of exec steps (librados writes them when the op completes).
    // Boxed: librados holds their addresses, which must not move when the Vec grows.
    #[allow(clippy::vec_box)]
    rvals: Vec<Box<c_int>>,
}

// SAFETY: a write op is plain data owned by one thread at a time.
unsafe impl Send for WriteOp {}

impl Default for WriteOp {
    fn default() -> Self {
        Self::new()
    }
}

impl WriteOp {
    pub fn new() -> Self {
        // SAFETY: allocates a fresh op, released in Drop.
        Self {
            op: unsafe { ffi::rados_create_write_op() },
            rvals: Vec::new(),
        }
    }

    pub fn create(&mut self, exclusive: bool) -> &mut Self {
        let mode = if exclusive {
            ffi::LIBRADOS_CREATE_EXCLUSIVE
        } else {
            ffi::LIBRADOS_CREATE_IDEMPOTENT
        };
        // SAFETY: a live op.
        unsafe { ffi::rados_write_op_create(self.op, mode, ptr::null()) };
        self
    }

    pub fn remove(&mut self) -> &mut Self {
        // SAFETY: a live op.
        unsafe { ffi::rados_write_op_remove(self.op) };
        self
    }

    pub fn write_full(&mut self, data: &[u8]) -> &mut Self {
        // SAFETY: copied by librados during the call.
        unsafe { ffi::rados_write_op_write_full(self.op, data.as_ptr().cast(), data.len()) };
        self
    }

    pub fn setxattr(&mut self, name: &str, value: &[u8]) -> &mut Self {
        let n = CString::new(name).unwrap_or_default();
        // SAFETY: copied by librados during the call.
        unsafe { ffi::rados_write_op_setxattr(self.op, n.as_ptr(), value.as_ptr().cast(), value.len()) };
        self
    }

    /// The whole op fails with ECANCELED unless `value <cmp> stored xattr` (byte-string comparison).
    pub fn cmpxattr(&mut self, name: &str, cmp: Cmp, value: &[u8]) -> &mut Self {
        let n = CString::new(name).unwrap_or_default();
        // SAFETY: copied by librados during the call.
        unsafe { ffi::rados_write_op_cmpxattr(self.op, n.as_ptr(), cmp as u8, value.as_ptr().cast(), value.len()) };
        self
    }

    pub fn omap_set(&mut self, entries: &[(&[u8], &[u8])]) -> &mut Self {
        if entries.is_empty() {
            return self;
        }
        let keys: Vec<*const c_char> = entries.iter().map(|(k, _)| k.as_ptr().cast()).collect();
        let vals: Vec<*const c_char> = entries.iter().map(|(_, v)| v.as_ptr().cast()).collect();
        let klens: Vec<usize> = entries.iter().map(|(k, _)| k.len()).collect();
        let vlens: Vec<usize> = entries.iter().map(|(_, v)| v.len()).collect();
        // SAFETY: four arrays of entries.len() elements pointing into live slices; copied during the call.
        unsafe {
            ffi::rados_write_op_omap_set2(
                self.op,
                keys.as_ptr(),
                vals.as_ptr(),
                klens.as_ptr(),
                vlens.as_ptr(),
                entries.len(),
            )
        };
        self
    }

    pub fn omap_rm_keys(&mut self, keys: &[&[u8]]) -> &mut Self {
        if keys.is_empty() {
            return self;
        }
        let ptrs: Vec<*const c_char> = keys.iter().map(|k| k.as_ptr().cast()).collect();
        let lens: Vec<usize> = keys.iter().map(|k| k.len()).collect();
        // SAFETY: arrays of keys.len() elements pointing into live slices; copied during the call.
        unsafe { ffi::rados_write_op_omap_rm_keys2(self.op, ptrs.as_ptr(), lens.as_ptr(), keys.len()) };
        self
    }

    /// Calls an object class method (e.g. `lock`/`assert_locked`) as a step of this op.
    pub fn exec(&mut self, cls: &str, method: &str, input: &[u8]) -> &mut Self {
        let (c, m) = (
            CString::new(cls).unwrap_or_default(),
            CString::new(method).unwrap_or_default(),
        );
        let mut rval = Box::new(0);
        // SAFETY: strings and input are copied during the call; rval is boxed and lives as long as the op.
        unsafe {
            ffi::rados_write_op_exec(
                self.op,
                c.as_ptr(),
                m.as_ptr(),
                input.as_ptr().cast(),
                input.len(),
                &mut *rval,
            )
        };
        self.rvals.push(rval);
        self
    }

    /// A step that fails the whole op (EBUSY/ENOENT) unless `cookie` holds the exclusive cls_lock `name`
    /// on the object: fencing, so that a holder whose lease expired can no longer write.
    pub fn assert_locked(&mut self, name: &str, cookie: &str) -> &mut Self {
        let input = encode_assert_locked(name, cookie);
        self.exec("lock", "assert_locked", &input)
    }
}

impl Drop for WriteOp {
    fn drop(&mut self) {
        // SAFETY: created in new(); a running op is owned by a Pending that waits before dropping it.
        unsafe { ffi::rados_release_write_op(self.op) };
    }
}

/// cls_lock's `cls_lock_assert_op` in Ceph's encoding: ENCODE_START(1, 1) + name, type (1 = exclusive),
/// cookie, tag (empty, as librados' lock_exclusive uses).
fn encode_assert_locked(name: &str, cookie: &str) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    let mut body = Vec::new();
    string(&mut body, name);
    body.push(1);
    string(&mut body, cookie);
    string(&mut body, "");
    let mut out = vec![1, 1];
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// Where a read step's results land: librados fills these when the op completes.
struct OmapSlot {
    iter: ffi::rados_omap_iter_t,
    more: u8,
    rval: c_int,
    /// The step's input strings (librados copies them; kept here so the pointers are trivially valid).
    _keep: Vec<Vec<u8>>,
}

/// A compound read on one object.
pub struct ReadOp {
    op: ffi::rados_read_op_t,
    // Boxed: librados holds addresses inside each slot, which must not move when the Vec grows.
    #[allow(clippy::vec_box)]
    slots: Vec<Box<OmapSlot>>,
}

// SAFETY: a read op is plain data owned by one thread at a time.
unsafe impl Send for ReadOp {}

impl Default for ReadOp {
    fn default() -> Self {
        Self::new()
    }
}

/// Omap entries a read step returned, ascending, and whether more follow.
pub type OmapPage = (Vec<(Vec<u8>, Vec<u8>)>, bool);

impl ReadOp {
    pub fn new() -> Self {
        // SAFETY: allocates a fresh op, released in Drop.
        Self {
            op: unsafe { ffi::rados_create_read_op() },
            slots: Vec::new(),
        }
    }

    fn slot(&mut self, keep: Vec<Vec<u8>>) -> &mut OmapSlot {
        self.slots.push(Box::new(OmapSlot {
            iter: ptr::null_mut(),
            more: 0,
            rval: 0,
            _keep: keep,
        }));
        let last = self.slots.len() - 1;
        &mut self.slots[last]
    }

    /// Up to `max` entries with keys after `start_after` that begin with `prefix`; returns the step's index.
    /// Keys must not contain NUL bytes (the C API takes C strings here).
    pub fn omap_get_vals(&mut self, start_after: &[u8], prefix: &[u8], max: u64) -> usize {
        let sa = CString::new(start_after).unwrap_or_default();
        let pf = CString::new(prefix).unwrap_or_default();
        let op = self.op;
        let slot = self.slot(vec![sa.into_bytes_with_nul(), pf.into_bytes_with_nul()]);
        let (sa, pf) = (slot._keep[0].as_ptr(), slot._keep[1].as_ptr());
        // SAFETY: the strings live in the boxed slot; the out-pointers point into the boxed slot.
        unsafe {
            ffi::rados_read_op_omap_get_vals2(
                op,
                sa.cast(),
                pf.cast(),
                max,
                &mut slot.iter,
                &mut slot.more,
                &mut slot.rval,
            )
        };
        self.slots.len() - 1
    }

    /// The values of `keys` that exist; returns the step's index.
    pub fn omap_get_vals_by_keys(&mut self, keys: &[&[u8]]) -> usize {
        let op = self.op;
        let slot = self.slot(keys.iter().map(|k| k.to_vec()).collect());
        let ptrs: Vec<*const c_char> = slot._keep.iter().map(|k| k.as_ptr().cast()).collect();
        let lens: Vec<usize> = slot._keep.iter().map(Vec::len).collect();
        // SAFETY: key arrays valid during the call (copied); out-pointers into the boxed slot.
        unsafe {
            ffi::rados_read_op_omap_get_vals_by_keys2(
                op,
                ptrs.as_ptr(),
                ptrs.len(),
                lens.as_ptr(),
                &mut slot.iter,
                &mut slot.rval,
            )
        };
        self.slots.len() - 1
    }

    /// The entries of step `index`, after the op ran.
    pub fn omap_result(&mut self, index: usize) -> Result<OmapPage> {
        let Some(slot) = self.slots.get_mut(index) else {
            return Err(Error::new(-libc::EINVAL, "no such read step"));
        };
        if slot.rval < 0 {
            return Err(Error::new(slot.rval, "omap read step"));
        }
        let mut out = Vec::new();
        if slot.iter.is_null() {
            return Ok((out, false));
        }
        loop {
            let (mut k, mut v, mut kl, mut vl) = (ptr::null_mut(), ptr::null_mut(), 0usize, 0usize);
            // SAFETY: a live iterator; the returned buffers are valid until the next call.
            let rc = unsafe { ffi::rados_omap_get_next2(slot.iter, &mut k, &mut v, &mut kl, &mut vl) };
            if rc < 0 {
                return Err(Error::new(rc, "omap iteration"));
            }
            if k.is_null() {
                break;
            }
            // SAFETY: librados guarantees kl/vl bytes at k/v.
            let key = unsafe { std::slice::from_raw_parts(k.cast::<u8>(), kl) }.to_vec();
            let val = if v.is_null() {
                Vec::new()
            } else {
                // SAFETY: as above.
                unsafe { std::slice::from_raw_parts(v.cast::<u8>(), vl) }.to_vec()
            };
            out.push((key, val));
        }
        Ok((out, slot.more != 0))
    }
}

impl Drop for ReadOp {
    fn drop(&mut self) {
        for slot in &self.slots {
            if !slot.iter.is_null() {
                // SAFETY: an iterator librados handed out for this op, ended once.
                unsafe { ffi::rados_omap_get_end(slot.iter) };
            }
        }
        // SAFETY: created in new(); a running op is owned by a Pending that waits before dropping it.
        unsafe { ffi::rados_release_read_op(self.op) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assert_locked_encoding_matches_cls_lock() {
        // ENCODE_START(1,1) | u32 len | "n" | type 1 | "c" | ""
        let enc = encode_assert_locked("n", "c");
        assert_eq!(enc[..2], [1, 1]);
        assert_eq!(
            u32::from_le_bytes(enc[2..6].try_into().unwrap()) as usize,
            enc.len() - 6
        );
        assert_eq!(&enc[6..], &[1, 0, 0, 0, b'n', 1, 1, 0, 0, 0, b'c', 0, 0, 0, 0]);
    }
}
