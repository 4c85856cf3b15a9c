//! Bucket policies: the IAM-style JSON parsed and checked (`parse`), and a request judged against it
//! (`Policy::evaluate`), as AWS and RGW do: a matching Deny wins, else a matching Allow allows, else the
//! policy says nothing. Pure functions; `access` combines the answer with the ACLs.

use ipnet::IpNet;
use meridian_model::Timestamp;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;
use wildmatch::WildMatch;

/// Why a policy document is refused (`400 MalformedPolicy`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(pub String);

fn malformed(msg: impl Into<String>) -> PolicyError {
    PolicyError(msg.into())
}

/// The S3 actions a policy may name (without `s3:`; IAM matches them case-insensitively).
const S3_ACTIONS: &[&str] = &[
    "AbortMultipartUpload",
    "BypassGovernanceRetention",
    "CreateBucket",
    "DeleteBucket",
    "DeleteBucketPolicy",
    "DeleteBucketWebsite",
    "DeleteObject",
    "DeleteObjectTagging",
    "DeleteObjectVersion",
    "DeleteObjectVersionTagging",
    "GetAccelerateConfiguration",
    "GetBucketAcl",
    "GetBucketCORS",
    "GetBucketLocation",
    "GetBucketLogging",
    "GetBucketNotification",
    "GetBucketObjectLockConfiguration",
    "GetBucketOwnershipControls",
    "GetBucketPolicy",
    "GetBucketPolicyStatus",
    "GetBucketPublicAccessBlock",
    "GetBucketRequestPayment",
    "GetBucketTagging",
    "GetBucketVersioning",
    "GetBucketWebsite",
    "GetEncryptionConfiguration",
    "GetLifecycleConfiguration",
    "GetObject",
    "GetObjectAcl",
    "GetObjectAttributes",
    "GetObjectLegalHold",
    "GetObjectRetention",
    "GetObjectTagging",
    "GetObjectVersion",
    "GetObjectVersionAcl",
    "GetObjectVersionTagging",
    "GetReplicationConfiguration",
    "ListAllMyBuckets",
    "ListBucket",
    "ListBucketMultipartUploads",
    "ListBucketVersions",
    "ListMultipartUploadParts",
    "PutAccelerateConfiguration",
    "PutBucketAcl",
    "PutBucketCORS",
    "PutBucketLogging",
    "PutBucketNotification",
    "PutBucketObjectLockConfiguration",
    "PutBucketOwnershipControls",
    "PutBucketPolicy",
    "PutBucketPublicAccessBlock",
    "PutBucketRequestPayment",
    "PutBucketTagging",
    "PutBucketVersioning",
    "PutBucketWebsite",
    "PutEncryptionConfiguration",
    "PutLifecycleConfiguration",
    "PutObject",
    "PutObjectAcl",
    "PutObjectLegalHold",
    "PutObjectRetention",
    "PutObjectTagging",
    "PutObjectVersionAcl",
    "PutObjectVersionTagging",
    "PutReplicationConfiguration",
    "RestoreObject",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// Who a statement is about.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Principal {
    /// `"*"` or `{"AWS": "*"}`: everyone, anonymous included.
    Anyone,
    /// A user by full id (`tenant$uid` or `uid`).
    User(String),
    /// Every user of a tenant (`arn:aws:iam::TENANT:root`).
    Tenant(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    IpAddress,
    NotIpAddress,
    Null,
}

impl Op {
    fn parse(name: &str) -> Option<Op> {
        use Op::*;
        Some(match name {
            "StringEquals" => StringEquals,
            "StringNotEquals" => StringNotEquals,
            "StringEqualsIgnoreCase" => StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => StringNotEqualsIgnoreCase,
            "StringLike" => StringLike,
            "StringNotLike" => StringNotLike,
            "NumericEquals" => NumericEquals,
            "NumericNotEquals" => NumericNotEquals,
            "NumericLessThan" => NumericLessThan,
            "NumericLessThanEquals" => NumericLessThanEquals,
            "NumericGreaterThan" => NumericGreaterThan,
            "NumericGreaterThanEquals" => NumericGreaterThanEquals,
            "DateEquals" => DateEquals,
            "DateNotEquals" => DateNotEquals,
            "DateLessThan" => DateLessThan,
            "DateLessThanEquals" => DateLessThanEquals,
            "DateGreaterThan" => DateGreaterThan,
            "DateGreaterThanEquals" => DateGreaterThanEquals,
            "Bool" => Bool,
            "IpAddress" => IpAddress,
            "NotIpAddress" => NotIpAddress,
            "Null" => Null,
            _ => return None,
        })
    }

    /// Negated operators hold when the key is absent (AWS: "no value matches").
    fn negated(self) -> bool {
        matches!(
            self,
            Op::StringNotEquals
                | Op::StringNotEqualsIgnoreCase
                | Op::StringNotLike
                | Op::NumericNotEquals
                | Op::DateNotEquals
                | Op::NotIpAddress
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Condition {
    op: Op,
    if_exists: bool,
    key: String,
    values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Matcher {
    /// `Action` / `Resource`: one of these patterns must match.
    Any(Vec<String>),
    /// `NotAction` / `NotResource`: none may match.
    None(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    effect: Effect,
    principals: Vec<Principal>,
    actions: Matcher,
    resources: Matcher,
    conditions: Vec<Condition>,
}

/// A parsed bucket policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    statements: Vec<Statement>,
}

/// What a request is, for a policy: who, which action, which resource ARN, and the condition keys' values
/// (keys as AWS spells them; looked up case-insensitively).
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// Full user id; `None` for an anonymous request.
    pub principal: Option<String>,
    /// `s3:GetObject` etc.
    pub action: String,
    /// `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`.
    pub resource: String,
    pub values: BTreeMap<String, String>,
}

impl RequestContext {
    fn value(&self, key: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// A string or a list of strings (IAM allows either almost everywhere).
fn strings(v: &Value, what: &str) -> Result<Vec<String>, PolicyError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                _ => Err(malformed(format!("{what} must hold strings"))),
            })
            .collect(),
        _ => Err(malformed(format!("{what} must be a string or a list of strings"))),
    }
}

/// A condition value: strings, and numbers and booleans as their text.
fn condition_values(v: &Value) -> Result<Vec<String>, PolicyError> {
    let one = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(malformed("condition values must be strings, numbers or booleans")),
    };
    match v {
        Value::Array(items) => items.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}

fn parse_principal(arn: &str) -> Result<Principal, PolicyError> {
    if arn == "*" {
        return Ok(Principal::Anyone);
    }
    let rest = arn
        .strip_prefix("arn:aws:iam::")
        .ok_or_else(|| malformed(format!("Invalid principal in policy: {arn:?}")))?;
    let (tenant, name) = rest
        .split_once(':')
        .ok_or_else(|| malformed(format!("Invalid principal in policy: {arn:?}")))?;
    if name == "root" {
        return Ok(Principal::Tenant(tenant.to_string()));
    }
    let uid = name
        .strip_prefix("user/")
        .filter(|u| !u.is_empty())
        .ok_or_else(|| malformed(format!("Invalid principal in policy: {arn:?}")))?;
    Ok(Principal::User(if tenant.is_empty() {
        uid.to_string()
    } else {
        format!("{tenant}${uid}")
    }))
}

fn principals(v: &Value) -> Result<Vec<Principal>, PolicyError> {
    match v {
        Value::String(s) if s == "*" => Ok(vec![Principal::Anyone]),
        Value::Object(map) => {
            let mut out = Vec::new();
            for (kind, ids) in map {
                for id in strings(ids, "Principal")? {
                    out.push(match kind.as_str() {
                        "AWS" => parse_principal(&id)?,
                        "CanonicalUser" if id == "*" => Principal::Anyone,
                        "CanonicalUser" => Principal::User(id),
                        other => return Err(malformed(format!("Invalid principal type in policy: {other:?}"))),
                    });
                }
            }
            if out.is_empty() {
                return Err(malformed("Principal names no one"));
            }
            Ok(out)
        }
        _ => Err(malformed("Principal must be \"*\" or an object")),
    }
}

fn check_action(action: &str) -> Result<(), PolicyError> {
    if action == "*" {
        return Ok(());
    }
    let name = action
        .split_once(':')
        .filter(|(service, _)| service.eq_ignore_ascii_case("s3"))
        .map(|(_, name)| name)
        .ok_or_else(|| malformed(format!("Policy has invalid action: {action:?}")))?;
    let pattern = WildMatch::new_case_insensitive(name);
    if S3_ACTIONS.iter().any(|known| pattern.matches(known)) {
        Ok(())
    } else {
        Err(malformed(format!("Policy has invalid action: {action:?}")))
    }
}

/// A resource must be an S3 ARN within the policy's bucket.
fn check_resource(resource: &str, bucket: &str) -> Result<(), PolicyError> {
    let invalid = || malformed(format!("Policy has invalid resource: {resource:?}"));
    let path = resource.strip_prefix("arn:aws:s3:::").ok_or_else(invalid)?;
    if resource == "*" || path == "*" {
        return Ok(());
    }
    let bucket_part = path.split('/').next().unwrap_or_default();
    if WildMatch::new(bucket_part).matches(bucket) {
        Ok(())
    } else {
        Err(invalid())
    }
}

fn matcher(
    statement: &serde_json::Map<String, Value>,
    name: &str,
    not_name: &str,
    check: impl Fn(&str) -> Result<(), PolicyError>,
) -> Result<Matcher, PolicyError> {
    let m = match (statement.get(name), statement.get(not_name)) {
        (Some(v), None) => Matcher::Any(strings(v, name)?),
        (None, Some(v)) => Matcher::None(strings(v, not_name)?),
        (Some(_), Some(_)) => return Err(malformed(format!("a statement has both {name} and {not_name}"))),
        (None, None) => return Err(malformed(format!("a statement needs {name} or {not_name}"))),
    };
    let (Matcher::Any(items) | Matcher::None(items)) = &m;
    for item in items {
        check(item)?;
    }
    Ok(m)
}

fn parse_conditions(v: Option<&Value>) -> Result<Vec<Condition>, PolicyError> {
    let Some(v) = v else {
        return Ok(Vec::new());
    };
    let map = v.as_object().ok_or_else(|| malformed("Condition must be an object"))?;
    let mut out = Vec::new();
    for (op_name, block) in map {
        let (base, if_exists) = match op_name.strip_suffix("IfExists") {
            Some(b) => (b, true),
            None => (op_name.as_str(), false),
        };
        let op = Op::parse(base).ok_or_else(|| malformed(format!("Invalid Condition type: {op_name:?}")))?;
        let keys = block
            .as_object()
            .ok_or_else(|| malformed(format!("Condition {op_name} must map keys to values")))?;
        for (key, values) in keys {
            let values = condition_values(values)?;
            for value in &values {
                let bad = match op {
                    Op::IpAddress | Op::NotIpAddress => parse_net(value).is_none(),
                    Op::NumericEquals
                    | Op::NumericNotEquals
                    | Op::NumericLessThan
                    | Op::NumericLessThanEquals
                    | Op::NumericGreaterThan
                    | Op::NumericGreaterThanEquals => value.parse::<f64>().is_err(),
                    Op::DateEquals
                    | Op::DateNotEquals
                    | Op::DateLessThan
                    | Op::DateLessThanEquals
                    | Op::DateGreaterThan
                    | Op::DateGreaterThanEquals => parse_date(value).is_none(),
                    Op::Bool | Op::Null => value.parse::<bool>().is_err(),
                    _ => false,
                };
                if bad {
                    return Err(malformed(format!("Invalid value {value:?} for {op_name} on {key}")));
                }
            }
            out.push(Condition {
                op,
                if_exists,
                key: key.clone(),
                values,
            });
        }
    }
    Ok(out)
}

/// Reads a bucket policy for `bucket`, checking it as S3 does (`MalformedPolicy` on any fault).
pub fn parse(text: &str, bucket: &str) -> Result<Policy, PolicyError> {
    let doc: Value =
        serde_json::from_str(text).map_err(|e| malformed(format!("This policy is not valid JSON: {e}")))?;
    let doc = doc
        .as_object()
        .ok_or_else(|| malformed("A policy must be a JSON object"))?;
    if let Some(v) = doc.get("Version") {
        match v.as_str() {
            Some("2012-10-17" | "2008-10-17") => {}
            _ => return Err(malformed("The policy Version must be 2012-10-17 or 2008-10-17")),
        }
    }
    let statements = match doc.get("Statement") {
        Some(Value::Array(items)) if !items.is_empty() => items.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => return Err(malformed("Missing required field Statement")),
    };
    let mut out = Vec::new();
    for s in &statements {
        let s = s
            .as_object()
            .ok_or_else(|| malformed("Every Statement must be an object"))?;
        let effect = match s.get("Effect").and_then(Value::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            _ => return Err(malformed("Invalid effect: Effect must be Allow or Deny")),
        };
        if s.contains_key("NotPrincipal") {
            return Err(malformed("NotPrincipal is not supported"));
        }
        let principals = principals(
            s.get("Principal")
                .ok_or_else(|| malformed("Missing required field Principal"))?,
        )?;
        let actions = matcher(s, "Action", "NotAction", check_action)?;
        let resources = matcher(s, "Resource", "NotResource", |r| check_resource(r, bucket))?;
        let conditions = parse_conditions(s.get("Condition"))?;
        out.push(Statement {
            effect,
            principals,
            actions,
            resources,
            conditions,
        });
    }
    Ok(Policy { statements: out })
}

fn parse_net(value: &str) -> Option<IpNet> {
    value
        .parse::<IpNet>()
        .ok()
        .or_else(|| value.parse::<IpAddr>().ok().map(IpNet::from))
}

/// An ISO 8601 / RFC 3339 time, or seconds since the epoch (IAM takes both).
fn parse_date(value: &str) -> Option<Timestamp> {
    if let Ok(secs) = value.parse::<u64>() {
        return secs.checked_mul(1_000_000_000).map(Timestamp);
    }
    Timestamp::parse_rfc3339(value).or_else(|| {
        // A date alone means its midnight UTC.
        Timestamp::parse_rfc3339(&format!("{value}T00:00:00Z"))
    })
}

/// One condition operator applied to a request value and one policy value.
fn compare(op: Op, actual: &str, wanted: &str) -> bool {
    use std::cmp::Ordering::*;
    let num = || actual.parse::<f64>().ok()?.partial_cmp(&wanted.parse::<f64>().ok()?);
    let date = || Some(parse_date(actual)?.cmp(&parse_date(wanted)?));
    match op {
        Op::StringEquals | Op::StringNotEquals => actual == wanted,
        Op::StringEqualsIgnoreCase | Op::StringNotEqualsIgnoreCase => actual.eq_ignore_ascii_case(wanted),
        Op::StringLike | Op::StringNotLike => WildMatch::new(wanted).matches(actual),
        Op::NumericEquals | Op::NumericNotEquals => num() == Some(Equal),
        Op::NumericLessThan => num() == Some(Less),
        Op::NumericLessThanEquals => matches!(num(), Some(Less | Equal)),
        Op::NumericGreaterThan => num() == Some(Greater),
        Op::NumericGreaterThanEquals => matches!(num(), Some(Greater | Equal)),
        Op::DateEquals | Op::DateNotEquals => date() == Some(Equal),
        Op::DateLessThan => date() == Some(Less),
        Op::DateLessThanEquals => matches!(date(), Some(Less | Equal)),
        Op::DateGreaterThan => date() == Some(Greater),
        Op::DateGreaterThanEquals => matches!(date(), Some(Greater | Equal)),
        Op::Bool => actual.eq_ignore_ascii_case(wanted),
        Op::IpAddress | Op::NotIpAddress => match (actual.parse::<IpAddr>(), parse_net(wanted)) {
            (Ok(ip), Some(net)) => net.contains(&ip),
            _ => false,
        },
        Op::Null => false,
    }
}

impl Condition {
    fn holds(&self, ctx: &RequestContext) -> bool {
        let actual = ctx.value(&self.key);
        if self.op == Op::Null {
            // `Null: true` holds when the key is absent.
            let wants_absent = self.values.iter().any(|v| v.eq_ignore_ascii_case("true"));
            return wants_absent == actual.is_none();
        }
        let Some(actual) = actual else {
            return self.if_exists || self.op.negated();
        };
        let any = self.values.iter().any(|w| compare(self.op, actual, w));
        if self.op.negated() {
            !any
        } else {
            any
        }
    }
}

impl Principal {
    fn matches(&self, who: Option<&str>) -> bool {
        match (self, who) {
            (Principal::Anyone, _) => true,
            (Principal::User(id), Some(who)) => id == who,
            (Principal::Tenant(tenant), Some(who)) => match who.split_once('$') {
                Some((t, _)) => t == tenant,
                None => tenant.is_empty(),
            },
            (_, None) => false,
        }
    }
}

fn action_matches(pattern: &str, action: &str) -> bool {
    pattern == "*" || WildMatch::new_case_insensitive(pattern).matches(action)
}

fn resource_matches(pattern: &str, resource: &str) -> bool {
    pattern == "*" || WildMatch::new(pattern).matches(resource)
}

impl Matcher {
    fn matches(&self, value: &str, one: fn(&str, &str) -> bool) -> bool {
        match self {
            Matcher::Any(patterns) => patterns.iter().any(|p| one(p, value)),
            Matcher::None(patterns) => !patterns.iter().any(|p| one(p, value)),
        }
    }
}

impl Statement {
    fn applies(&self, ctx: &RequestContext, restrict_public: Option<&str>) -> bool {
        let principal_ok = self.principals.iter().any(|p| {
            p.matches(ctx.principal.as_deref())
                // RestrictPublicBuckets: a public statement speaks only for the bucket owner.
                && !(restrict_public.is_some()
                    && *p == Principal::Anyone
                    && self.is_public()
                    && ctx.principal.as_deref() != restrict_public)
        });
        principal_ok
            && self.actions.matches(&ctx.action, action_matches)
            && self.resources.matches(&ctx.resource, resource_matches)
            && self.conditions.iter().all(|c| c.holds(ctx))
    }

    /// An Allow to everyone that no condition narrows to known sources (AWS's notion of "public").
    fn is_public(&self) -> bool {
        const NARROWING: &[&str] = &[
            "aws:sourceip",
            "aws:sourcearn",
            "aws:sourcevpc",
            "aws:sourcevpce",
            "aws:sourceaccount",
            "aws:principalaccount",
            "aws:principalarn",
            "aws:principalorgid",
            "aws:userid",
            "aws:username",
        ];
        self.effect == Effect::Allow
            && self.principals.contains(&Principal::Anyone)
            && !self.conditions.iter().any(|c| {
                !c.op.negated() && c.op != Op::Null && NARROWING.contains(&c.key.to_ascii_lowercase().as_str())
            })
    }
}

/// What a policy says of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Deny,
    Allow,
    Silent,
}

impl Policy {
    /// An explicit Deny wins over any Allow; `restrict_to_owner` (RestrictPublicBuckets: the bucket owner's
    /// id) makes public statements allow only that owner.
    pub fn evaluate(&self, ctx: &RequestContext, restrict_to_owner: Option<&str>) -> Verdict {
        let mut verdict = Verdict::Silent;
        for s in &self.statements {
            if s.applies(ctx, restrict_to_owner) {
                match s.effect {
                    Effect::Deny => return Verdict::Deny,
                    Effect::Allow => verdict = Verdict::Allow,
                }
            }
        }
        verdict
    }

    /// Whether the policy grants access to everyone (BlockPublicPolicy refuses such a policy).
    pub fn is_public(&self) -> bool {
        self.statements.iter().any(Statement::is_public)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(principal: Option<&str>, action: &str, resource: &str, values: &[(&str, &str)]) -> RequestContext {
        RequestContext {
            principal: principal.map(str::to_string),
            action: action.into(),
            resource: resource.into(),
            values: values.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    const PUBLIC_READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"pub","Effect":"Allow",
        "Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}]}"#;

    #[test]
    fn allow_matches_action_resource_and_principal() {
        let p = parse(PUBLIC_READ, "photos").unwrap();
        let get = ctx(None, "s3:GetObject", "arn:aws:s3:::photos/a.jpg", &[]);
        assert_eq!(p.evaluate(&get, None), Verdict::Allow);
        let put = ctx(None, "s3:PutObject", "arn:aws:s3:::photos/a.jpg", &[]);
        assert_eq!(p.evaluate(&put, None), Verdict::Silent);
        let bucket = ctx(None, "s3:GetObject", "arn:aws:s3:::photos", &[]);
        assert_eq!(p.evaluate(&bucket, None), Verdict::Silent);
        assert!(p.is_public());
        // RestrictPublicBuckets: only the owner still gets the public statement.
        assert_eq!(p.evaluate(&get, Some("alice")), Verdict::Silent);
        let owner_get = ctx(Some("alice"), "s3:GetObject", "arn:aws:s3:::photos/a.jpg", &[]);
        assert_eq!(p.evaluate(&owner_get, Some("alice")), Verdict::Allow);
    }

    #[test]
    fn deny_wins_over_allow() {
        let text = r#"{"Statement":[
            {"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]},
            {"Effect":"Deny","Principal":{"AWS":["arn:aws:iam:::user/bob"]},"Action":"s3:Get*","Resource":"arn:aws:s3:::b/secret/*"}]}"#;
        let p = parse(text, "b").unwrap();
        let bob_secret = ctx(Some("bob"), "s3:GetObject", "arn:aws:s3:::b/secret/x", &[]);
        assert_eq!(p.evaluate(&bob_secret, None), Verdict::Deny);
        let carol_secret = ctx(Some("carol"), "s3:GetObject", "arn:aws:s3:::b/secret/x", &[]);
        assert_eq!(p.evaluate(&carol_secret, None), Verdict::Allow);
        let bob_list = ctx(Some("bob"), "s3:ListBucket", "arn:aws:s3:::b", &[]);
        assert_eq!(p.evaluate(&bob_list, None), Verdict::Allow);
    }

    #[test]
    fn principals_by_tenant_and_not_action() {
        let text = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::acme:user/joe","arn:aws:iam::beta:root"]},
            "NotAction":"s3:Delete*","NotResource":"arn:aws:s3:::b/private/*"}]}"#;
        let p = parse(text, "b").unwrap();
        assert_eq!(
            p.evaluate(&ctx(Some("acme$joe"), "s3:PutObject", "arn:aws:s3:::b/k", &[]), None),
            Verdict::Allow
        );
        assert_eq!(
            p.evaluate(&ctx(Some("beta$ann"), "s3:PutObject", "arn:aws:s3:::b/k", &[]), None),
            Verdict::Allow
        );
        assert_eq!(
            p.evaluate(&ctx(Some("joe"), "s3:PutObject", "arn:aws:s3:::b/k", &[]), None),
            Verdict::Silent
        );
        assert_eq!(
            p.evaluate(&ctx(Some("acme$joe"), "s3:DeleteObject", "arn:aws:s3:::b/k", &[]), None),
            Verdict::Silent
        );
        assert_eq!(
            p.evaluate(
                &ctx(Some("acme$joe"), "s3:PutObject", "arn:aws:s3:::b/private/k", &[]),
                None
            ),
            Verdict::Silent
        );
        assert!(!p.is_public());
    }

    #[test]
    fn conditions() {
        let text = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b",
            "Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","127.0.0.1"]},
                         "StringLike":{"s3:prefix":"home/*"},
                         "NumericLessThanEquals":{"s3:max-keys":"100"},
                         "Bool":{"aws:SecureTransport":"false"},
                         "DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},
                         "StringNotEquals":{"s3:delimiter":"|"}}}]}"#;
        let p = parse(text, "b").unwrap();
        assert!(!p.is_public(), "narrowed by source IP");
        let good = [
            ("aws:SourceIp", "127.0.0.1"),
            ("s3:prefix", "home/ann/"),
            ("s3:max-keys", "50"),
            ("aws:SecureTransport", "false"),
            ("aws:CurrentTime", "2026-12-02T10:00:00Z"),
        ];
        let list = |values: &[(&str, &str)]| ctx(None, "s3:ListBucket", "arn:aws:s3:::b", values);
        assert_eq!(p.evaluate(&list(&good), None), Verdict::Allow);
        for (i, bad) in [
            ("aws:SourceIp", "192.168.1.1"),
            ("s3:prefix", "etc/"),
            ("s3:max-keys", "1000"),
            ("aws:SecureTransport", "true"),
            ("aws:CurrentTime", "2031-01-01T00:00:00Z"),
        ]
        .into_iter()
        .enumerate()
        {
            let mut values = good.to_vec();
            values[i] = bad;
            assert_eq!(p.evaluate(&list(&values), None), Verdict::Silent, "{bad:?}");
        }
        let mut with_delimiter = good.to_vec();
        with_delimiter.push(("s3:delimiter", "|"));
        assert_eq!(p.evaluate(&list(&with_delimiter), None), Verdict::Silent);
        // A missing key fails a positive operator ...
        assert_eq!(p.evaluate(&list(&good[1..]), None), Verdict::Silent);
        // ... unless the operator is ...IfExists.
        let text = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*",
            "Condition":{"StringNotEqualsIfExists":{"s3:ExistingObjectTag/class":"public"},"StringEquals":{"aws:username":"bob"}}}]}"#;
        let p = parse(text, "b").unwrap();
        let get = |values: &[(&str, &str)]| ctx(Some("bob"), "s3:GetObject", "arn:aws:s3:::b/k", values);
        assert_eq!(
            p.evaluate(
                &get(&[("aws:username", "bob"), ("s3:ExistingObjectTag/class", "secret")]),
                None
            ),
            Verdict::Deny
        );
        assert_eq!(
            p.evaluate(
                &get(&[("aws:username", "bob"), ("s3:ExistingObjectTag/class", "public")]),
                None
            ),
            Verdict::Silent
        );
        assert_eq!(p.evaluate(&get(&[("aws:username", "bob")]), None), Verdict::Deny);
        assert_eq!(p.evaluate(&get(&[("aws:username", "ann")]), None), Verdict::Silent);
    }

    #[test]
    fn malformed_policies_are_refused() {
        for bad in [
            "not json",
            "[]",
            r#"{"Statement":[]}"#,
            r#"{"Version":"2020-01-01","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#,
            r#"{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:FlyAway","Resource":"arn:aws:s3:::b/*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ec2:Run*","Resource":"arn:aws:s3:::b/*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringSortOf":{"a":"b"}}}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":"nowhere"}}}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#,
        ] {
            assert!(parse(bad, "b").is_err(), "{bad}");
        }
        assert!(parse(
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":["s3:Get*","s3:List*"],"Resource":"arn:aws:s3:::b*"}}"#,
            "b"
        )
        .is_ok());
    }
}
