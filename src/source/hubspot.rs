//! The `hubspot` source: contacts and deals from HubSpot's CRM v3 API.
//!
//! Records are fetched with the properties the metrics need (HubSpot's
//! internal names by default, as in the `hubspot` preset: `createdate`,
//! `hs_lifecyclestage_<stage>_date`, `hs_first_outreach_date`,
//! `hs_is_closed_won`, ...; `columns` and `deal_columns` map others) into the
//! cache ([`super::api`]).
//!
//! A full fetch (see [`super::api`] for when) reads every record
//! from the objects list (`GET /crm/v3/objects/{type}`, 100 a page, paged by
//! `paging.next.after`, under the account's 10-second budget). Otherwise only
//! the records modified since the last sync are fetched, from the search API
//! (`lastmodifieddate` for contacts, `hs_lastmodifieddate` for deals), paged
//! by keyset:
//! `hs_object_id` ascending, every page asking for the ids after the last one
//! seen, so the search's 10,000-result cap never applies; records archived
//! (deleted or merged) are listed (`archived=true`) and dropped.
//!
//! A page that does not parse, a cursor that repeats, ids that go back, an
//! empty page that says more follow, a search that ends short of the total
//! it reported: an error, never part of a result.
//! Rate: the list under the account's budget (`X-HubSpot-RateLimit-Max` per
//! `-Interval-Milliseconds`; 100 per 10 s until the headers say), the search
//! never faster than 5 a second (its documented limit); a 429 is retried
//! after its `Retry-After` or a backoff, except a `DAILY` one, which is
//! reported.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};

use super::api::{Account, Api, Cached, Credentials, Vendor, fresh_cursor};
use super::cache::{Key, Writer};
use super::file::Kind;
use super::http::{Answer, Auth, Http, Limiter, Rate, header_u32};
use super::{Fetch, SourceError};
use crate::model::manifest::{Preset, Source};

/// The vendor.
pub const HUBSPOT: Vendor = Vendor {
    kind: "hubspot",
    name: "HubSpot",
    base: "https://api.hubapi.com",
    preset: Preset::Hubspot,
    token_help: "a HubSpot private app token (scopes crm.objects.contacts.read, crm.objects.deals.read)",
    token_url: "/oauth/v1/token",
    oauth_basic: false,
    client_credentials: false,
    owner: "hubspot_owner_id",
    lead_objects: &["contacts", "leads"],
};
/// Results per search page (the API's maximum).
const SEARCH_PAGE: usize = 200;
/// Results per list page (the API's maximum).
const LIST_PAGE: usize = 100;
/// The search API's own limit, 5 requests a second, whatever the account's
/// budget.
const SEARCH_GAP: Duration = Duration::from_millis(200);

/// The `hubspot` source of `[source.<id>]`.
pub fn open(
    id: &str,
    s: &Source,
    dir: &Path,
    org_tz: &str,
    fetch: Fetch,
) -> Result<Cached<HubSpot>, SourceError> {
    Ok(Cached::new(HubSpot {
        account: Account::new(id, s, dir, org_tz, fetch, HUBSPOT)?,
    }))
}

/// The property holding when a record of an object was last modified.
fn modified(object: &str) -> &'static str {
    if object == "contacts" {
        "lastmodifieddate"
    } else {
        "hs_lastmodifieddate"
    }
}

/// The API's name for a kind of record, by default.
fn object(kind: Kind) -> &'static str {
    match kind {
        Kind::Leads => "contacts",
        Kind::Deals => "deals",
    }
}

/// A page of the objects list: `limit`, `archived`, `properties`, `after`.
fn list_url(
    base: &str,
    archived: bool,
    properties: &str,
    after: Option<&str>,
) -> Result<reqwest::Url, SourceError> {
    let mut q = vec![
        ("limit", LIST_PAGE.to_string()),
        ("archived", archived.to_string()),
        ("properties", properties.to_string()),
    ];
    if let Some(a) = after {
        q.push(("after", a.to_string()));
    }
    reqwest::Url::parse_with_params(base, &q).map_err(|e| {
        SourceError::new(
            format!("HubSpot: cannot form the URL of `{base}`: {e}"),
            "check base_url",
        )
    })
}

