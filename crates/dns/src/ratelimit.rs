//! Per-source rate limiting: a token bucket per client address (IPv6 by /64), in a bounded, sharded
//! table, so one flooding source cannot take the responder's time from the others.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

const SHARDS: usize = 16;
/// Sources remembered per shard; beyond that, idle ones are forgotten first, then the stalest.
const MAX_PER_SHARD: usize = 4096;

/// The source a packet or connection is counted against: an IPv4 address (also when IPv4-mapped), or the
/// /64 of an IPv6 address (one host usually holds a whole /64).
pub fn source_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u32::from(a) as u128,
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => u32::from(v4) as u128,
            None => (u128::from(a) >> 64) << 64 | 1,
        },
    }
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

pub struct RateLimiter {
    /// Tokens per second (0: unlimited).
    rate: f64,
    /// Burst: two seconds' worth.
    burst: f64,
    /// Sources one shard remembers.
    per_shard: usize,
    shards: Vec<Mutex<HashMap<u128, Bucket>>>,
}

impl RateLimiter {
    pub fn new(qps: u32) -> Self {
        Self::with_table(qps, SHARDS, MAX_PER_SHARD)
    }

    /// A limiter whose table has `shards` shards of at most `per_shard` sources each.
    pub fn with_table(qps: u32, shards: usize, per_shard: usize) -> Self {
        Self {
            rate: qps as f64,
            burst: (qps as f64 * 2.0).max(1.0),
            per_shard: per_shard.max(1),
            shards: (0..shards.max(1)).map(|_| Mutex::new(HashMap::new())).collect(),
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
        let key = source_key(ip);
        let shard = &self.shards[(key as usize ^ (key >> 64) as usize) % self.shards.len()];
        let mut map = shard.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= self.per_shard && !map.contains_key(&key) {
            self.make_room(&mut map, now);
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

    /// Frees room in a full shard for a new source. Sources whose bucket has refilled are idle and go first
    /// (forgetting them changes nothing); if none is, the eighth of the table heard from least recently goes,
    /// so a new source is never refused for want of room, while a source still sending (a flood) stays
    /// remembered, and limited, unless the table turns over completely between two of its packets.
    fn make_room(&self, map: &mut HashMap<u128, Bucket>, now: Instant) {
        let (burst, rate) = (self.burst, self.rate);
        map.retain(|_, b| b.tokens + now.duration_since(b.last).as_secs_f64() * rate < burst);
        if map.len() < self.per_shard {
            return;
        }
        let mut ages: Vec<(Instant, u128)> = map.iter().map(|(k, b)| (b.last, *k)).collect();
        let evict = (self.per_shard / 8).max(1).min(ages.len());
        ages.select_nth_unstable(evict - 1);
        for (_, k) in &ages[..evict] {
            map.remove(k);
        }
        metrics::counter!("meridian_dns_ratelimit_evictions_total").increment(evict as u64);
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

    #[test]
    fn a_full_table_forgets_its_stalest_sources_not_new_ones() {
        // One shard of 8 sources, every one of them busy (its bucket not refilled, so none is idle).
        let rl = RateLimiter::with_table(1, 1, 8);
        let t = Instant::now();
        let ip = |i: u8| -> IpAddr { format!("10.0.0.{i}").parse().unwrap() };
        for i in 1..=8u8 {
            let at = t + Duration::from_millis(i as u64);
            assert!(rl.allow_at(ip(i), at));
            assert!(rl.allow_at(ip(i), at), "burst of 2");
            assert!(!rl.allow_at(ip(i), at), "source {i} used its burst");
        }
        // Source 8 floods on; the table is full of sources that are not idle.
        let later = t + Duration::from_millis(100);
        assert!(!rl.allow_at(ip(8), later));
        // A new source is answered: the stalest entry (source 1) was forgotten to make room...
        assert!(
            rl.allow_at(ip(9), later),
            "a new source is refused when the table is full"
        );
        let table = rl.shards[0].lock().unwrap();
        assert_eq!(table.len(), 8);
        assert!(
            !table.contains_key(&source_key(ip(1))),
            "the stalest source is forgotten"
        );
        for i in 2..=9u8 {
            assert!(table.contains_key(&source_key(ip(i))), "source {i} is still remembered");
        }
        drop(table);
        // ... and the flooding source is still remembered, so still limited.
        assert!(!rl.allow_at(ip(8), later));
        // Many new sources in a row: each is answered, the table never grows.
        for i in 10..=60u8 {
            assert!(
                rl.allow_at(ip(i), later + Duration::from_micros(i as u64)),
                "source {i}"
            );
        }
        assert!(rl.shards[0].lock().unwrap().len() <= 8);
    }
}
