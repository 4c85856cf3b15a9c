//! The few S3 XML documents the load generator reads or writes: error bodies (`<Error><Code>…`), ListObjectsV2
//! pages, the upload id of CreateMultipartUpload, and the CompleteMultipartUpload request body.

use quick_xml::events::Event;
use quick_xml::Reader;

/// The parts of an S3 `<Error>` document the report shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3ErrorBody {
    pub code: Option<String>,
    pub message: Option<String>,
}

/// One page of a ListObjectsV2 answer: how many keys it held, whether more follow, and the token for them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    pub keys: Vec<String>,
    pub is_truncated: bool,
    pub next_token: Option<String>,
}

/// What `walk` reports: text inside the element at the end of `path`, or the close of that element.
enum Node {
    Text(String),
    Close,
}

/// Walks a document and reports every text node and every element close with the path of element names
/// leading to it (local names, namespaces dropped). Returns false when the document is not well-formed.
fn walk(body: &[u8], mut on_node: impl FnMut(&[String], Node)) -> bool {
    let mut reader = Reader::from_reader(body);
    let mut path: Vec<String> = Vec::new();
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                path.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
            }
            Ok(Event::Empty(e)) => {
                path.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
                on_node(&path, Node::Close);
                path.pop();
            }
            Ok(Event::End(_)) => {
                on_node(&path, Node::Close);
                path.pop();
            }
            Ok(Event::Text(t)) => match t.xml10_content() {
                Ok(text) => on_node(&path, Node::Text(text.into_owned())),
                Err(_) => return false,
            },
            Ok(Event::GeneralRef(r)) => {
                // Entity and character references (&amp; &#34; …) arrive as events of their own.
                let text = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match r.as_ref() {
                        b"amp" => "&".to_string(),
                        b"lt" => "<".to_string(),
                        b"gt" => ">".to_string(),
                        b"quot" => "\"".to_string(),
                        b"apos" => "'".to_string(),
                        _ => String::new(),
                    },
                    Err(_) => return false,
                };
                on_node(&path, Node::Text(text));
            }
            Ok(Event::CData(c)) => match c.xml10_content() {
                Ok(text) => on_node(&path, Node::Text(text.into_owned())),
                Err(_) => return false,
            },
            Ok(Event::Eof) => return path.is_empty(),
            Ok(_) => {}
            Err(_) => return false,
        }
        buf.clear();
    }
}

fn append(slot: &mut Option<String>, text: String) {
    match slot {
        Some(s) => s.push_str(&text),
        None => *slot = Some(text),
    }
}

fn is_path(path: &[String], expected: &[&str]) -> bool {
    path.len() == expected.len() && path.iter().zip(expected).all(|(a, b)| a == b)
}

/// Reads an S3 error body. `None` when the body is not an `<Error>` document (empty, HTML from a proxy, …).
pub fn parse_error(body: &[u8]) -> Option<S3ErrorBody> {
    let mut out = S3ErrorBody::default();
    let mut is_error = false;
    let ok = walk(body, |path, node| {
        if path.first().map(String::as_str) != Some("Error") {
            return;
        }
        is_error = true;
        if let Node::Text(text) = node {
            if is_path(path, &["Error", "Code"]) {
                append(&mut out.code, text);
            } else if is_path(path, &["Error", "Message"]) {
                append(&mut out.message, text);
            }
        }
    });
    if !ok || !is_error {
        return None;
    }
    out.code = out.code.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
    out.message = out.message.map(|m| m.trim().to_string());
    Some(out)
}

/// Reads a ListObjectsV2 (or V1) answer. `None` when the body is not a `<ListBucketResult>` document.
pub fn parse_list_page(body: &[u8]) -> Option<ListPage> {
    let mut is_list = false;
    let mut truncated = None;
    let mut token = None;
    let mut key: Option<String> = None;
    let mut keys = Vec::new();
    let ok = walk(body, |path, node| {
        if path.first().map(String::as_str) != Some("ListBucketResult") {
            return;
        }
        is_list = true;
        let names = &path[1..];
        match node {
            Node::Text(text) => {
                if is_path(names, &["Contents", "Key"]) {
                    append(&mut key, text);
                } else if is_path(names, &["IsTruncated"]) {
                    append(&mut truncated, text);
                } else if is_path(names, &["NextContinuationToken"]) || is_path(names, &["NextMarker"]) {
                    append(&mut token, text);
                }
            }
            Node::Close => {
                if is_path(names, &["Contents", "Key"]) {
                    keys.push(key.take().unwrap_or_default());
                }
            }
        }
    });
    if !ok || !is_list {
        return None;
    }
    Some(ListPage {
        keys,
        is_truncated: truncated.as_deref().map(str::trim) == Some("true"),
        next_token: token.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
    })
}

