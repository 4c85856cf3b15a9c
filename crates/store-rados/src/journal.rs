//! The pieces of the RADOS metadata store that need no cluster: the order-preserving omap key encoding, the
//! journal record (one committed transaction's mutations), which shard object a key lives in, and merging a
//! set of mutations over rows read from the shards.

use meridian_store::{Kv, StoreError};
use std::collections::BTreeMap;

/// Mutations of one transaction: key → new value, or `None` for a delete.
pub type Mutations = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Omap keys pass through C strings in some librados calls: NUL and 0x01 are escaped (0x00 → 01 01,
/// 0x01 → 01 02). The code is prefix-free and monotonic per byte, so byte order is kept.
pub fn enc_key(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 2);
    for &b in key {
        match b {
            0 => out.extend_from_slice(&[1, 1]),
            1 => out.extend_from_slice(&[1, 2]),
            b => out.push(b),
        }
    }
    out
}

pub fn dec_key(key: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(key.len());
    let mut it = key.iter();
    while let Some(&b) = it.next() {
        if b == 1 {
            match it.next() {
                Some(1) => out.push(0),
                Some(2) => out.push(1),
                _ => return Err(StoreError::Meta("corrupt omap key escape".into())),
            }
        } else {
            out.push(b);
        }
    }
    Ok(out)
}

/// The group a key belongs to: up to and including its second '/', or the whole key. One group's keys
/// live in one shard, so a scan inside a group (a bucket's objects, one log shard) reads one object;
/// keys with less structure (users, GC entries) spread over all shards.
fn group(key: &[u8]) -> &[u8] {
    two_level(key).unwrap_or(key)
}

/// The key's prefix up to and including its second '/', if it has one.
fn two_level(key: &[u8]) -> Option<&[u8]> {
    let mut slashes = 0;
    for (i, &b) in key.iter().enumerate() {
        if b == b'/' {
            slashes += 1;
            if slashes == 2 {
                return Some(&key[..=i]);
            }
        }
    }
    None
}

/// FNV-1a: stable across releases and platforms.
fn hash(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

pub fn shard_of(key: &[u8], shards: u32) -> u32 {
    hash(group(key)) % shards
}

/// The one shard holding every key of `[start, end)`, if the range lies inside one group.
pub fn range_shard(start: &[u8], end: &[u8], shards: u32) -> Option<u32> {
    let g = two_level(start)?;
    let g_end = meridian_store::meta::prefix_end(g);
    (end <= g_end.as_slice()).then(|| hash(g) % shards)
}

pub fn encode(seq: u64, m: &Mutations) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&(m.len() as u32).to_le_bytes());
    for (k, v) in m {
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(k);
        match v {
            Some(v) => {
                out.push(1);
                out.extend_from_slice(&(v.len() as u32).to_le_bytes());
                out.extend_from_slice(v);
            }
            None => out.push(0),
        }
    }
    out
}

pub fn decode(bytes: &[u8]) -> Result<(u64, Mutations), StoreError> {
    let bad = || StoreError::Meta("corrupt metadata journal".into());
    let mut pos = 0usize;
    let mut take = |n: usize| -> Result<&[u8], StoreError> {
        let s = bytes.get(pos..pos + n).ok_or_else(bad)?;
        pos += n;
        Ok(s)
    };
    let seq = u64::from_le_bytes(take(8)?.try_into().map_err(|_| bad())?);
    let count = u32::from_le_bytes(take(4)?.try_into().map_err(|_| bad())?);
    let mut m = Mutations::new();
    for _ in 0..count {
        let kl = u32::from_le_bytes(take(4)?.try_into().map_err(|_| bad())?) as usize;
        let k = take(kl)?.to_vec();
        let v = match take(1)?[0] {
            1 => {
                let vl = u32::from_le_bytes(take(4)?.try_into().map_err(|_| bad())?) as usize;
                Some(take(vl)?.to_vec())
            }
            _ => None,
        };
        m.insert(k, v);
    }
    Ok((seq, m))
}

