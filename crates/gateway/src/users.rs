//! Users and access keys: create, look up (for authentication), suspend, remove.

use crate::error::{GatewayError, Result};
use crate::{keys, records};
use meridian_model::{AccessKey, Timestamp, User};

#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub tenant: String,
    pub uid: String,
    pub display_name: String,
    pub email: String,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub system: bool,
    pub max_buckets: Option<i64>,
}

/// Splits RGW's `tenant$uid` form.
pub fn split_user_id(id: &str) -> (String, String) {
    match id.split_once('$') {
        Some((t, u)) => (t.to_string(), u.to_string()),
        None => (String::new(), id.to_string()),
    }
}

/// RGW's `tenant$uid`, or the bare uid in the default tenant (what `User::full_id` prints).
pub fn full_user_id(tenant: &str, uid: &str) -> String {
    if tenant.is_empty() {
        uid.to_string()
    } else {
        format!("{tenant}${uid}")
    }
}

/// The tenant and uid that `--tenant` and `--uid` name together, as radosgw-admin takes them: the uid may
/// carry its tenant (`tenant$uid`), `--tenant` may give it instead; both must then agree. Both are checked.
pub fn resolve_user_id(tenant: Option<&str>, uid: &str) -> Result<(String, String)> {
    let (from_uid, bare) = split_user_id(uid);
    if uid.contains('$') && from_uid.is_empty() {
        return Err(GatewayError::InvalidArgument(format!(
            "invalid user id {uid:?}: the tenant before '$' is empty (a user of the default tenant has no '$')"
        )));
    }
    let tenant = match tenant.filter(|t| !t.is_empty()) {
        Some(t) if !from_uid.is_empty() && t != from_uid => {
            return Err(GatewayError::InvalidArgument(format!(
                "--tenant {t:?} disagrees with the tenant of --uid {uid:?}"
            )))
        }
        Some(t) => t.to_string(),
        None => from_uid,
    };
    validate_user_id(&tenant, &bare)?;
    Ok((tenant, bare))
}

/// A user's tenant (empty: the default tenant) and uid, as they may be stored.
pub(crate) fn validate_user_id(tenant: &str, uid: &str) -> Result<()> {
    if !tenant.is_empty() && !meridian_model::names::is_valid_tenant(tenant) {
        return Err(GatewayError::InvalidArgument(format!(
            "invalid tenant {tenant:?}: 1-{} letters, digits or '_'",
            meridian_model::names::MAX_TENANT_LEN
        )));
    }
    validate_uid(uid)
}

