//! Login sessions: a random id in a `SameSite=Strict; HttpOnly` cookie, the user's key kept on the server,
//! and a per-session CSRF token that every state-changing request must carry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const COOKIE: &str = "meridian_session";
/// A session unused for this long is forgotten.
const IDLE: Duration = Duration::from_secs(12 * 3600);

#[derive(Debug)]
pub struct Session {
    pub csrf: String,
    pub access_key: String,
    pub secret_key: String,
    /// The user id (`tenant$uid`), or the system principal's name for a zone or admin key.
    pub uid: String,
    /// A system key: sees and manages everything (users, every bucket).
    pub admin: bool,
    last_seen: Mutex<Instant>,
}

impl Session {
    pub fn new(access_key: &str, secret_key: &str, uid: &str, admin: bool) -> Self {
        Self {
            csrf: random_token(),
            access_key: access_key.to_string(),
            secret_key: secret_key.to_string(),
            uid: uid.to_string(),
            admin,
            last_seen: Mutex::new(Instant::now()),
        }
    }

    /// Constant-time comparison of a presented CSRF token.
    pub fn csrf_ok(&self, presented: &str) -> bool {
        let (a, b) = (self.csrf.as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// 244 random bits (two v4 UUIDs), hex.
pub fn random_token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

#[derive(Clone, Default)]
pub struct Sessions(Arc<Mutex<HashMap<String, Arc<Session>>>>);

impl Sessions {
    /// Stores a session; returns its id (the cookie value).
    pub fn insert(&self, s: Session) -> String {
        let id = random_token();
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, s| s.last_seen.lock().map(|t| t.elapsed() < IDLE).unwrap_or(false));
        map.insert(id.clone(), Arc::new(s));
        id
    }

    pub fn get(&self, id: &str) -> Option<Arc<Session>> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let s = map.get(id)?.clone();
        let mut seen = s.last_seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.elapsed() > IDLE {
            return None;
        }
        *seen = Instant::now();
        drop(seen);
        Some(s)
    }

    pub fn remove(&self, id: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }
}

/// The session id from a request's `Cookie` headers.
pub fn cookie_value(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

pub fn set_cookie(id: &str) -> String {
    format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict")
}

pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_round_trip_and_check_csrf() {
        let sessions = Sessions::default();
        let id = sessions.insert(Session::new("AK", "SK", "alice", false));
        let s = sessions.get(&id).expect("session");
        assert!(s.csrf_ok(&s.csrf.clone()));
        assert!(!s.csrf_ok("nope"));
        assert!(!s.csrf_ok(""));
        assert!(sessions.get("other").is_none());
        sessions.remove(&id);
        assert!(sessions.get(&id).is_none());
    }

    #[test]
    fn cookie_is_found_among_others() {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::COOKIE, "a=1; meridian_session=xyz; b=2".parse().unwrap());
        assert_eq!(cookie_value(&h).as_deref(), Some("xyz"));
        assert!(set_cookie("x").contains("SameSite=Strict"));
        assert!(set_cookie("x").contains("HttpOnly"));
    }
}