/// HubSpot's rate-limit headers (the account's rolling budget).
fn rate(headers: &HeaderMap) -> Rate {
    Rate {
        max: header_u32(headers, "x-hubspot-ratelimit-max"),
        interval: header_u32(headers, "x-hubspot-ratelimit-interval-milliseconds")
            .map(|ms| Duration::from_millis(u64::from(ms))),
        remaining: header_u32(headers, "x-hubspot-ratelimit-remaining"),
    }
}

/// A HubSpot account.
#[derive(Debug)]
pub struct HubSpot {
    account: Account,
}

impl HubSpot {
    /// An answer that is not a page, explained.
    fn refused(&self, what: &str, a: &Answer) -> SourceError {
        let body: Value = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
        let text = |k: &str| body[k].as_str().unwrap_or("").to_string();
        let access = self.account.access();
        match a.status {
            401 => SourceError::new(
                format!("HubSpot refused {access} (401 {})", text("category")),
                match &self.account.credentials {
                    Credentials::Token(env) => format!(
                        "create a private app token (Settings > Integrations > Private apps) and export it as {env}"
                    ),
                    Credentials::OAuth { .. } => {
                        "the app's access was renewed and still refused: reinstall the app in the account".into()
                    }
                },
            ),
            403 => SourceError::new(
                format!(
                    "HubSpot: {access} may not read {what} (403 {})",
                    text("category")
                ),
                "give the private app the scopes crm.objects.contacts.read and crm.objects.deals.read",
            ),
            429 => SourceError::new(
                format!(
                    "HubSpot: the account's daily API limit is used up ({})",
                    text("policyName")
                ),
                "run again after midnight in the account's time zone, or raise the limit (API add-on)",
            ),
            s => SourceError::new(
                format!("HubSpot answered {what} with HTTP {s}: {}", text("message")),
                "check base_url and the properties mapped in columns / deal_columns",
            ),
        }
    }

    /// Sends a request and reads its page; anything but a JSON page is an error.
    fn page(
        &self,
        http: &mut Http,
        what: &str,
        build: impl Fn(&reqwest::blocking::Client, &str) -> reqwest::blocking::RequestBuilder,
    ) -> Result<Value, SourceError> {
        let page = self.json(http, what, build)?;
        if !page["results"].is_array() {
            return Err(SourceError::new(
                format!("HubSpot: a page of {what} has no `results`"),
                "check base_url: it must be HubSpot's API (https://api.hubapi.com)",
            ));
        }
        Ok(page)
    }

    /// Sends a request and reads its JSON; any other answer is an error.
    fn json(
        &self,
        http: &mut Http,
        what: &str,
        build: impl Fn(&reqwest::blocking::Client, &str) -> reqwest::blocking::RequestBuilder,
    ) -> Result<Value, SourceError> {
        let answer = http.send(what, build, |a| {
            // A daily quota does not come back in seconds.
            !String::from_utf8_lossy(&a.body).contains("\"DAILY\"")
        })?;
        if answer.status != 200 {
            return Err(self.refused(what, &answer));
        }
        serde_json::from_slice(&answer.body).map_err(|e| {
            SourceError::new(
                format!("HubSpot: a page of {what} is not JSON ({e})"),
                "run again; if it persists, HubSpot's API is answering wrongly",
            )
        })
    }

