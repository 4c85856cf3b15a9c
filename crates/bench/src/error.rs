//! How a failed request is classified for the report: an HTTP status with the S3 error code read from the XML
//! body, or a transport failure (connect, timeout, I/O), or an answer that was 2xx but wrong (short body,
//! unreadable XML). Every request that is not a well-formed success lands in one of these kinds.

use std::fmt;

use crate::xml;

/// The kind of a failed request: the key under which errors are counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// A non-2xx answer, with the `<Code>` of its S3 XML error body when it had one.
    Http { status: u16, code: Option<String> },
    /// The TCP connection could not be made.
    Connect,
    /// No complete answer within `--timeout`.
    Timeout,
    /// The connection failed while sending or receiving (reset, closed early, bad HTTP).
    Io,
    /// A GET returned a body whose length is not the object's size.
    SizeMismatch,
    /// A 2xx answer whose body could not be understood (list page, upload id, error inside a 200).
    BadResponse,
    /// The request could not be built or signed.
    Client,
}

impl ErrorKind {
    /// Classifies a non-2xx answer from its status and (possibly empty) body.
    /// The detail is the S3 `<Message>`, "(no message)" for an S3 error body without one, or `None` when the
    /// body is not an S3 error.
    pub fn from_response(status: u16, body: &[u8]) -> (ErrorKind, Option<String>) {
        let parsed = xml::parse_error(body);
        let code = parsed.as_ref().and_then(|e| e.code.clone());
        let message = parsed.map(|e| {
            e.message
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "(no message)".to_string())
        });
        (ErrorKind::Http { status, code }, message)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Http {
                status,
                code: Some(code),
            } => write!(f, "HTTP {status} {code}"),
            ErrorKind::Http { status, code: None } => write!(f, "HTTP {status}"),
            ErrorKind::Connect => f.write_str("connect"),
            ErrorKind::Timeout => f.write_str("timeout"),
            ErrorKind::Io => f.write_str("io"),
            ErrorKind::SizeMismatch => f.write_str("size-mismatch"),
            ErrorKind::BadResponse => f.write_str("bad-response"),
            ErrorKind::Client => f.write_str("client"),
        }
    }
}

/// A failed request: its kind and a human detail (the S3 `<Message>`, or the transport error's text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {detail}")]
pub struct RequestError {
    pub kind: ErrorKind,
    pub detail: String,
}

impl RequestError {
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        RequestError {
            kind,
            detail: detail.into(),
        }
    }

    /// From a non-2xx answer.
    pub fn from_response(status: u16, body: &[u8]) -> Self {
        let (kind, message) = ErrorKind::from_response(status, body);
        let detail = message.unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
            let text = text.trim();
            if text.is_empty() {
                "(no body)".to_string()
            } else {
                text.to_string()
            }
        });
        RequestError { kind, detail }
    }

    /// From the error of the pooled HTTP client: connect failures are told apart from the rest.
    pub fn from_client(err: &hyper_util::client::legacy::Error) -> Self {
        let kind = if err.is_connect() {
            ErrorKind::Connect
        } else {
            ErrorKind::Io
        };
        RequestError::new(kind, error_chain(err))
    }

    /// From an error while reading an answer's body.
    pub fn from_body(err: &hyper::Error) -> Self {
        let kind = if err.is_timeout() {
            ErrorKind::Timeout
        } else {
            ErrorKind::Io
        };
        RequestError::new(kind, error_chain(err))
    }
}

/// "outer: cause: root cause", the way the error's sources read.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let s = cause.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_errors_carry_the_s3_code() {
        let body = b"<?xml version=\"1.0\"?><Error><Code>SlowDown</Code>\
                     <Message>Please reduce your request rate.</Message></Error>";
        let e = RequestError::from_response(503, body);
        assert_eq!(
            e.kind,
            ErrorKind::Http {
                status: 503,
                code: Some("SlowDown".into())
            }
        );
        assert_eq!(e.kind.to_string(), "HTTP 503 SlowDown");
        assert_eq!(e.detail, "Please reduce your request rate.");
    }

    #[test]
    fn http_errors_without_xml() {
        let e = RequestError::from_response(404, b"");
        assert_eq!(e.kind.to_string(), "HTTP 404");
        assert_eq!(e.detail, "(no body)");
        let e = RequestError::from_response(502, b"<html>bad gateway</html>");
        assert_eq!(
            e.kind,
            ErrorKind::Http {
                status: 502,
                code: None
            }
        );
        assert_eq!(e.detail, "<html>bad gateway</html>");
        let e = RequestError::from_response(403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>");
        assert_eq!(e.to_string(), "HTTP 403 SignatureDoesNotMatch: (no message)");
    }

    #[test]
    fn kinds_sort_and_print() {
        let mut kinds = [
            ErrorKind::Timeout,
            ErrorKind::Http {
                status: 500,
                code: None,
            },
            ErrorKind::Connect,
        ];
        kinds.sort();
        assert_eq!(
            kinds.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
            vec!["HTTP 500", "connect", "timeout"]
        );
        assert_eq!(ErrorKind::SizeMismatch.to_string(), "size-mismatch");
    }
}