/// Reads the `<UploadId>` of an InitiateMultipartUploadResult.
pub fn parse_upload_id(body: &[u8]) -> Option<String> {
    let mut id: Option<String> = None;
    let ok = walk(body, |path, node| {
        if let Node::Text(text) = node {
            if is_path(path, &["InitiateMultipartUploadResult", "UploadId"]) {
                append(&mut id, text);
            }
        }
    });
    if !ok {
        return None;
    }
    id.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// The CompleteMultipartUpload body for parts given as (part number, ETag as the server sent it).
pub fn complete_multipart_body(parts: &[(u32, String)]) -> String {
    let mut out = String::from("<CompleteMultipartUpload>");
    for (number, etag) in parts {
        out.push_str(&format!(
            "<Part><PartNumber>{number}</PartNumber><ETag>{}</ETag></Part>",
            escape(etag)
        ));
    }
    out.push_str("</CompleteMultipartUpload>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_with_declaration() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<Error>
  <Code>NoSuchKey</Code>
  <Message>The specified key does not exist.</Message>
  <Key>a/b.txt</Key>
  <RequestId>4442587FB7D0A2F9</RequestId>
</Error>"#;
        let e = parse_error(body).unwrap();
        assert_eq!(e.code.as_deref(), Some("NoSuchKey"));
        assert_eq!(e.message.as_deref(), Some("The specified key does not exist."));
    }

    #[test]
    fn error_body_with_entities_and_ceph_shape() {
        let body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SignatureDoesNotMatch</Code>\
<Message>a &amp; b &lt;c&gt;</Message><BucketName>x</BucketName><RequestId>tx0</RequestId>\
<HostId>h</HostId></Error>";
        let e = parse_error(body).unwrap();
        assert_eq!(e.code.as_deref(), Some("SignatureDoesNotMatch"));
        assert_eq!(e.message.as_deref(), Some("a & b <c>"));
    }

    #[test]
    fn error_body_not_an_error() {
        assert_eq!(parse_error(b""), None);
        assert_eq!(parse_error(b"<html><body>502 Bad Gateway</body></html>"), None);
        assert_eq!(parse_error(b"not xml at all <<<"), None);
        assert_eq!(
            parse_error(b"<ListBucketResult><Name>b</Name></ListBucketResult>"),
            None
        );
        // An error without a code is still an error body, just without a code.
        assert_eq!(
            parse_error(b"<Error><Message>m</Message></Error>"),
            Some(S3ErrorBody {
                code: None,
                message: Some("m".into())
            })
        );
        // A <Code> nested deeper is not the error code.
        let e = parse_error(b"<Error><Detail><Code>Inner</Code></Detail></Error>").unwrap();
        assert_eq!(e.code, None);
    }

    #[test]
    fn list_page_v2_truncated() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents><Key>p/obj-00000000</Key><Size>4096</Size><ETag>&quot;abc&quot;</ETag></Contents>
  <Contents><Key>p/a&amp;b</Key><Size>4096</Size></Contents>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>"#;
        let page = parse_list_page(body).unwrap();
        assert_eq!(page.keys, vec!["p/obj-00000000".to_string(), "p/a&b".to_string()]);
        assert!(page.is_truncated);
        assert_eq!(
            page.next_token.as_deref(),
            Some("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")
        );
    }

    #[test]
    fn list_page_last_and_empty() {
        let body = b"<ListBucketResult><Name>b</Name><KeyCount>1</KeyCount><IsTruncated>false</IsTruncated>\
<Contents><Key>k</Key></Contents></ListBucketResult>";
        let page = parse_list_page(body).unwrap();
        assert_eq!(page.keys, vec!["k".to_string()]);
        assert!(!page.is_truncated);
        assert_eq!(page.next_token, None);

        let empty = parse_list_page(b"<ListBucketResult></ListBucketResult>").unwrap();
        assert!(empty.keys.is_empty());
        assert!(!empty.is_truncated);

        assert_eq!(parse_list_page(b"<Error><Code>NoSuchBucket</Code></Error>"), None);
    }

    #[test]
    fn upload_id_and_complete_body() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
<Bucket>b</Bucket><Key>k</Key><UploadId>2~abc/def+=</UploadId></InitiateMultipartUploadResult>"#;
        assert_eq!(parse_upload_id(body).as_deref(), Some("2~abc/def+="));
        assert_eq!(parse_upload_id(b"<Error><Code>X</Code></Error>"), None);

        let xml = complete_multipart_body(&[(1, "\"aa\"".into()), (2, "\"bb\"".into())]);
        assert_eq!(
            xml,
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;aa&quot;</ETag></Part>\
<Part><PartNumber>2</PartNumber><ETag>&quot;bb&quot;</ETag></Part></CompleteMultipartUpload>"
        );
    }
}
