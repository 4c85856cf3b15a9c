//! Property tests of the RGW JSON codecs: users and metadata entries survive a round trip through the JSON
//! radosgw-admin prints, and any JSON document or time text is refused or read without a panic.

use crate::metadata::MetadataEntry;
use meridian_model::{AccessKey, Timestamp, User};
use meridian_proto::rgw::{format_time, parse_time, user_from_json, user_json};
use proptest::prelude::*;
use serde_json::Value;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// Any JSON value, a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,16}".prop_map(Value::String),
        // Names the user document uses, so objects hit the real fields.
        prop_oneof![
            Just("user_id"),
            Just("keys"),
            Just("caps"),
            Just("suspended"),
            Just("system"),
            Just("max_buckets"),
            Just("display_name"),
            Just("email"),
            Just("access_key"),
            Just("secret_key"),
            Just("type"),
            Just("perm"),
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("user_id".to_string()),
                    Just("keys".to_string()),
                    Just("caps".to_string()),
                    Just("suspended".to_string()),
                    Just("system".to_string()),
                    Just("max_buckets".to_string()),
                    Just("access_key".to_string()),
                    Just("secret_key".to_string()),
                    "[a-z_]{1,10}",
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn user() -> impl Strategy<Value = User> {
    (
        "[a-z0-9]{0,6}",
        "[a-z][a-z0-9_.-]{0,15}",
        "\\PC{1,20}",
        "[a-z0-9.@]{0,20}",
        proptest::collection::vec(("[A-Z0-9]{16,20}", "[A-Za-z0-9/+]{20,40}"), 0..3),
        any::<bool>(),
        any::<bool>(),
        -1i64..100_000,
    )
        .prop_map(
            |(tenant, uid, display_name, email, keys, suspended, system, max_buckets)| User {
                tenant,
                uid,
                display_name,
                email,
                keys: keys
                    .into_iter()
                    .map(|(access_key, secret_key)| AccessKey { access_key, secret_key })
                    .collect(),
                suspended,
                system,
                caps: vec![],
                max_buckets,
                created: Timestamp::default(),
                ver: Default::default(),
                mtime: Timestamp::default(),
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn user_round_trips(u in user()) {
        let back = user_from_json(&user_json(&u)).expect("a printed user reads back");
        prop_assert_eq!(back, u);
    }

    #[test]
    fn any_json_is_read_or_refused(v in json()) {
        let _ = user_from_json(&v);
        let _ = serde_json::from_value::<MetadataEntry>(v.clone());
        let _ = serde_json::from_value::<meridian_model::BilogEntry>(v.clone());
        let _ = serde_json::from_value::<meridian_model::ObjectMeta>(v);
    }

    #[test]
    fn times_round_trip(nanos in 0u64..4_000_000_000_000_000_000) {
        // RFC 3339 with microseconds: what is printed reads back to the microsecond.
        let t = Timestamp(nanos / 1000 * 1000);
        prop_assert_eq!(parse_time(&format_time(t)), Some(t));
    }

    #[test]
    fn any_time_text_is_read_or_refused(s in "\\PC{0,40}", digits in "[0-9T:.Z+-]{0,35}") {
        let _ = parse_time(&s);
        let _ = parse_time(&digits);
    }

    #[test]
    fn metadata_entries_round_trip(key in "[a-z.:/0-9-]{1,40}", tag in "[a-z0-9]{0,12}", ver in 0u64..1_000_000, secs in 0u64..4_000_000_000, data in json()) {
        let entry = MetadataEntry {
            key,
            ver: meridian_model::ObjVersion { tag, ver },
            mtime: Timestamp(secs * 1_000_000_000),
            data,
        };
        let text = serde_json::to_string(&entry).unwrap();
        let back: MetadataEntry = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back.key, entry.key);
        prop_assert_eq!(back.ver, entry.ver);
        prop_assert_eq!(back.mtime, entry.mtime);
    }
}
