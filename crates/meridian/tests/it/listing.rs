//! ListObjectsV2 / ListObjects (v1) through the real aws-sdk-s3 client.

use crate::common::*;
use aws_sdk_s3::types::EncodingType;
use aws_sdk_s3::Client;

async fn fill(s3: &Client, bucket: &str, keys: &[&str]) {
    create_bucket(s3, bucket).await;
    for k in keys {
        put(s3, bucket, k, k.as_bytes()).await;
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hexpair = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hexpair, 16).unwrap_or_else(|_| panic!("bad escape in {s}")));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

const TREE: [&str; 8] = [
    "a.txt",
    "photos/2024/feb.jpg",
    "photos/2024/jan.jpg",
    "photos/2025/mar.jpg",
    "photos/cover.png",
    "photosX",
    "videos/v.mp4",
    "z",
];

#[tokio::test]
async fn prefix_and_delimiter() {
    let srv = Server::start();
    let s3 = srv.client();
    fill(&s3, "tree", &TREE).await;

    let all = s3.list_objects_v2().bucket("tree").send().await.expect("list");
    let keys: Vec<&str> = all.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, TREE);
    assert_eq!(all.key_count(), Some(8));
    assert_eq!(all.is_truncated(), Some(false));
    for o in all.contents() {
        let k = o.key().unwrap();
        assert_eq!(o.size(), Some(k.len() as i64));
        assert_eq!(o.e_tag(), Some(format!("\"{}\"", md5_hex(k.as_bytes())).as_str()));
        assert!(o.last_modified().is_some());
    }

    let p = s3
        .list_objects_v2()
        .bucket("tree")
        .prefix("photos/")
        .send()
        .await
        .expect("prefix");
    let keys: Vec<&str> = p.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        keys,
        [
            "photos/2024/feb.jpg",
            "photos/2024/jan.jpg",
            "photos/2025/mar.jpg",
            "photos/cover.png"
        ]
    );
    assert_eq!(p.prefix(), Some("photos/"));

    let d = s3
        .list_objects_v2()
        .bucket("tree")
        .delimiter("/")
        .send()
        .await
        .expect("delimiter");
    let keys: Vec<&str> = d.contents().iter().filter_map(|o| o.key()).collect();
    let cps: Vec<&str> = d.common_prefixes().iter().filter_map(|c| c.prefix()).collect();
    assert_eq!(keys, ["a.txt", "photosX", "z"]);
    assert_eq!(cps, ["photos/", "videos/"]);
    assert_eq!(d.key_count(), Some(5));
    assert_eq!(d.delimiter(), Some("/"));

    let pd = s3
        .list_objects_v2()
        .bucket("tree")
        .prefix("photos/")
        .delimiter("/")
        .send()
        .await
        .expect("prefix + delimiter");
    let keys: Vec<&str> = pd.contents().iter().filter_map(|o| o.key()).collect();
    let cps: Vec<&str> = pd.common_prefixes().iter().filter_map(|c| c.prefix()).collect();
    assert_eq!(keys, ["photos/cover.png"]);
    assert_eq!(cps, ["photos/2024/", "photos/2025/"]);

    let none = s3
        .list_objects_v2()
        .bucket("tree")
        .prefix("nothing/")
        .send()
        .await
        .expect("empty");
    assert!(none.contents().is_empty());
    assert_eq!(none.key_count(), Some(0));

    // Paginating with a delimiter: common prefixes count towards max-keys and are not repeated.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let page = s3
            .list_objects_v2()
            .bucket("tree")
            .delimiter("/")
            .max_keys(2)
            .set_continuation_token(token.clone())
            .send()
            .await
            .expect("page");
        assert!(page.key_count().unwrap() <= 2);
        seen.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_string)));
        seen.extend(
            page.common_prefixes()
                .iter()
                .filter_map(|c| c.prefix().map(str::to_string)),
        );
        token = page.next_continuation_token().map(str::to_string);
        if page.is_truncated() != Some(true) {
            break;
        }
    }
    seen.sort();
    assert_eq!(seen, ["a.txt", "photos/", "photosX", "videos/", "z"]);
}