fn random_chars(alphabet: &[u8], n: usize) -> String {
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in uuid::Uuid::new_v4().as_bytes() {
            // Rejection sampling keeps the distribution uniform.
            let limit = 256 - (256 % alphabet.len());
            if (*b as usize) < limit && out.len() < n {
                out.push(alphabet[*b as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

pub fn generate_access_key() -> String {
    random_chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 20)
}

pub fn generate_secret_key() -> String {
    random_chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 40)
}

fn validate_key_pair(access: &str, secret: &str) -> Result<()> {
    if access.is_empty() || access.len() > 128 || !access.bytes().all(|b| b.is_ascii_graphic() && b != b'/') {
        return Err(GatewayError::InvalidArgument(
            "access key must be 1-128 printable characters without '/'".into(),
        ));
    }
    if secret.len() < 8 || !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(GatewayError::InvalidArgument(
            "secret key must be at least 8 printable characters".into(),
        ));
    }
    Ok(())
}

pub(crate) fn validate_uid(uid: &str) -> Result<()> {
    if uid.is_empty() || uid.len() > 255 || uid.contains(['$', '/', '\0']) || uid.chars().any(char::is_control) {
        return Err(GatewayError::InvalidArgument(format!(
            "invalid uid {uid:?}: 1-255 characters, no '$', '/' or control characters"
        )));
    }
    Ok(())
}

/// A system principal that is not a stored user (it owns no keys and no buckets).
fn system_principal(uid: &str) -> User {
    User {
        tenant: String::new(),
        uid: uid.to_string(),
        display_name: format!("system principal {uid}"),
        email: String::new(),
        keys: vec![],
        suspended: false,
        system: true,
        caps: vec![],
        max_buckets: 0,
        created: Timestamp::default(),
        ver: meridian_model::ObjVersion::default(),
        mtime: Timestamp::default(),
    }
}

/// Users and their access keys.
/// Reached through `Gateway::users()`.
#[derive(Clone, Copy)]
pub struct UserService<'a> {
    pub(crate) core: &'a crate::shared::Core,
}

impl UserService<'_> {
    pub async fn create(&self, spec: NewUser) -> Result<User> {
        validate_user_id(&spec.tenant, &spec.uid)?;
        if spec.display_name.is_empty() {
            return Err(GatewayError::InvalidArgument(
                "display name is required (--display-name)".into(),
            ));
        }
        let access = spec.access_key.clone().unwrap_or_else(generate_access_key);
        let secret = spec.secret_key.clone().unwrap_or_else(generate_secret_key);
        validate_key_pair(&access, &secret)?;
        let now = Timestamp::now();
        let user = User {
            tenant: spec.tenant,
            uid: spec.uid,
            display_name: spec.display_name,
            email: spec.email,
            keys: vec![AccessKey {
                access_key: access.clone(),
                secret_key: secret,
            }],
            suspended: false,
            system: spec.system,
            caps: vec![],
            max_buckets: spec.max_buckets.unwrap_or(1000),
            created: now,
            ver: meridian_model::ObjVersion::first(),
            mtime: now,
        };
        self.core
            .write(move |txn| {
                let ukey = keys::user(&user.full_id());
                if txn.get(&ukey)?.is_some() {
                    return Err(GatewayError::UserExists(user.full_id()));
                }
                let akey = keys::access_key(&access);
                if txn.get(&akey)?.is_some() {
                    return Err(GatewayError::KeyExists(access));
                }
                records::put(txn, &ukey, &user)?;
                crate::mdlog::user_written(txn, &user)?;
                txn.put(&akey, user.full_id().as_bytes())?;
                Ok(user)
            })
            .await
    }

    pub async fn info(&self, full_id: &str) -> Result<User> {
        let id = full_id.to_string();
        self.core
            .read(move |r| records::get(r, &keys::user(&id))?.ok_or(GatewayError::NoSuchUser(id)))
            .await
    }

    /// The user with this email address (ACL grants by email), compared case-insensitively.
    pub async fn by_email(&self, email: &str) -> Result<User> {
        let wanted = email.to_string();
        self.core
            .read(move |r| {
                records::scan_all::<User>(r, keys::USER.as_bytes())?
                    .into_iter()
                    .map(|(_, u)| u)
                    .find(|u| !u.email.is_empty() && u.email.eq_ignore_ascii_case(&wanted))
                    .ok_or(GatewayError::UnresolvableGrantByEmailAddress(wanted))
            })
            .await
    }

    pub async fn list(&self) -> Result<Vec<String>> {
        self.core
            .read(|r| {
                Ok(records::scan_all::<User>(r, keys::USER.as_bytes())?
                    .into_iter()
                    .map(|(_, u)| u.full_id())
                    .collect())
            })
            .await
    }

    /// Finds the user owning an access key and that key's secret (authentication). Besides users' keys, two
    /// system principals exist that are no user: the zone's system key (other zones of the realm sign with
    /// it) and this data directory's local admin key (the CLI signs with it).
    pub async fn lookup_access_key(&self, access: &str) -> Result<(User, String)> {
        let ak = access.to_string();
        let site = self.core.site();
        self.core
            .read(move |r| {
                let Some(owner) = r.get(&keys::access_key(&ak))? else {
                    if site.system_key.access_key == ak && !ak.is_empty() {
                        return Ok((
                            system_principal(&format!("zone.{}", site.zone_name)),
                            site.system_key.secret_key.clone(),
                        ));
                    }
                    let local: Option<AccessKey> = records::get(r, &keys::config("local-admin", "key"))?;
                    return match local.filter(|k| k.access_key == ak) {
                        Some(k) => Ok((system_principal("local-admin"), k.secret_key)),
                        None => Err(GatewayError::NoSuchKeyId(ak)),
                    };
                };
                let owner = String::from_utf8_lossy(&owner).into_owned();
                let user: User = records::get(r, &keys::user(&owner))?.ok_or(GatewayError::NoSuchUser(owner))?;
                let secret = user
                    .keys
                    .iter()
                    .find(|k| k.access_key == ak)
                    .map(|k| k.secret_key.clone())
                    .ok_or(GatewayError::NoSuchKeyId(ak))?;
                Ok((user, secret))
            })
            .await
    }

    async fn modify(&self, full_id: &str, f: impl FnOnce(&mut User) -> Result<()> + Send + 'static) -> Result<User> {
        let id = full_id.to_string();
        self.core
            .write(move |txn| {
                let key = keys::user(&id);
                let mut user: User = records::get(txn, &key)?.ok_or(GatewayError::NoSuchUser(id))?;
                f(&mut user)?;
                user.ver = user.ver.bumped();
                user.mtime = Timestamp::now();
                records::put(txn, &key, &user)?;
                crate::mdlog::user_written(txn, &user)?;
                Ok(user)
            })
            .await
    }

    pub async fn set_suspended(&self, full_id: &str, suspended: bool) -> Result<User> {
        self.modify(full_id, move |u| {
            u.suspended = suspended;
            Ok(())
        })
        .await
    }

    pub async fn create_key(&self, full_id: &str, access: Option<String>, secret: Option<String>) -> Result<User> {
        let access = access.unwrap_or_else(generate_access_key);
        let secret = secret.unwrap_or_else(generate_secret_key);
        validate_key_pair(&access, &secret)?;
        let id = full_id.to_string();
        self.core
            .write(move |txn| {
                let key = keys::user(&id);
                let mut user: User = records::get(txn, &key)?.ok_or(GatewayError::NoSuchUser(id.clone()))?;
                let akey = keys::access_key(&access);
                if txn.get(&akey)?.is_some() {
                    return Err(GatewayError::KeyExists(access));
                }
                user.keys.push(AccessKey {
                    access_key: access,
                    secret_key: secret,
                });
                user.ver = user.ver.bumped();
                user.mtime = Timestamp::now();
                records::put(txn, &key, &user)?;
                crate::mdlog::user_written(txn, &user)?;
                txn.put(&akey, id.as_bytes())?;
                Ok(user)
            })
            .await
    }

    pub async fn remove_key(&self, access: &str) -> Result<User> {
        let ak = access.to_string();
        self.core
            .write(move |txn| {
                let akey = keys::access_key(&ak);
                let owner = txn.get(&akey)?.ok_or_else(|| GatewayError::NoSuchKeyId(ak.clone()))?;
                let owner = String::from_utf8_lossy(&owner).into_owned();
                let ukey = keys::user(&owner);
                let mut user: User = records::get(txn, &ukey)?.ok_or(GatewayError::NoSuchUser(owner))?;
                user.keys.retain(|k| k.access_key != ak);
                user.ver = user.ver.bumped();
                user.mtime = Timestamp::now();
                records::put(txn, &ukey, &user)?;
                crate::mdlog::user_written(txn, &user)?;
                txn.delete(&akey)?;
                Ok(user)
            })
            .await
    }

    /// Removes a user. Refused while the user owns buckets unless `purge_data` (which removes them too).
    pub async fn remove(&self, full_id: &str, purge_data: bool) -> Result<()> {
        let user = self.info(full_id).await?;
        let buckets = self.core.buckets().list(&user.full_id()).await?;
        if !buckets.is_empty() {
            if !purge_data {
                return Err(GatewayError::InvalidRequest(format!(
                    "user {} still owns {} bucket(s); remove them first or pass --purge-data",
                    user.full_id(),
                    buckets.len()
                )));
            }
            for b in buckets {
                self.core.buckets().remove(&b.tenant, &b.name, true).await?;
            }
        }
        self.core
            .write(move |txn| {
                for k in &user.keys {
                    txn.delete(&keys::access_key(&k.access_key))?;
                }
                txn.delete(&keys::user(&user.full_id()))?;
                crate::mdlog::user_removed(txn, &user)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_rgw_shape() {
        let a = generate_access_key();
        assert_eq!(a.len(), 20);
        assert!(a.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        assert_eq!(generate_secret_key().len(), 40);
        assert_ne!(generate_access_key(), a);
        assert_eq!(split_user_id("t$u"), ("t".to_string(), "u".to_string()));
    }

    #[test]
    fn user_ids_name_their_tenant_once() {
        let pair = |t: &str, u: &str| (t.to_string(), u.to_string());
        assert_eq!(resolve_user_id(None, "acme$ann").unwrap(), pair("acme", "ann"));
        assert_eq!(resolve_user_id(Some("acme"), "ann").unwrap(), pair("acme", "ann"));
        assert_eq!(resolve_user_id(Some("acme"), "acme$ann").unwrap(), pair("acme", "ann"));
        assert_eq!(resolve_user_id(Some(""), "ann").unwrap(), pair("", "ann"));
        for (tenant, uid) in [
            (Some("other"), "acme$ann"),
            (None, "$ann"),
            (None, "a-b$ann"),
            (Some("a:b"), "ann"),
            (None, "acme$ann$x"),
            (None, "acme$"),
        ] {
            assert!(
                matches!(resolve_user_id(tenant, uid), Err(GatewayError::InvalidArgument(_))),
                "{tenant:?} {uid:?}"
            );
        }
    }
}
