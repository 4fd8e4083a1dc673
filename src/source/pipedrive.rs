//! The `pipedrive` source: persons (as leads) and deals from Pipedrive's API
//! v2 (`GET /api/v2/persons`, `GET /api/v2/deals`).
//!
//! Fields are the API's (the `pipedrive` preset: `id`, `add_time`; deals'
//! `close_time`, `value`, `currency`); custom fields, which carry stage
//! times and the rest, are read from `custom_fields` by their key (a 40-hex
//! hash Pipedrive gives each; map it in `columns`: `mql = "a1b2..."`).
//! Deals get `won` and `is_closed` from their `status` (`won`, `lost`,
//! `open`). Times are RFC 3339 UTC (`2024-01-01T00:00:00Z`).
//!
//! Paging: 500 records a page, `sort_by=id` ascending, by
//! `additional_data.next_cursor` until it is null. A page that does not
//! parse, a cursor that repeats, an empty page that names a next one, ids
//! that go back: an error, never part of a result.
//!
//! Incremental: `updated_since` the last sync's start (less the overlap);
//! deleted deals from `status=deleted`. Deleted persons are not listed by the
//! API: the weekly full fetch drops them.
//!
//! Limits: a burst budget per 2-second window, in `x-ratelimit-limit`,
//! `-remaining`, `-reset`; 429 `{success: false, error}` retried after
//! `Retry-After` or a backoff.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};

use super::api::{Account, Api, Cached, Vendor, fresh_cursor};
use super::cache::{Key, Writer};
use super::file::Kind;
use super::http::{Answer, Auth, Http, Limiter, Rate, header_u32};
use super::{Fetch, SourceError};
use crate::model::manifest::{Preset, Source};

/// The vendor.
pub const PIPEDRIVE: Vendor = Vendor {
    kind: "pipedrive",
    name: "Pipedrive",
    base: "https://api.pipedrive.com",
    preset: Preset::Pipedrive,
    token_help: "a Pipedrive API token (Settings > Personal preferences > API)",
    token_url: "https://oauth.pipedrive.com/oauth/token",
    oauth_basic: true,
    client_credentials: false,
    owner: "owner_id",
};
/// Records per page (the API's maximum).
const PAGE: usize = 500;

/// The `pipedrive` source of `[source.<id>]`.
pub fn open(
    id: &str,
    s: &Source,
    dir: &Path,
    org_tz: &str,
    fetch: Fetch,
) -> Result<Cached<Pipedrive>, SourceError> {
    Ok(Cached::new(Pipedrive {
        account: Account::new(id, s, dir, org_tz, fetch, PIPEDRIVE)?,
    }))
}

/// The API's name for a kind of record.
fn object(kind: Kind) -> &'static str {
    match kind {
        Kind::Leads => "persons",
        Kind::Deals => "deals",
    }
}

/// Pipedrive's burst budget: `x-ratelimit-limit` requests per 2 seconds.
fn rate(headers: &HeaderMap) -> Rate {
    Rate {
        max: header_u32(headers, "x-ratelimit-limit"),
        interval: Some(Duration::from_secs(2)),
        remaining: header_u32(headers, "x-ratelimit-remaining"),
    }
}

/// RFC 3339 UTC, whole seconds.
fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A Pipedrive company account.
#[derive(Debug)]
pub struct Pipedrive {
    account: Account,
}

impl Pipedrive {
    /// An answer that is not a page, explained.
    fn refused(&self, what: &str, a: &Answer) -> SourceError {
        let body: Value = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
        let error = body["error"].as_str().unwrap_or("");
        let access = self.account.access();
        match a.status {
            401 => SourceError::new(
                format!("Pipedrive refused {access} (401 {error})"),
                format!("export a fresh one: {}", PIPEDRIVE.token_help),
            ),
            402 | 403 => SourceError::new(
                format!(
                    "Pipedrive: {access} may not read {what} ({} {error})",
                    a.status
                ),
                "use a token of a user who can see every person and deal (visibility groups), on a plan with API access",
            ),
            s => SourceError::new(
                format!("Pipedrive answered {what} with HTTP {s}: {error}"),
                "check base_url: it must be Pipedrive's API (https://api.pipedrive.com or https://<company>.pipedrive.com)",
            ),
        }
    }