fn many_keys() -> Vec<String> {
    let mut keys: Vec<String> = (0..19).map(|i| format!("key-{i:02}")).collect();
    keys.extend(["Zebra", "é-accent", "Ω-omega", "日本/語", "zz top", "~tilde"].map(String::from));
    assert_eq!(keys.len(), 25);
    keys
}

#[tokio::test]
async fn v2_pagination_start_after_and_owner() {
    let srv = Server::start();
    let s3 = srv.client();
    let keys = many_keys();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    fill(&s3, "pages", &refs).await;
    let mut sorted = keys.clone();
    sorted.sort(); // String order is UTF-8 byte order.

    let mut got = Vec::new();
    let mut token: Option<String> = None;
    let mut sizes = Vec::new();
    loop {
        let page = s3
            .list_objects_v2()
            .bucket("pages")
            .max_keys(7)
            .set_continuation_token(token.clone())
            .send()
            .await
            .expect("page");
        assert_eq!(page.max_keys(), Some(7));
        assert_eq!(page.continuation_token(), token.as_deref());
        sizes.push(page.key_count().unwrap());
        got.extend(page.contents().iter().map(|o| o.key().unwrap().to_string()));
        if page.is_truncated() == Some(true) {
            token = Some(
                page.next_continuation_token()
                    .expect("token when truncated")
                    .to_string(),
            );
        } else {
            assert_eq!(page.next_continuation_token(), None);
            break;
        }
        assert!(sizes.len() < 10, "pagination does not end");
    }
    assert_eq!(sizes, [7, 7, 7, 4]);
    assert_eq!(got, sorted);

    // start-after (a key that exists, and one that does not).
    let page = s3
        .list_objects_v2()
        .bucket("pages")
        .start_after("key-10")
        .send()
        .await
        .expect("start-after");
    let after: Vec<&str> = page.contents().iter().filter_map(|o| o.key()).collect();
    let want: Vec<&str> = sorted.iter().map(String::as_str).filter(|k| *k > "key-10").collect();
    assert_eq!(after, want);
    assert_eq!(page.start_after(), Some("key-10"));
    let page = s3
        .list_objects_v2()
        .bucket("pages")
        .start_after("key-10x")
        .max_keys(1)
        .send()
        .await
        .expect("start-after");
    assert_eq!(page.contents()[0].key(), Some("key-11"));
    let page = s3
        .list_objects_v2()
        .bucket("pages")
        .start_after("\u{10FFFF}")
        .send()
        .await
        .expect("start-after end");
    assert!(page.contents().is_empty());

    // fetch-owner.
    let page = s3
        .list_objects_v2()
        .bucket("pages")
        .max_keys(3)
        .fetch_owner(true)
        .send()
        .await
        .expect("owner");
    assert_eq!(page.contents().len(), 3);
    for o in page.contents() {
        assert_eq!(o.owner().and_then(|ow| ow.id()), Some(UID), "{o:?}");
    }
    let page = s3
        .list_objects_v2()
        .bucket("pages")
        .max_keys(3)
        .send()
        .await
        .expect("no owner");
    assert!(page.contents().iter().all(|o| o.owner().is_none()));

    // max-keys 0.
    let page = s3
        .list_objects_v2()
        .bucket("pages")
        .max_keys(0)
        .send()
        .await
        .expect("max-keys 0");
    assert!(page.contents().is_empty());
}