    /// A record as a cache row: its properties, its id in `hs_object_id`.
    fn row(&self, what: &str, r: &Value) -> Result<(Key, Value), SourceError> {
        let id = r["id"]
            .as_str()
            .filter(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                SourceError::new(
                    format!("HubSpot: a record of {what} has no numeric id"),
                    "check base_url: it must be HubSpot's API (https://api.hubapi.com)",
                )
            })?;
        let mut row = Map::new();
        if let Some(props) = r["properties"].as_object() {
            for (k, v) in props {
                row.insert(k.clone(), v.clone());
            }
        }
        // The record's own id, which no property overwrites: the cache's key.
        row.insert("hs_object_id".into(), json!(id));
        Ok((Key(id.to_string()), Value::Object(row)))
    }

    /// Walks the objects list (archived records or the others) by its
    /// cursor, handing each page's records to `each`.
    fn list(
        &self,
        http: &mut Http,
        kind: Kind,
        archived: bool,
        properties: &str,
        mut each: impl FnMut(&[Value]) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let object = Api::object(self, kind);
        let what = if archived {
            format!("the archived {object} list")
        } else {
            format!("the {object} list")
        };
        let url = format!("{}/crm/v3/objects/{object}", self.account.base);
        let mut after: Option<String> = None;
        let mut cursors = HashSet::new();
        let mut last = 0u64;
        loop {
            let page_url = list_url(&url, archived, properties, after.as_deref())?;
            let page = self.page(http, &what, |c, token| {
                c.get(page_url.clone()).bearer_auth(token)
            })?;
            let results = page["results"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            // The list comes in id order: ids that do not rise are a listing
            // going back (and would page forever), never data.
            for r in results {
                let id = r["id"]
                    .as_str()
                    .and_then(|i| i.parse::<u64>().ok())
                    .unwrap_or(0);
                if id <= last {
                    return Err(SourceError::new(
                        format!("HubSpot: {what} returned record {id} out of order (after {last})"),
                        "run again; a listing that goes back cannot be trusted",
                    ));
                }
                last = id;
            }
            each(results)?;
            match page["paging"]["next"]["after"].as_str() {
                None => return Ok(()),
                Some(_) if results.is_empty() => {
                    return Err(SourceError::new(
                        format!(
                            "HubSpot: {what} returned an empty page that says more records follow"
                        ),
                        "run again; a page that skips cannot be trusted",
                    ));
                }
                Some(n) => {
                    fresh_cursor("HubSpot", &what, n, &mut cursors)?;
                    after = Some(n.to_string());
                }
            }
        }
    }

    /// How many records of a kind there are (modified since `floor`, when
    /// given), from a search that asks for one.
    fn total(
        &self,
        http: &mut Http,
        kind: Kind,
        floor: Option<i64>,
    ) -> Result<Option<u64>, SourceError> {
        let object = Api::object(self, kind);
        let url = format!("{}/crm/v3/objects/{object}/search", self.account.base);
        let mut search = json!({"limit": 1, "properties": ["hs_object_id"]});
        if let Some(f) = floor {
            search["filterGroups"] = json!([{"filters": [{
                "propertyName": modified(object), "operator": "GTE", "value": f.to_string()
            }]}]);
        }
        let body = serde_json::to_vec(&search).unwrap_or_default();
        http.limiter.set_floor(SEARCH_GAP);
        let page = self.page(http, &format!("the {object} count"), |c, token| {
            c.post(&url)
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body.clone())
        });
        http.limiter.set_floor(Duration::ZERO);
        Ok(page?["total"].as_u64())
    }

    /// The records of a kind modified since `since` (epoch milliseconds),
    /// from the search API, by keyset on `hs_object_id`.
    fn changed_since(
        &self,
        http: &mut Http,
        kind: Kind,
        fields: &[String],
        since: i64,
    ) -> Result<BTreeMap<Key, Value>, SourceError> {
        let object = Api::object(self, kind);
        let what = format!("the {object} search");
        let url = format!("{}/crm/v3/objects/{object}/search", self.account.base);
        let modified = modified(object);
        http.limiter.set_floor(SEARCH_GAP);
        let mut changed = BTreeMap::new();
        let mut last: Option<u64> = None;
        let mut bar = self.account.bar(&format!("{object} changed"), None);
        loop {
            let mut filters = vec![json!({
                "propertyName": modified, "operator": "GTE", "value": since.to_string()
            })];
            if let Some(l) = last {
                filters.push(json!({
                    "propertyName": "hs_object_id", "operator": "GT", "value": l.to_string()
                }));
            }
            let body = serde_json::to_vec(&json!({
                "filterGroups": [{"filters": filters}],
                "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                "properties": fields,
                "limit": SEARCH_PAGE,
            }))
            .unwrap_or_default();
            let page = self.page(http, &what, |c, token| {
                c.post(&url)
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .body(body.clone())
            })?;
            let results = page["results"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            if last.is_none() {
                bar.total(page["total"].as_u64());
            }
            for r in results {
                let (key, row) = self.row(&what, r)?;
                let id: u64 = key.0.parse().unwrap_or(0);
                if last.is_some_and(|l| id <= l) {
                    return Err(SourceError::new(
                        format!(
                            "HubSpot: {what} returned record {id} out of order (after {})",
                            last.unwrap_or(0)
                        ),
                        "run again; a page that repeats or goes back cannot be trusted",
                    ));
                }
                last = Some(id);
                changed.insert(key, row);
            }
            bar.advance(results.len() as u64);
            // The page must say whether more remain, and be whole.
            let total = page["total"].as_u64();
            let more = page["paging"]["next"]["after"].is_string();
            if results.is_empty() && more {
                return Err(SourceError::new(
                    format!("HubSpot: {what} returned an empty page that says more records follow"),
                    "run again; a page that skips cannot be trusted",
                ));
            }
            if !more && total.is_some_and(|t| t > results.len() as u64) {
                return Err(SourceError::new(
                    format!(
                        "HubSpot: {what} ended with {} of the {} records it reported",
                        results.len(),
                        total.unwrap_or(0)
                    ),
                    "run again; a search that stops short cannot be trusted",
                ));
            }
            if !more {
                break;
            }
        }
        bar.finish();
        http.limiter.set_floor(Duration::ZERO);
        Ok(changed)
    }
}