    /// A request with the access: an API token in `x-api-token`, an OAuth
    /// access token as a bearer.
    fn authorize(
        &self,
        request: reqwest::blocking::RequestBuilder,
        token: &str,
    ) -> reqwest::blocking::RequestBuilder {
        if self.account.oauth() {
            request.bearer_auth(token)
        } else {
            request.header("x-api-token", token)
        }
    }

    /// Walks a listing by its cursor (`query` the filters), handing each
    /// page's records to `each`.
    fn list(
        &self,
        http: &mut Http,
        kind: Kind,
        what: &str,
        query: &[(&str, String)],
        mut each: impl FnMut(&[Value]) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let base = format!("{}/api/v2/{}", self.account.base, object(kind));
        let mut cursor: Option<String> = None;
        let mut cursors = HashSet::new();
        let mut last: Option<u64> = None;
        loop {
            let mut q: Vec<(&str, String)> = vec![
                ("limit", PAGE.to_string()),
                ("sort_by", "id".into()),
                ("sort_direction", "asc".into()),
            ];
            q.extend(query.iter().cloned());
            if let Some(c) = &cursor {
                q.push(("cursor", c.clone()));
            }
            let url = reqwest::Url::parse_with_params(&base, &q).map_err(|e| {
                SourceError::new(
                    format!("Pipedrive: cannot form the URL of `{base}`: {e}"),
                    "check base_url",
                )
            })?;
            let answer = http.send(
                what,
                |c, token| self.authorize(c.get(url.clone()), token),
                |_| true,
            )?;
            if answer.status != 200 {
                return Err(self.refused(what, &answer));
            }
            let page: Value = serde_json::from_slice(&answer.body).map_err(|e| {
                SourceError::new(
                    format!("Pipedrive: a page of {what} is not JSON ({e})"),
                    "run again; if it persists, Pipedrive's API is answering wrongly",
                )
            })?;
            let (Some(true), Some(records)) = (page["success"].as_bool(), page["data"].as_array())
            else {
                return Err(SourceError::new(
                    format!("Pipedrive: a page of {what} is not a successful list"),
                    "check base_url: it must be Pipedrive's API (https://api.pipedrive.com)",
                ));
            };
            for r in records {
                let id = r["id"].as_u64().unwrap_or(0);
                if last.is_some_and(|l| id <= l) {
                    return Err(SourceError::new(
                        format!("Pipedrive: {what} returned record {id} out of order"),
                        "run again; a listing that goes back cannot be trusted",
                    ));
                }
                last = Some(id);
            }
            each(records)?;
            match page["additional_data"]["next_cursor"].as_str() {
                None => return Ok(()),
                Some(_) if records.is_empty() => {
                    return Err(SourceError::new(
                        format!("Pipedrive: {what} returned an empty page that names a next one"),
                        "run again; a page that skips cannot be trusted",
                    ));
                }
                Some(c) => {
                    fresh_cursor("Pipedrive", what, c, &mut cursors)?;
                    cursor = Some(c.to_string());
                }
            }
        }
    }

