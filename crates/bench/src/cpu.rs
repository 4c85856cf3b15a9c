//! The load generator's own CPU use (user and system time of the whole process, all threads, from
//! `getrusage(RUSAGE_SELF)`), reported next to the results so a reader can see the client was not the
//! bottleneck.

use std::time::Duration;

use serde::Serialize;

/// CPU time used by this process so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuTimes {
    pub user: Duration,
    pub system: Duration,
}

fn timeval(tv: libc::timeval) -> Duration {
    let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
    let micros = u32::try_from(tv.tv_usec).unwrap_or(0);
    Duration::from_secs(secs) + Duration::from_micros(u64::from(micros))
}

impl CpuTimes {
    /// The process's CPU times now; `None` if the kernel refused (it does not on Linux).
    #[allow(unsafe_code, reason = "getrusage (libc)")]
    pub fn now() -> Option<CpuTimes> {
        // SAFETY: `rusage` is plain old data, so all-zero is a valid value, and getrusage only writes into the
        // struct we pass, which lives for the whole call.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
        if rc != 0 {
            return None;
        }
        Some(CpuTimes {
            user: timeval(usage.ru_utime),
            system: timeval(usage.ru_stime),
        })
    }

    /// The CPU time spent between `earlier` and `self`.
    pub fn since(&self, earlier: &CpuTimes) -> CpuTimes {
        CpuTimes {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }

    pub fn total(&self) -> Duration {
        self.user + self.system
    }
}

/// CPU use over a phase, as reported.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CpuReport {
    pub user_s: f64,
    pub system_s: f64,
    pub total_s: f64,
    /// Total CPU time over wall time: 100 means one core fully busy.
    pub percent_of_one_core: f64,
    /// Cores this machine has, to judge the above against.
    pub cores: usize,
}

impl CpuReport {
    pub fn new(used: CpuTimes, wall: Duration, cores: usize) -> CpuReport {
        let total = used.total().as_secs_f64();
        let wall = wall.as_secs_f64();
        CpuReport {
            user_s: used.user.as_secs_f64(),
            system_s: used.system.as_secs_f64(),
            total_s: total,
            percent_of_one_core: if wall > 0.0 { total / wall * 100.0 } else { 0.0 },
            cores,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn busy_loop_shows_up_as_user_time() {
        let before = CpuTimes::now().unwrap();
        let start = Instant::now();
        let mut x = 0u64;
        // Spin until the counters show 100 ms of CPU (or give up after 20 s of wall time on a starved box).
        let used = loop {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
            let used = CpuTimes::now().unwrap().since(&before);
            if used.total() >= Duration::from_millis(100) || start.elapsed() > Duration::from_secs(20) {
                break used;
            }
        };
        assert!(used.total() >= Duration::from_millis(100), "{used:?}");
        assert!(used.user > used.system, "{used:?}");
    }

    #[test]
    fn report_percentages() {
        let r = CpuReport::new(
            CpuTimes {
                user: Duration::from_millis(1500),
                system: Duration::from_millis(500),
            },
            Duration::from_secs(10),
            2,
        );
        assert_eq!(r.total_s, 2.0);
        assert!((r.percent_of_one_core - 20.0).abs() < 1e-9);
        assert_eq!(r.cores, 2);
    }
}
