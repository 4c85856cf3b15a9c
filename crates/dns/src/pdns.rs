//! The PowerDNS remote backend, HTTP connector (pdns 4.x `remote-connection-string=http:url=.../dns`):
//! `GET /dns/lookup/<qname>/<qtype>` and the calls pdns makes at start-up and per query, on a listener of
//! its own (a path on the S3 port could be a bucket name).

use crate::answer::{QType, Rcode, Record, Resolver};
use crate::error::DnsError;
use crate::name::normalize;
use crate::responder::Shared;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::net::SocketAddr;
use tokio::net::TcpListener;

pub async fn bind(addr: SocketAddr) -> Result<TcpListener, DnsError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| DnsError::Bind { addr, source })
}

/// Serves the backend API until the runtime stops.
pub fn serve(listener: TcpListener, shared: Shared) {
    tokio::spawn(async move {
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!(error = %e, "pdns backend accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            let shared = shared.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                    let shared = shared.clone();
                    async move { Ok::<_, Infallible>(respond(&shared, req.method(), req.uri().path())) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service);
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "pdns backend connection ended with an error");
                }
            });
        }
    });
}

fn respond(shared: &Shared, method: &http::Method, path: &str) -> http::Response<Full<Bytes>> {
    let (status, body) = match path.strip_prefix("/dns/") {
        Some(rest) if method == http::Method::GET || method == http::Method::POST => {
            let parts: Vec<String> = rest.split('/').map(percent_decode).collect();
            (http::StatusCode::OK, call(shared, &parts))
        }
        Some(_) => (http::StatusCode::METHOD_NOT_ALLOWED, json!({"result": false})),
        None => (
            http::StatusCode::NOT_FOUND,
            json!({"result": false, "log": ["not a backend path"]}),
        ),
    };
    let mut resp = http::Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}

/// One backend call: `parts` is the method and its path arguments.
pub fn call(shared: &Shared, parts: &[String]) -> Value {
    let resolver = Resolver {
        settings: &shared.settings,
        index: &shared.index,
    };
    let arg = |i: usize| parts.get(i).map(String::as_str).unwrap_or_default();
    match parts.first().map(String::as_str).unwrap_or_default() {
        "initialize" => json!({"result": true}),
        "lookup" => {
            let qtype = QType::parse(arg(2)).unwrap_or(QType::Other(0));
            let found = resolver.backend_lookup(arg(1), qtype);
            let rcode = match &found {
                None => Rcode::NxDomain,
                Some(v) if v.is_empty() => Rcode::NoError,
                Some(_) => Rcode::NoError,
            };
            metrics::counter!("meridian_dns_queries_total", "type" => qtype.label(), "rcode" => rcode.label(), "via" => "pdns")
                .increment(1);
            match found {
                Some(records) if !records.is_empty() => {
                    json!({"result": records.iter().map(record_json).collect::<Vec<_>>()})
                }
                _ => json!({"result": false}),
            }
        }
        "getAllDomains" => {
            let serial = shared.index.serial();
            let zones: Vec<Value> = resolver
                .zone_apexes()
                .iter()
                .enumerate()
                .map(|(i, apex)| domain_info(i, apex, serial))
                .collect();
            json!({"result": zones})
        }
        "getDomainInfo" => {
            let wanted = normalize(arg(1));
            match resolver.zone_apexes().iter().position(|a| *a == wanted) {
                Some(i) => json!({"result": domain_info(i, &wanted, shared.index.serial())}),
                None => json!({"result": false}),
            }
        }
        // No DNSSEC keys, no per-zone metadata: pdns takes `false` as "none".
        _ => json!({"result": false}),
    }
}

fn domain_info(i: usize, apex: &str, serial: u32) -> Value {
    json!({
        "id": i + 1,
        "zone": format!("{apex}."),
        "kind": "native",
        "serial": serial,
        "notified_serial": serial,
        "last_check": 0,
        "masters": [],
    })
}

fn record_json(r: &Record) -> Value {
    json!({
        "qtype": r.data.qtype().to_string(),
        "qname": format!("{}.", r.name),
        "content": r.data.content(),
        "ttl": r.ttl,
        "auth": true,
    })
}

/// `%2e` → `.`; invalid escapes are kept as they are.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::tests_support::fixture;
    use std::sync::Arc;

    #[test]
    fn backend_calls() {
        let (settings, index) = fixture();
        let shared = Shared::new(settings, Arc::new(index));
        let call = |path: &str| call(&shared, &path.split('/').map(percent_decode).collect::<Vec<_>>());
        let v = call("lookup/photos.s3.example.com./ANY");
        assert_eq!(
            v["result"],
            json!([{"qtype": "CNAME", "qname": "photos.s3.example.com.", "content": "photos.s3.us.example.com.", "ttl": 60, "auth": true}])
        );
        assert_eq!(call("lookup/photos.s3.example.com./SOA"), json!({"result": false}));
        assert_eq!(call("lookup/nosuch.s3.example.com./ANY"), json!({"result": false}));
        assert_eq!(call("lookup/example.org./ANY"), json!({"result": false}));
        let v = call("lookup/s3.example.com./SOA");
        let soa = v["result"][0]["content"].as_str().unwrap();
        assert!(soa.starts_with("ns1.example.net. hostmaster.s3.example.com. "), "{soa}");
        let v = call("getAllDomains");
        let zones: Vec<&str> = v["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|z| z["zone"].as_str().unwrap())
            .collect();
        assert_eq!(
            zones,
            vec!["s3.example.com.", "s3.us.example.com.", "s3.eu.example.com."]
        );
        assert_eq!(call("getDomainInfo/s3.eu.example.com.")["result"]["id"], 3);
        assert_eq!(call("getDomainInfo/other.example.")["result"], false);
        assert_eq!(call("initialize")["result"], true);
        assert_eq!(call("getDomainMetadata/s3.example.com./PRESIGNED")["result"], false);
        assert_eq!(percent_decode("a%2eb%zz%"), "a.b%zz%");
    }
}
