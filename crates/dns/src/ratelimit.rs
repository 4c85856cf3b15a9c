//! Per-source rate limiting: a token bucket per client address (IPv6 by /64), in a bounded, sharded
//! table, so one flooding source cannot take the responder's time from the others.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

const SHARDS: usize = 16;
/// Sources remembered per shard; beyond that, idle ones are forgotten first.
const MAX_PER_SHARD: usize = 4096;

struct Bucket {
    tokens: f64,
    last: Instant,
}

pub struct RateLimiter {
    /// Tokens per second (0: unlimited).
    rate: f64,
    /// Burst: two seconds' worth.
    burst: f64,
    shards: Vec<Mutex<HashMap<u128, Bucket>>>,
}

impl RateLimiter {
    pub fn new(qps: u32) -> Self {
        Self {
            rate: qps as f64,
            burst: (qps as f64 * 2.0).max(1.0),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn key(ip: IpAddr) -> u128 {
        match ip {
            IpAddr::V4(a) => u32::from(a) as u128,
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => u32::from(v4) as u128,
                None => (u128::from(a) >> 64) << 64 | 1,
            },
        }
    }

    /// May `ip` send one more query now?
    pub fn allow(&self, ip: IpAddr) -> bool {
        self.allow_at(ip, Instant::now())
    }

    fn allow_at(&self, ip: IpAddr, now: Instant) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        let key = Self::key(ip);
        let shard = &self.shards[(key as usize ^ (key >> 64) as usize) % SHARDS];
        let mut map = shard.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_PER_SHARD && !map.contains_key(&key) {
            let burst = self.burst;
            let rate = self.rate;
            // Forget sources whose bucket has refilled (they are idle).
            map.retain(|_, b| b.tokens + now.duration_since(b.last).as_secs_f64() * rate < burst);
            if map.len() >= MAX_PER_SHARD {
                return false;
            }
        }
        let b = map.entry(key).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * self.rate).min(self.burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn limits_each_source_alone() {
        let rl = RateLimiter::new(10);
        let t = Instant::now();
        let flooder: IpAddr = "127.0.0.2".parse().unwrap();
        let other: IpAddr = "127.0.0.3".parse().unwrap();
        let allowed = (0..100).filter(|_| rl.allow_at(flooder, t)).count();
        assert_eq!(allowed, 20, "a burst of two seconds' worth");
        assert!(rl.allow_at(other, t), "another source is not affected");
        assert!(rl.allow_at(flooder, t + Duration::from_millis(150)), "tokens refill");
        assert!(RateLimiter::new(0).allow(flooder));
        // Addresses of one IPv6 /64 share a bucket.
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::2".parse().unwrap();
        let allowed = (0..30)
            .filter(|i| rl.allow_at(if i % 2 == 0 { a } else { b }, t))
            .count();
        assert_eq!(allowed, 20);
    }
}
