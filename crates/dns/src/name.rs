//! Domain-name text helpers: normalisation (lowercase, no trailing dot), syntax checks, suffix tests.

/// Lowercase, without a trailing dot.
pub fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Checks RFC 1035 limits on a normalised name: labels of 1..=63 bytes, 253 characters in all (255 on the
/// wire), printable ASCII.
pub fn parse_name(name: &str) -> Result<(), String> {
    if name.len() > 253 {
        return Err(format!("{} characters (at most 253)", name.len()));
    }
    if name.is_empty() {
        return Ok(());
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("empty label".into());
        }
        if label.len() > 63 {
            return Err(format!("label {label:?} is longer than 63 bytes"));
        }
        if !label.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!("label {label:?} has characters a hostname cannot have"));
        }
    }
    Ok(())
}

/// The part of `name` before `.<zone>` (`None` if `name` is not `zone` or under it; `Some("")` at the apex).
pub fn relative<'a>(name: &'a str, zone: &str) -> Option<&'a str> {
    if name == zone {
        return Some("");
    }
    name.strip_suffix(zone)
        .and_then(|rest| rest.strip_suffix('.'))
        .filter(|rest| !rest.is_empty())
}

/// The hostname of an endpoint URL (`http://[::1]:7480/` → `::1`, `http://c:7480` → `c`).
pub fn endpoint_host(endpoint: &str) -> Option<String> {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split_once(']').map(|(h, _)| h)?
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(normalize("Photos.S3.Example.com."), "photos.s3.example.com");
        assert_eq!(relative("a.b.s3.example.com", "s3.example.com"), Some("a.b"));
        assert_eq!(relative("s3.example.com", "s3.example.com"), Some(""));
        assert_eq!(relative("evils3.example.com", "s3.example.com"), None);
        assert_eq!(relative("example.com", "s3.example.com"), None);
        assert!(parse_name("a.b").is_ok());
        assert!(parse_name("a..b").is_err());
        assert!(parse_name(&"a.".repeat(127)).is_err());
        assert_eq!(endpoint_host("http://127.0.0.1:7480").as_deref(), Some("127.0.0.1"));
        assert_eq!(endpoint_host("https://[::1]:443/x").as_deref(), Some("::1"));
        assert_eq!(
            endpoint_host("http://GW.example.com").as_deref(),
            Some("gw.example.com")
        );
        assert_eq!(endpoint_host("http://"), None);
    }
}
