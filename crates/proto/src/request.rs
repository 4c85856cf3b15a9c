//! One admin request, addressed as RGW's admin-ops API addresses it.

use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct AdminRequest {
    pub method: http::Method,
    /// Path below `/admin/`, e.g. `user`, `bucket`, `metadata/user`, `realm/period`.
    pub resource: String,
    pub params: BTreeMap<String, String>,
    /// JSON document sent with PUT/POST (a period, a metadata entry).
    pub body: Option<Value>,
}

impl AdminRequest {
    pub fn new(method: http::Method, resource: &str) -> Self {
        Self {
            method,
            resource: resource.to_string(),
            params: BTreeMap::new(),
            body: None,
        }
    }

    pub fn param(mut self, name: &str, value: impl Into<String>) -> Self {
        self.params.insert(name.to_string(), value.into());
        self
    }

    pub fn opt(self, name: &str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.param(name, v),
            None => self,
        }
    }

    pub fn flag(self, name: &str, on: bool) -> Self {
        if on {
            self.param(name, "true")
        } else {
            self
        }
    }

    pub fn with_body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// A parameter's value; an empty value counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// A flag: present with no value, or `true` / `1`.
    pub fn is_true(&self, name: &str) -> bool {
        self.params
            .get(name)
            .is_some_and(|v| v.is_empty() || v == "true" || v == "1" || v == "True")
    }
}