    /// A record as a cache row: its fields and custom fields, by id; deals
    /// get `won` and `is_closed` from `status`.
    fn row(&self, kind: Kind, what: &str, r: &Value) -> Result<(Key, Value), SourceError> {
        let Some(id) = r["id"].as_u64() else {
            return Err(SourceError::new(
                format!("Pipedrive: {what} returned a record without a numeric id"),
                "check base_url: it must be Pipedrive's API (https://api.pipedrive.com)",
            ));
        };
        // Fields and custom fields as they came, but a monetary custom field
        // (`{value, currency}`) is its value, with its currency beside it
        // as `<key>_currency`; any other object or list stays as it is (the
        // file source says it cannot read it, if a metric uses it).
        let mut row = Map::new();
        if let Some(fields) = r.as_object() {
            for (k, v) in fields {
                if k != "custom_fields" {
                    row.insert(k.clone(), v.clone());
                }
            }
        }
        if let Some(custom) = r["custom_fields"].as_object() {
            for (k, v) in custom {
                match v.as_object() {
                    Some(m) if m.contains_key("value") => {
                        row.insert(k.clone(), m["value"].clone());
                        if let Some(c) = m.get("currency") {
                            row.insert(format!("{k}_currency"), c.clone());
                        }
                    }
                    _ => {
                        row.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        row.insert("id".into(), json!(id));
        if kind == Kind::Deals {
            let status = r["status"].as_str().unwrap_or("");
            row.insert("won".into(), json!(status == "won"));
            row.insert(
                "is_closed".into(),
                json!(status == "won" || status == "lost"),
            );
        }
        Ok((Key(id.to_string()), Value::Object(row)))
    }
}

impl Api for Pipedrive {
    fn account(&self) -> &Account {
        &self.account
    }

    fn object(&self, kind: Kind) -> &'static str {
        object(kind)
    }

    fn id_field(&self) -> &'static str {
        "id"
    }

    /// The company id, from the token's user.
    fn account_id(&self, http: &mut Http) -> Result<String, SourceError> {
        let what = "the user of the token";
        let url = format!("{}/v1/users/me", self.account.base);
        let answer = http.send(
            what,
            |c, token| self.authorize(c.get(&url), token),
            |_| true,
        )?;
        if answer.status != 200 {
            return Err(self.refused(what, &answer));
        }
        let me: Value = serde_json::from_slice(&answer.body).map_err(|e| {
            SourceError::new(
                format!("Pipedrive: the answer for {what} is not JSON ({e})"),
                "run again; if it persists, Pipedrive's API is answering wrongly",
            )
        })?;
        match &me["data"]["company_id"] {
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(SourceError::new(
                format!("Pipedrive: {what} names no company_id"),
                "check base_url: it must be Pipedrive's API (https://api.pipedrive.com)",
            )),
        }
    }

    fn client(&self, auth: Auth) -> Result<Http, SourceError> {
        // Until the headers say: 20 per 2 seconds, under every plan's burst.
        Http::new(
            "Pipedrive",
            self.account.timeout,
            Limiter::new(20, Duration::from_secs(2)),
            rate,
            auth,
        )
    }

    fn everything(
        &self,
        http: &mut Http,
        kind: Kind,
        _fields: &[String],
        out: &mut Writer,
    ) -> Result<(), SourceError> {
        let object = object(kind);
        let what = format!("the {object} list");
        let mut bar = self.account.bar(object, None);
        // Deleted deals are listed only when asked for.
        self.list(http, kind, &what, &[], |records| {
            for r in records {
                let (id, row) = self.row(kind, &what, r)?;
                out.push(&id, &row)?;
            }
            bar.advance(records.len() as u64);
            Ok(())
        })?;
        bar.finish();
        Ok(())
    }

    fn changed(
        &self,
        http: &mut Http,
        kind: Kind,
        _fields: &[String],
        since: i64,
    ) -> Result<BTreeMap<Key, Value>, SourceError> {
        let what = format!("the changed {} list", object(kind));
        let mut changed = BTreeMap::new();
        self.list(
            http,
            kind,
            &what,
            &[("updated_since", rfc3339(since))],
            |records| {
                for r in records {
                    let (id, row) = self.row(kind, &what, r)?;
                    changed.insert(id, row);
                }
                Ok(())
            },
        )?;
        Ok(changed)
    }

    fn removed(
        &self,
        http: &mut Http,
        kind: Kind,
        since: i64,
    ) -> Result<BTreeSet<Key>, SourceError> {
        let mut ids = BTreeSet::new();
        if kind == Kind::Deals {
            let what = "the deleted deals list";
            let query = [
                ("status", "deleted".to_string()),
                ("updated_since", rfc3339(since)),
            ];
            self.list(http, kind, what, &query, |records| {
                for r in records {
                    ids.insert(self.row(kind, what, r)?.0);
                }
                Ok(())
            })?;
        }
        Ok(ids)
    }
}