impl Api for HubSpot {
    fn account(&self) -> &Account {
        &self.account
    }

    fn object(&self, kind: Kind) -> &'static str {
        match kind {
            Kind::Leads => self.account.lead_object,
            Kind::Deals => object(kind),
        }
    }

    fn id_field(&self) -> &'static str {
        "hs_object_id"
    }

    /// The portal id, from the account details.
    fn account_id(&self, http: &mut Http) -> Result<String, SourceError> {
        let what = "the account details";
        let url = format!("{}/account-info/v3/details", self.account.base);
        let details = self.json(http, what, |c, token| c.get(&url).bearer_auth(token))?;
        match &details["portalId"] {
            Value::Number(n) => Ok(n.to_string()),
            Value::String(s) if !s.is_empty() => Ok(s.clone()),
            _ => Err(SourceError::new(
                format!("HubSpot: {what} name no portalId"),
                "check base_url: it must be HubSpot's API (https://api.hubapi.com)",
            )),
        }
    }

    fn client(&self, auth: Auth) -> Result<Http, SourceError> {
        // The account's budget until the headers say: 100 per 10 seconds
        // (Free and Starter; Professional and Enterprise allow 190).
        Http::new(
            "HubSpot",
            self.account.timeout,
            Limiter::new(100, Duration::from_secs(10)),
            rate,
            auth,
        )
    }

    /// Every record from the objects list, 100 a page.
    fn everything(
        &self,
        http: &mut Http,
        kind: Kind,
        fields: &[String],
        out: &mut Writer,
    ) -> Result<(), SourceError> {
        let object = Api::object(self, kind);
        let what = format!("the {object} list");
        let total = self.total(http, kind, None)?;
        let mut bar = self.account.bar(object, total);
        self.list(http, kind, false, &fields.join(","), |results| {
            for r in results {
                let (id, row) = self.row(&what, r)?;
                out.push(&id, &row)?;
            }
            bar.advance(results.len() as u64);
            Ok(())
        })?;
        bar.finish();
        // A listing that stopped early looks like its end: fewer records
        // than counted is checked against a new count (records deleted
        // meanwhile lower it).
        let fetched = out.records();
        if total.is_some_and(|t| fetched < t) {
            let now = self.total(http, kind, None)?.unwrap_or(0);
            if fetched < now {
                return Err(SourceError::new(
                    format!("HubSpot: {what} ended with {fetched} of the {now} records it holds"),
                    "run again; a listing that stops short cannot be trusted",
                ));
            }
        }
        Ok(())
    }

    fn count(
        &self,
        http: &mut Http,
        kind: Kind,
        floor: Option<i64>,
    ) -> Result<Option<u64>, SourceError> {
        self.total(http, kind, floor)
    }

    fn changed(
        &self,
        http: &mut Http,
        kind: Kind,
        fields: &[String],
        since: i64,
    ) -> Result<BTreeMap<Key, Value>, SourceError> {
        self.changed_since(http, kind, fields, since)
    }

    /// The archived records (deleted or merged; HubSpot keeps them 90 days),
    /// whenever they were archived.
    fn removed(
        &self,
        http: &mut Http,
        kind: Kind,
        _since: i64,
    ) -> Result<BTreeSet<Key>, SourceError> {
        let what = format!("the archived {} list", Api::object(self, kind));
        let mut ids = BTreeSet::new();
        self.list(http, kind, true, "hs_object_id", |results| {
            for r in results {
                ids.insert(self.row(&what, r)?.0);
            }
            Ok(())
        })?;
        Ok(ids)
    }
}
