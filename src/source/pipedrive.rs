//! The `pipedrive` source: persons (as leads) and deals from Pipedrive's API
//! v2 (`GET /api/v2/persons`, `GET /api/v2/deals`), or, with `leads =
//! "leads"`, the Leads Inbox from API v1 (`GET /v1/leads`).
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
//! API, nor counted in a request: the weekly full fetch drops them.
//!
//! The Leads Inbox (API v1) pages by offset: `start`, `limit` (500),
//! `additional_data.pagination.more_items_in_collection` and `next_start`,
//! sorted by `add_time, id` (`update_time DESC, id` for the changes, read
//! until a lead older than the sync). Offsets shift when a lead before the
//! page is deleted meanwhile, which would skip one: so each page after the
//! first starts at the previous page's last lead, and when that lead is not
//! there the listing starts again (three times at most, then an error).
//! Leads have UUID ids and custom fields as top-level keys; `value`
//! (`{amount, currency}`) becomes `value` and `currency`; a v1 datetime
//! written without a zone (`2022-01-04 10:44:11`) is UTC and cached as
//! `2022-01-04T10:44:11Z`. Deleted leads are not listed: the weekly full
//! fetch drops them.
//!
//! Limits: a burst budget per 2-second window, in `x-ratelimit-limit`,
//! `-remaining`, `-reset`; 429 `{success: false, error}` retried after
//! `Retry-After` or a backoff.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};

use super::api::{Account, Api, Cached, Vendor, fresh_cursor, whole_seconds};
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
    lead_objects: &["persons", "leads"],
};
/// Records per page (the API's maximum).
const PAGE: usize = 500;
/// How many times a leads listing that shifted under its pages starts again.
const RESTARTS: usize = 3;

/// The object Pipedrive's leads are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leads {
    /// Persons, API v2 (the default).
    Persons,
    /// The Leads Inbox, API v1.
    Inbox,
}

/// The `pipedrive` source of `[source.<id>]`.
pub fn open(
    id: &str,
    s: &Source,
    dir: &Path,
    org_tz: &str,
    fetch: Fetch,
) -> Result<Cached<Pipedrive>, SourceError> {
    let account = Account::new(id, s, dir, org_tz, fetch, PIPEDRIVE)?;
    let leads = if account.lead_object == "leads" {
        Leads::Inbox
    } else {
        Leads::Persons
    };
    Ok(Cached::new(Pipedrive { account, leads }))
}

/// Pipedrive's burst budget: `x-ratelimit-limit` requests per 2 seconds.
fn rate(headers: &HeaderMap) -> Rate {
    Rate {
        max: header_u32(headers, "x-ratelimit-limit"),
        interval: Some(Duration::from_secs(2)),
        remaining: header_u32(headers, "x-ratelimit-remaining"),
    }
}

/// A v1 datetime without a zone (`2022-01-04 10:44:11`, UTC) in RFC 3339;
/// anything else as it is.
fn v1_time(v: Value) -> Value {
    match v.as_str() {
        Some(t)
            if t.len() == 19
                && t.as_bytes()[10] == b' '
                && jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", t).is_ok() =>
        {
            json!(format!("{}T{}Z", &t[..10], &t[11..]))
        }
        _ => v,
    }
}

