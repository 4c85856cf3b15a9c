//! `/admin/realm/period` and `/admin/realm`: what a zone asks of another to get the current period (or one
//! period), to hand it a period (a master's push, a secondary's staging period to commit), and what `realm
//! pull` reads. The documents are the model's own `Period` and `Realm`.

use crate::{AdminRequest, Call};
use http::Method;
use meridian_model::{Period, Realm};

/// `GET /admin/realm/period[?period_id=ID][&epoch=N]`: the current period, or the one named.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GetPeriod {
    pub period_id: Option<String>,
    pub epoch: Option<u64>,
}

impl Call for GetPeriod {
    type Reply = Period;

    fn request(&self) -> AdminRequest {
        AdminRequest::new(Method::GET, "realm/period")
            .opt("period_id", self.period_id.clone())
            .opt("epoch", self.epoch.map(|e| e.to_string()))
    }
}

/// `POST /admin/realm/period` with a period as the body: on the master a staging period is committed (and
/// the committed one answered); anywhere a newer committed period becomes current (and is answered).
#[derive(Debug, Clone, PartialEq)]
pub struct PostPeriod<'a>(pub &'a Period);

impl Call for PostPeriod<'_> {
    type Reply = Period;

    fn request(&self) -> AdminRequest {
        let req = AdminRequest::new(Method::POST, "realm/period");
        match serde_json::to_value(self.0) {
            Ok(body) => req.with_body(body),
            // A period is plain data: it always encodes; an empty POST is refused by the handler.
            Err(_) => req,
        }
    }
}

/// `GET /admin/realm`: the realm the zone belongs to (what `realm pull` copies first).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GetRealm;

impl Call for GetRealm {
    type Reply = Realm;

    fn request(&self) -> AdminRequest {
        AdminRequest::new(Method::GET, "realm")
    }
}