#[tokio::test]
async fn v1_marker_pagination() {
    let srv = Server::start();
    let s3 = srv.client();
    let keys = many_keys();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    fill(&s3, "v1-list", &refs).await;
    let mut sorted = keys.clone();
    sorted.sort();

    let mut got: Vec<String> = Vec::new();
    let mut marker: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = s3
            .list_objects()
            .bucket("v1-list")
            .max_keys(7)
            .set_marker(marker.clone())
            .send()
            .await
            .expect("v1 page");
        pages += 1;
        assert_eq!(page.marker().unwrap_or(""), marker.as_deref().unwrap_or(""));
        got.extend(page.contents().iter().map(|o| o.key().unwrap().to_string()));
        // v1 objects always carry their owner.
        assert!(page
            .contents()
            .iter()
            .all(|o| o.owner().and_then(|ow| ow.id()) == Some(UID)));
        if page.is_truncated() == Some(true) {
            // Without a delimiter, the next marker is the last key returned.
            marker = Some(
                page.next_marker()
                    .map(str::to_string)
                    .unwrap_or_else(|| got.last().unwrap().clone()),
            );
        } else {
            break;
        }
        assert!(pages < 10);
    }
    assert_eq!(pages, 4);
    assert_eq!(got, sorted);

    // With a delimiter NextMarker is given.
    let page = s3
        .list_objects()
        .bucket("v1-list")
        .delimiter("/")
        .max_keys(2)
        .send()
        .await
        .expect("v1 delimiter");
    assert_eq!(page.is_truncated(), Some(true));
    assert!(page.next_marker().is_some(), "{page:?}");
}

#[tokio::test]
async fn url_encoding_type() {
    let srv = Server::start();
    let s3 = srv.client();
    let keys = ["dir one/file a+b.txt", "dir one/ü-ümlaut", "plain", "sp ace/x"];
    fill(&s3, "enc", &keys).await;

    let page = s3
        .list_objects_v2()
        .bucket("enc")
        .encoding_type(EncodingType::Url)
        .send()
        .await
        .expect("list url");
    assert_eq!(page.encoding_type(), Some(&EncodingType::Url));
    let raw: Vec<&str> = page.contents().iter().filter_map(|o| o.key()).collect();
    assert!(raw.contains(&"dir%20one/file%20a%2Bb.txt"), "{raw:?}");
    assert!(raw.iter().all(|k| !k.contains(' ')), "{raw:?}");
    let decoded: Vec<String> = raw.iter().map(|k| percent_decode(k)).collect();
    assert_eq!(decoded, keys);

    let page = s3
        .list_objects_v2()
        .bucket("enc")
        .prefix("dir one/")
        .delimiter("/")
        .encoding_type(EncodingType::Url)
        .send()
        .await
        .expect("list url prefix");
    assert_eq!(page.prefix().map(percent_decode).as_deref(), Some("dir one/"));
    let decoded: Vec<String> = page
        .contents()
        .iter()
        .map(|o| percent_decode(o.key().unwrap()))
        .collect();
    assert_eq!(decoded, ["dir one/file a+b.txt", "dir one/ü-ümlaut"]);

    let page = s3
        .list_objects_v2()
        .bucket("enc")
        .delimiter("/")
        .encoding_type(EncodingType::Url)
        .send()
        .await
        .expect("list url delimiter");
    let cps: Vec<String> = page
        .common_prefixes()
        .iter()
        .map(|c| percent_decode(c.prefix().unwrap()))
        .collect();
    assert_eq!(cps, ["dir one/", "sp ace/"]);
    let raw_cps: Vec<&str> = page.common_prefixes().iter().filter_map(|c| c.prefix()).collect();
    assert_eq!(raw_cps, ["dir%20one/", "sp%20ace/"]);

    // v1 as well.
    let page = s3
        .list_objects()
        .bucket("enc")
        .encoding_type(EncodingType::Url)
        .send()
        .await
        .expect("v1 url");
    let decoded: Vec<String> = page
        .contents()
        .iter()
        .map(|o| percent_decode(o.key().unwrap()))
        .collect();
    assert_eq!(decoded, keys);

    // Without encoding-type the keys come back verbatim.
    let page = s3.list_objects_v2().bucket("enc").send().await.expect("list");
    let plain: Vec<&str> = page.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(plain, keys);
}