/// A time in epoch milliseconds (RFC 3339, or v1 without a zone).
fn millis(v: &Value) -> Option<i64> {
    v1_time(v.clone())
        .as_str()?
        .parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

/// Whether a listing goes on.
enum Flow {
    More,
    Done,
}

/// A Pipedrive company account.
#[derive(Debug)]
pub struct Pipedrive {
    account: Account,
    leads: Leads,
}

impl Pipedrive {
    /// The API's name for a kind of record.
    fn object(&self, kind: Kind) -> &'static str {
        match (kind, self.leads) {
            (Kind::Leads, Leads::Persons) => "persons",
            (Kind::Leads, Leads::Inbox) => "leads",
            (Kind::Deals, _) => "deals",
        }
    }

    /// Whether a kind is read from the Leads Inbox (API v1).
    fn inbox(&self, kind: Kind) -> bool {
        kind == Kind::Leads && self.leads == Leads::Inbox
    }

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

    /// One page of a listing: `success` and a `data` list, or an error.
    fn page(
        &self,
        http: &mut Http,
        base: &str,
        q: &[(&str, String)],
        what: &str,
    ) -> Result<Value, SourceError> {
        let url = reqwest::Url::parse_with_params(base, q).map_err(|e| {
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
        if page["success"].as_bool() != Some(true) || !page["data"].is_array() {
            return Err(SourceError::new(
                format!("Pipedrive: a page of {what} is not a successful list"),
                "check base_url: it must be Pipedrive's API (https://api.pipedrive.com)",
            ));
        }
        Ok(page)
    }

    /// Walks the Leads Inbox (API v1) by offset in the order `sort`,
    /// handing each page's leads not yet seen to `each`, which may end the
    /// walk. Each page after the first starts at the previous page's last
    /// lead: a page that begins with a lead not seen yet means the listing
    /// shifted up (a lead before it was deleted or moved) and may have
    /// skipped one, so it starts again, [`RESTARTS`] times at most. Leads
    /// handed over before a restart are handed over again.
    fn walk_inbox(
        &self,
        http: &mut Http,
        what: &str,
        sort: &str,
        mut each: impl FnMut(&[Value]) -> Result<Flow, SourceError>,
    ) -> Result<(), SourceError> {
        let base = format!("{}/v1/leads", self.account.base);
        let mut restarts = 0;
        'listing: loop {
            let mut start = 0usize;
            let mut seen: HashSet<String> = HashSet::new();
            loop {
                let q = [
                    ("limit", PAGE.to_string()),
                    ("start", start.to_string()),
                    ("archived_status", "all".to_string()),
                    ("sort", sort.to_string()),
                ];
                let page = self.page(http, &base, &q, what)?;
                let records = page["data"].as_array().map_or(&[][..], Vec::as_slice);
                let pagination = &page["additional_data"]["pagination"];
                let Some(more) = pagination["more_items_in_collection"].as_bool() else {
                    return Err(SourceError::new(
                        format!(
                            "Pipedrive: a page of {what} says nothing of more_items_in_collection"
                        ),
                        "check base_url: it must be Pipedrive's API (https://api.pipedrive.com)",
                    ));
                };
                let mut fresh = Vec::with_capacity(records.len());
                for (at, r) in records.iter().enumerate() {
                    let Some(id) = r["id"].as_str() else {
                        return Err(SourceError::new(
                            format!("Pipedrive: {what} returned a lead without an id"),
                            "check base_url: it must be Pipedrive's API (https://api.pipedrive.com)",
                        ));
                    };
                    if seen.contains(id) {
                        continue;
                    }
                    if at == 0 && start > 0 {
                        restarts += 1;
                        if restarts > RESTARTS {
                            return Err(SourceError::new(
                                format!(
                                    "Pipedrive: {what} shifted under its pages {} times (leads deleted while listed)",
                                    RESTARTS + 1
                                ),
                                "run again when fewer leads are being deleted",
                            ));
                        }
                        self.account.progress_line(&format!(
                            "{}: {what} shifted while listed (a lead deleted?): listing again",
                            self.account.id
                        ));
                        continue 'listing;
                    }
                    seen.insert(id.to_string());
                    fresh.push(r.clone());
                }
                if let Flow::Done = each(&fresh)? {
                    return Ok(());
                }
                if !more {
                    return Ok(());
                }
                if fresh.is_empty() {
                    return Err(SourceError::new(
                        format!(
                            "Pipedrive: {what} returned a page of no new leads that says more follow"
                        ),
                        "run again; a page that skips cannot be trusted",
                    ));
                }
                let next = start + records.len();
                if pagination["next_start"].as_u64() != Some(next as u64) {
                    return Err(SourceError::new(
                        format!(
                            "Pipedrive: {what} names next_start {} after {} leads from {start}",
                            pagination["next_start"],
                            records.len()
                        ),
                        "run again; a listing that skips or goes back cannot be trusted",
                    ));
                }
                start = next - 1;
            }
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
        let base = format!("{}/api/v2/{}", self.account.base, self.object(kind));
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
            let page = self.page(http, &base, &q, what)?;
            let records = page["data"].as_array().map_or(&[][..], Vec::as_slice);
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
        if self.inbox(kind) {
            return lead_row(what, r);
        }
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

/// A Leads Inbox lead as a cache row: its fields (custom ones are
/// top-level in v1) by its UUID, `value` as `value` and `currency`, times
/// without a zone as UTC.
fn lead_row(what: &str, r: &Value) -> Result<(Key, Value), SourceError> {
    let (Some(id), Some(fields)) = (r["id"].as_str(), r.as_object()) else {
        return Err(SourceError::new(
            format!("Pipedrive: {what} returned a lead without an id"),
            "check base_url: it must be Pipedrive's API (https://api.pipedrive.com)",
        ));
    };
    let mut row = Map::new();
    for (k, v) in fields {
        if k == "value" && v.is_object() {
            row.insert("value".into(), v["amount"].clone());
            row.insert("currency".into(), v["currency"].clone());
        } else {
            row.insert(k.clone(), v1_time(v.clone()));
        }
    }
    Ok((Key(id.to_string()), Value::Object(row)))
}

impl Api for Pipedrive {
    fn account(&self) -> &Account {
        &self.account
    }

    fn object(&self, kind: Kind) -> &'static str {
        Pipedrive::object(self, kind)
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
        let object = self.object(kind);
        let what = format!("the {object} list");
        let mut bar = self.account.bar(object, None);
        if self.inbox(kind) {
            // Oldest first; a restart hands leads over again: kept by id.
            let mut leads = BTreeMap::new();
            self.walk_inbox(http, &what, "add_time ASC,id ASC", |records| {
                for r in records {
                    let (id, row) = lead_row(&what, r)?;
                    leads.insert(id, row);
                }
                bar.advance(records.len() as u64);
                Ok(Flow::More)
            })?;
            for (id, row) in &leads {
                out.push(id, row)?;
            }
            bar.finish();
            return Ok(());
        }
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
        let what = format!("the changed {} list", self.object(kind));
        let mut changed = BTreeMap::new();
        if self.inbox(kind) {
            // Latest first, until a lead last updated before `since`.
            self.walk_inbox(http, &what, "update_time DESC,id ASC", |records| {
                for r in records {
                    let Some(at) = millis(&r["update_time"]).or_else(|| millis(&r["add_time"]))
                    else {
                        return Err(SourceError::new(
                            format!("Pipedrive: {what} returned a lead with no update_time or add_time"),
                            "run again with --refresh; if it persists, Pipedrive's API is answering wrongly",
                        ));
                    };
                    if at < since {
                        return Ok(Flow::Done);
                    }
                    let (id, row) = lead_row(&what, r)?;
                    changed.insert(id, row);
                }
                Ok(Flow::More)
            })?;
            return Ok(changed);
        }
        self.list(
            http,
            kind,
            &what,
            &[("updated_since", whole_seconds(since))],
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
                ("updated_since", whole_seconds(since)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_times_without_a_zone_are_utc() {
        assert_eq!(
            v1_time(json!("2022-01-04 10:44:11")),
            json!("2022-01-04T10:44:11Z")
        );
        assert_eq!(
            millis(&json!("2022-01-04 10:44:11")),
            Some(1_641_293_051_000)
        );
        assert_eq!(
            millis(&json!("2022-01-04T10:44:11.500Z")),
            Some(1_641_293_051_500)
        );
        // Dates, times of day, text that only looks like a time: as they are.
        for v in [
            "2022-01-04",
            "10:44:11",
            "2022-01-04 25:44:11",
            "call 2022-01-04 10:4",
        ] {
            assert_eq!(v1_time(json!(v)), json!(v));
        }
        assert_eq!(v1_time(json!(7)), json!(7));
    }

    #[test]
    fn a_lead_row_is_keyed_by_its_uuid_with_value_and_currency() {
        let lead = json!({
            "id": "adf21080-0e10-11eb-879b-05d71fb426ec",
            "value": {"amount": 1200, "currency": "EUR"},
            "add_time": "2020-10-14 11:30:36",
            "update_time": "2020-10-14T11:30:36.551Z",
            "a1b2": "2020-10-20",
        });
        let (id, row) = lead_row("the leads list", &lead).expect("row");
        assert_eq!(id.0, "adf21080-0e10-11eb-879b-05d71fb426ec");
        assert_eq!(row["value"], json!(1200));
        assert_eq!(row["currency"], json!("EUR"));
        assert_eq!(row["add_time"], json!("2020-10-14T11:30:36Z"));
        assert_eq!(row["update_time"], json!("2020-10-14T11:30:36.551Z"));
        assert_eq!(row["a1b2"], json!("2020-10-20"));
        assert!(lead_row("the leads list", &json!({"id": 5})).is_err());
    }
}
