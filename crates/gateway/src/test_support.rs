//! What the unit tests of the services share: a gateway on a fresh local store, and literal bodies.

use crate::{ByteStream, Gateway, GatewayOptions};
use meridian_store::local::{LocalData, LocalMeta};
use std::sync::Arc;

/// A gateway (bootstrap zone) on a local store under `dir`.
pub async fn gateway(dir: &std::path::Path) -> Gateway {
    Gateway::open(
        Arc::new(LocalMeta::open(&dir.join("meta.redb")).unwrap()),
        Arc::new(LocalData::open(&dir.join("data")).unwrap()),
        None,
        GatewayOptions::default(),
    )
    .await
    .unwrap()
    .0
}

pub fn body(data: &'static [u8]) -> ByteStream {
    Box::pin(futures::stream::iter([Ok(bytes::Bytes::from_static(data))]))
}

/// User `u` and its new bucket `name`.
pub async fn user_bucket(gw: &Gateway, name: &str) -> (meridian_model::User, meridian_model::Bucket) {
    let user = gw
        .users()
        .create(crate::users::NewUser {
            uid: "u".into(),
            display_name: "U".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let bucket = gw.buckets().create(&user, name, None).await.unwrap();
    (user, bucket)
}