/// Deletes in `m` within `[start, end)`: how many extra rows a scan must fetch so that `limit` survive.
pub fn deletes_in(m: &Mutations, start: &[u8], end: &[u8]) -> usize {
    if start >= end {
        return 0;
    }
    m.range(start.to_vec()..end.to_vec())
        .filter(|(_, v)| v.is_none())
        .count()
}

/// Applies `m` over `rows` (ascending, from `[start, end)`), where `rows` is exact up to `horizon`
/// inclusive (`None`: exact over the whole range); returns at most `limit` rows, ascending.
pub fn overlay(
    rows: Vec<Kv>,
    horizon: Option<&[u8]>,
    m: &Mutations,
    start: &[u8],
    end: &[u8],
    limit: usize,
) -> Vec<Kv> {
    if m.is_empty() || start >= end {
        let mut rows = rows;
        rows.truncate(limit);
        return rows;
    }
    let mut map: BTreeMap<Vec<u8>, Vec<u8>> = rows
        .into_iter()
        .filter(|(k, _)| horizon.is_none_or(|h| k.as_slice() <= h))
        .collect();
    for (k, v) in m.range(start.to_vec()..end.to_vec()) {
        if horizon.is_some_and(|h| k.as_slice() > h) {
            break;
        }
        match v {
            Some(v) => map.insert(k.clone(), v.clone()),
            None => map.remove(k),
        };
    }
    map.into_iter().take(limit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_encoding_keeps_order_and_round_trips() {
        let mut keys: Vec<Vec<u8>> = vec![
            b"a".to_vec(),
            b"a\0".to_vec(),
            b"a\0\x05".to_vec(),
            b"a\x01".to_vec(),
            b"a\x01z".to_vec(),
            b"a\x02".to_vec(),
            b"ab".to_vec(),
            b"mpu/b/k\0u".to_vec(),
            vec![0xFF],
        ];
        keys.sort();
        let enc: Vec<Vec<u8>> = keys.iter().map(|k| enc_key(k)).collect();
        let mut sorted = enc.clone();
        sorted.sort();
        assert_eq!(enc, sorted);
        for (k, e) in keys.iter().zip(&enc) {
            assert!(!e.contains(&0));
            assert_eq!(&dec_key(e).unwrap(), k);
        }
    }

    #[test]
    fn groups_pick_one_shard_for_in_group_ranges() {
        assert_eq!(group(b"obj/b1/key/with/slashes"), b"obj/b1/");
        assert_eq!(group(b"user/alice"), b"user/alice");
        let s = shard_of(b"obj/b1/x", 32);
        assert_eq!(range_shard(b"obj/b1/", b"obj/b10", 32), Some(s));
        assert_eq!(range_shard(b"obj/b1/m", b"obj/b1/n", 32), Some(s));
        assert_eq!(range_shard(b"obj/", b"obj0", 32), None);
        assert_eq!(range_shard(b"user/", b"user0", 32), None);
    }

    #[test]
    fn journal_round_trips_and_overlays() {
        let mut m = Mutations::new();
        m.insert(b"k/2".to_vec(), None);
        m.insert(b"k/4".to_vec(), Some(b"four".to_vec()));
        m.insert(b"k/9".to_vec(), Some(b"nine".to_vec()));
        let (seq, back) = decode(&encode(7, &m)).unwrap();
        assert_eq!((seq, &back), (7, &m));
        let rows = vec![
            (b"k/1".to_vec(), b"1".to_vec()),
            (b"k/2".to_vec(), b"2".to_vec()),
            (b"k/3".to_vec(), b"3".to_vec()),
        ];
        // Exact only up to k/3: k/9 must not be added (rows between k/3 and k/9 are unknown).
        let out = overlay(rows.clone(), Some(b"k/3"), &m, b"k/", b"k0", 10);
        let keys: Vec<_> = out.iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(keys, vec![b"k/1".to_vec(), b"k/3".to_vec()]);
        let out = overlay(rows, None, &m, b"k/", b"k0", 3);
        let keys: Vec<_> = out.iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(keys, vec![b"k/1".to_vec(), b"k/3".to_vec(), b"k/4".to_vec()]);
        assert_eq!(deletes_in(&m, b"k/", b"k0"), 1);
    }
}
