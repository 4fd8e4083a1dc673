//! The `hubspot` source: contacts and deals from HubSpot's CRM v3 API.
//!
//! Records are fetched with the properties the metrics need (HubSpot's
//! internal names by default, as in the `hubspot` preset: `createdate`,
//! `hs_lifecyclestage_<stage>_date`, `hs_first_outreach_date`,
//! `hs_is_closed_won`, ...; `columns` and `deal_columns` map others), kept in
//! the cache (`.revalign/cache/<source>/`, see [`super::cache`]) and read
//! from there by the file source, so values are read, typed and checked
//! exactly as in an export.
//!
//! The first fetch, `--refresh`, a cache that cannot be trusted and a cache
//! last fetched whole over [`FULL_EVERY_DAYS`] days ago read every record
//! from the objects list (`GET /crm/v3/objects/{type}`, 100 a page, paged by
//! `paging.next.after`, under the account's 10-second budget). Otherwise only
//! the records modified since the last sync are fetched, from the search API
//! (`lastmodifieddate` for contacts, `hs_lastmodifieddate` for deals, from
//! [`OVERLAP_MINUTES`] minutes before the last sync began), paged by keyset:
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

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};

use super::cache::{self, Expect, Key, Meta, State};
use super::file::{FileSource, Kind, preset_columns};
use super::http::{Answer, Http, Limiter, Rate, header_u32};
use super::{DataSource, DealSink, Fetch, LeadSink, SourceError, Streamed};
use crate::model::manifest::{Preset, Source, SourceKind};
use crate::model::record::Need;

/// The API's base when the manifest names none.
pub const BASE: &str = "https://api.hubapi.com";
/// Results per search page (the API's maximum).
const SEARCH_PAGE: usize = 200;
/// Results per list page (the API's maximum).
const LIST_PAGE: usize = 100;
/// The search API's own limit, 5 requests a second, whatever the account's
/// budget.
const SEARCH_GAP: Duration = Duration::from_millis(200);
/// A cache last fetched whole longer ago is fetched whole again: the
/// safety net for records deleted without passing through the archive.
pub const FULL_EVERY_DAYS: i64 = 7;
/// Changes are fetched from this long before the last sync began: records
/// HubSpot's search index had not yet seen ("a few moments" after a write).
/// The sync's start is read by the earlier of this machine's clock and
/// HubSpot's (its `Date` header), so a clock running ahead loses nothing.
pub const OVERLAP_MINUTES: i64 = 5;

/// When a sync began: by this machine's clock or HubSpot's, whichever is
/// earlier (HubSpot's `Date` has whole seconds).
fn began(local: jiff::Timestamp, http: &Http) -> String {
    let server = http
        .server_time
        .and_then(|t| t.checked_sub(jiff::SignedDuration::from_secs(1)).ok());
    server.map_or(local, |s| s.min(local)).to_string()
}

/// The API's name for a kind of record.
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
pub struct HubSpotSource {
    id: String,
    token_env: String,
    base: String,
    columns: std::collections::BTreeMap<String, String>,
    deal_columns: std::collections::BTreeMap<String, String>,
    time_zone: Option<String>,
    org_tz: String,
    timeout: Duration,
    cache: PathBuf,
    fetch: Fetch,
    /// The file source over the cache once fetched, or why it could not be:
    /// fetched once per check, a failure reported for leads and deals alike.
    fetched: Mutex<Option<Result<FileSource, SourceError>>>,
}

impl std::fmt::Debug for HubSpotSource {
    // The token stays out: only the variable that holds it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubSpotSource")
            .field("id", &self.id)
            .field("token_env", &self.token_env)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl HubSpotSource {
    /// Reads the declaration; fetches when the records are first needed.
    pub fn new(
        id: &str,
        s: &Source,
        dir: &Path,
        org_tz: &str,
        fetch: Fetch,
    ) -> Result<HubSpotSource, SourceError> {
        debug_assert_eq!(s.kind, SourceKind::Hubspot);
        let Some(token_env) = s.token_env.clone() else {
            return Err(SourceError::new(
                format!("source `{id}` (hubspot) names no token"),
                format!(
                    "set [source.{id}] token_env = \"HUBSPOT_TOKEN\" and export HUBSPOT_TOKEN with a private app's token"
                ),
            ));
        };
        let timeout = match s.timeout.as_deref() {
            None => Duration::from_secs(30),
            Some(t) => match t.parse::<crate::model::duration::Duration>() {
                Ok(d) if d.as_secs() >= 1 => Duration::from_secs(d.as_secs()),
                _ => {
                    return Err(SourceError::new(
                        format!(
                            "source `{id}`: timeout `{t}` is not a duration of a second or more"
                        ),
                        "write it as `30s`, `2m`",
                    ));
                }
            },
        };
        Ok(HubSpotSource {
            id: id.to_string(),
            token_env,
            base: super::http::base_url(id, s.base_url.as_deref(), BASE)?,
            columns: s.columns.clone(),
            deal_columns: s.deal_columns.clone(),
            time_zone: s.time_zone.clone(),
            org_tz: org_tz.to_string(),
            timeout,
            cache: dir.join(".revalign").join("cache").join(id),
            fetch,
            fetched: Mutex::new(None),
        })
    }

    /// The property holding a field: the mapping, else the preset's internal name.
    fn property(&self, kind: Kind, field: &str, stage: bool) -> String {
        let map = match kind {
            Kind::Leads => &self.columns,
            Kind::Deals => &self.deal_columns,
        };
        map.get(field).cloned().unwrap_or_else(|| {
            preset_columns(Preset::Hubspot, kind, field, stage)
                .pop()
                .unwrap_or_else(|| field.to_string())
        })
    }

    /// The properties a kind of record is fetched with.
    fn properties(&self, kind: Kind, need: &Need) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |p: String| {
            if !out.contains(&p) {
                out.push(p);
            }
        };
        match kind {
            Kind::Leads => {
                for f in ["id", "created", "first_touch"] {
                    add(self.property(kind, f, false));
                }
                for s in &need.stages {
                    add(self.property(kind, s, true));
                }
                for (f, _) in &need.lead_fields.list {
                    add(self.property(kind, f, false));
                }
            }
            Kind::Deals => {
                for f in ["id", "created", "closed", "is_closed", "won", "currency"] {
                    add(self.property(kind, f, false));
                }
                for (f, _) in &need.deal_fields.list {
                    add(self.property(kind, f, false));
                }
            }
        }
        out
    }

    fn token(&self) -> Result<String, SourceError> {
        std::env::var(&self.token_env)
            .ok()
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| {
                SourceError::new(
                    format!("source `{}`: the environment variable {} is not set", self.id, self.token_env),
                    format!(
                        "export {} with a HubSpot private app token (scopes crm.objects.contacts.read, crm.objects.deals.read)",
                        self.token_env
                    ),
                )
            })
    }

    /// An answer that is not a page, explained.
    fn refused(&self, what: &str, a: &Answer) -> SourceError {
        let body: Value = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
        let text = |k: &str| body[k].as_str().unwrap_or("").to_string();
        match a.status {
            401 => SourceError::new(
                format!(
                    "HubSpot refused the token in {} (401 {})",
                    self.token_env,
                    text("category")
                ),
                format!(
                    "create a private app token (Settings > Integrations > Private apps) and export it as {}",
                    self.token_env
                ),
            ),
            403 => SourceError::new(
                format!(
                    "HubSpot: the token in {} may not read {what} (403 {})",
                    self.token_env,
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
        build: impl Fn(&reqwest::blocking::Client) -> reqwest::blocking::RequestBuilder,
    ) -> Result<Value, SourceError> {
        let answer = http.send(what, build, |a| {
            // A daily quota does not come back in seconds.
            !String::from_utf8_lossy(&a.body).contains("\"DAILY\"")
        })?;
        if answer.status != 200 {
            return Err(self.refused(what, &answer));
        }
        let page: Value = serde_json::from_slice(&answer.body).map_err(|e| {
            SourceError::new(
                format!("HubSpot: a page of {what} is not JSON ({e})"),
                "run again; if it persists, HubSpot's API is answering wrongly",
            )
        })?;
        if !page["results"].is_array() {
            return Err(SourceError::new(
                format!("HubSpot: a page of {what} has no `results`"),
                "check base_url: it must be HubSpot's API (https://api.hubapi.com)",
            ));
        }
        Ok(page)
    }

    /// A record as a cache row: its properties, the id under the id field.
    fn row(&self, kind: Kind, what: &str, r: &Value) -> Result<(Key, Value), SourceError> {
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
        row.insert(self.property(kind, "id", false), json!(id));
        if let Some(props) = r["properties"].as_object() {
            for (k, v) in props {
                if k != "hs_object_id" {
                    row.insert(k.clone(), v.clone());
                }
            }
        }
        Ok((Key(id.to_string()), Value::Object(row)))
    }

    /// Brings the cache of one kind of record up to date; returns its file.
    fn sync(
        &self,
        http: &mut Http,
        token: &str,
        kind: Kind,
        need: &Need,
    ) -> Result<PathBuf, SourceError> {
        let object = object(kind);
        let fields = self.properties(kind, need);
        let cache = cache::Object::new(&self.cache, object, &self.property(kind, "id", false));
        let expect = Expect {
            vendor: "hubspot",
            origin: &self.base,
            source: &self.id,
            fields: &fields,
        };
        let started = jiff::Timestamp::now();
        http.server_time = None;
        let state = if self.fetch.refresh {
            State::Rebuild("--refresh was given".into())
        } else {
            cache.state(&expect)
        };
        let stale = |m: &Meta| {
            m.full_at.parse::<jiff::Timestamp>().map_or(true, |t| {
                started.as_second() - t.as_second() > FULL_EVERY_DAYS * 86_400
            })
        };
        let fresh = Meta {
            format: cache::FORMAT,
            vendor: "hubspot".into(),
            origin: self.base.clone(),
            source: self.id.clone(),
            object: object.into(),
            fields: fields.clone(),
            synced_at: started.to_string(),
            full_at: started.to_string(),
            records: 0,
            bytes: 0,
            sha256: String::new(),
        };
        match state {
            State::Usable(old) if !stale(&old) => {
                let since = old
                    .synced_at
                    .parse::<jiff::Timestamp>()
                    .map(|t| t.as_millisecond() - OVERLAP_MINUTES * 60_000)
                    .unwrap_or(0);
                let changed = self.changed(http, token, kind, &fields, since)?;
                let archived = self.archived(http, token, kind)?;
                let meta = Meta {
                    full_at: old.full_at.clone(),
                    ..fresh
                };
                let n = changed.len();
                let meta = Meta {
                    synced_at: began(started, http),
                    ..meta
                };
                let meta = cache.merge(changed, &archived, meta, &old)?;
                self.fetch.progress.line(&format!(
                    "{}: {object}: {n} changed since {}, {} archived; {} cached",
                    self.id, old.synced_at, archived.len(), meta.records
                ));
            }
            state => {
                let why = match state {
                    State::Empty => None,
                    State::Usable(_) => Some(format!(
                        "it was last fetched whole over {FULL_EVERY_DAYS} days ago"
                    )),
                    State::Rebuild(why) => Some(why),
                };
                if let Some(why) = why {
                    self.fetch.progress.line(&format!(
                        "{}: {object}: fetching every record again: {why}",
                        self.id
                    ));
                }
                self.everything(http, token, kind, &cache, fresh, started)?;
            }
        }
        Ok(cache.data)
    }

    /// Every record of a kind, from the objects list, written to the cache.
    fn everything(
        &self,
        http: &mut Http,
        token: &str,
        kind: Kind,
        cache: &cache::Object,
        meta: Meta,
        started: jiff::Timestamp,
    ) -> Result<Meta, SourceError> {
        let object = object(kind);
        let what = format!("the {object} list");
        let total = self.total(http, token, kind)?;
        let url = format!("{}/crm/v3/objects/{object}", self.base);
        let properties = meta.fields.join(",");
        let mut out = cache.writer()?;
        let mut bar = self
            .fetch
            .progress
            .start(&format!("{}: {object}", self.id), total);
        let mut after: Option<String> = None;
        let mut cursors = std::collections::HashSet::new();
        loop {
            let page_url = list_url(&url, false, &properties, after.as_deref())?;
            let page = self.page(http, &what, |c| c.get(page_url.clone()).bearer_auth(token))?;
            let results = page["results"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            for r in results {
                let (id, row) = self.row(kind, &what, r)?;
                out.push(&id, &row)?;
            }
            bar.advance(results.len() as u64);
            let next = page["paging"]["next"]["after"].as_str();
            match next {
                None => break,
                Some(_) if results.is_empty() => {
                    return Err(SourceError::new(
                        format!("HubSpot: {what} returned an empty page that says more records follow"),
                        "run again; a page that skips cannot be trusted",
                    ));
                }
                Some(n) if !cursors.insert(n.to_string()) => {
                    return Err(SourceError::new(
                        format!("HubSpot: {what} repeated the cursor `{n}`"),
                        "run again; a listing that goes back cannot be trusted",
                    ));
                }
                Some(n) => after = Some(n.to_string()),
            }
        }
        bar.finish();
        // A listing that stopped early looks like its end: fewer records
        // than counted is checked against a new count (records deleted
        // meanwhile lower it).
        let fetched = out.records();
        if total.is_some_and(|t| fetched < t) {
            let now = self.total(http, token, kind)?.unwrap_or(0);
            if fetched < now {
                return Err(SourceError::new(
                    format!("HubSpot: {what} ended with {fetched} of the {now} records it holds"),
                    "run again; a listing that stops short cannot be trusted",
                ));
            }
        }
        let began = began(started, http);
        out.finish(Meta {
            synced_at: began.clone(),
            full_at: began,
            ..meta
        })
    }

    /// How many records of a kind there are (for progress), from a search
    /// that asks for one.
    fn total(&self, http: &mut Http, token: &str, kind: Kind) -> Result<Option<u64>, SourceError> {
        let object = object(kind);
        let url = format!("{}/crm/v3/objects/{object}/search", self.base);
        let body = serde_json::to_vec(&json!({"limit": 1, "properties": ["hs_object_id"]}))
            .unwrap_or_default();
        http.limiter.set_floor(SEARCH_GAP);
        let page = self.page(http, &format!("the {object} count"), |c| {
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
    fn changed(
        &self,
        http: &mut Http,
        token: &str,
        kind: Kind,
        fields: &[String],
        since: i64,
    ) -> Result<BTreeMap<Key, Value>, SourceError> {
        let object = object(kind);
        let what = format!("the {object} search");
        let url = format!("{}/crm/v3/objects/{object}/search", self.base);
        let modified = match kind {
            Kind::Leads => "lastmodifieddate",
            Kind::Deals => "hs_lastmodifieddate",
        };
        http.limiter.set_floor(SEARCH_GAP);
        let mut changed = BTreeMap::new();
        let mut last: Option<u64> = None;
        let mut bar = self.fetch.progress.start(
            &format!("{}: {object} changed", self.id),
            None,
        );
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
            let page = self.page(http, &what, |c| {
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
                let (key, row) = self.row(kind, &what, r)?;
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

    /// The ids of archived (deleted or merged) records of a kind.
    fn archived(&self, http: &mut Http, token: &str, kind: Kind) -> Result<BTreeSet<Key>, SourceError> {
        let object = object(kind);
        let what = format!("the archived {object} list");
        let url = format!("{}/crm/v3/objects/{object}", self.base);
        let mut ids = BTreeSet::new();
        let mut after: Option<String> = None;
        let mut cursors = std::collections::HashSet::new();
        loop {
            let page_url = list_url(&url, true, "hs_object_id", after.as_deref())?;
            let page = self.page(http, &what, |c| c.get(page_url.clone()).bearer_auth(token))?;
            let results = page["results"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            for r in results {
                ids.insert(self.row(kind, &what, r)?.0);
            }
            match page["paging"]["next"]["after"].as_str() {
                None => break,
                Some(_) if results.is_empty() => {
                    return Err(SourceError::new(
                        format!("HubSpot: {what} returned an empty page that says more records follow"),
                        "run again; a page that skips cannot be trusted",
                    ));
                }
                Some(n) if !cursors.insert(n.to_string()) => {
                    return Err(SourceError::new(
                        format!("HubSpot: {what} repeated the cursor `{n}`"),
                        "run again; a listing that goes back cannot be trusted",
                    ));
                }
                Some(n) => after = Some(n.to_string()),
            }
        }
        Ok(ids)
    }

    /// Brings both kinds (each only if needed) up to date and opens the
    /// cache as files.
    fn fetch_all(&self, need: &Need) -> Result<FileSource, SourceError> {
        let token = self.token()?;
        // The account's budget until the headers say: 100 per 10 seconds
        // (Free and Starter; Professional and Enterprise allow 190).
        let mut http = Http::new(
            "HubSpot",
            self.timeout,
            Limiter::new(100, Duration::from_secs(10)),
            rate,
        )?;
        let mut source = Source::empty(SourceKind::Ndjson);
        source.preset = Some(Preset::Hubspot);
        source.columns = self.columns.clone();
        source.deal_columns = self.deal_columns.clone();
        source.time_zone = self.time_zone.clone();
        if need.leads {
            let leads = self.sync(&mut http, &token, Kind::Leads, need)?;
            source.leads = Some(leads.display().to_string());
        }
        if need.deals {
            let deals = self.sync(&mut http, &token, Kind::Deals, need)?;
            source.deals = Some(deals.display().to_string());
        }
        FileSource::new(&self.id, &source, Path::new(""), &self.org_tz)
    }

    fn with<T>(&self, need: &Need, read: impl FnOnce(&FileSource) -> T) -> Result<T, SourceError> {
        let mut fetched = self
            .fetched
            .lock()
            .map_err(|_| SourceError::new("the HubSpot fetch stopped half-way", "run again"))?;
        let files = fetched.get_or_insert_with(|| self.fetch_all(need));
        match files {
            Ok(f) => Ok(read(f)),
            Err(e) => Err(e.clone()),
        }
    }
}

impl DataSource for HubSpotSource {
    fn leads(&self, need: &Need, sinks: &mut [&mut LeadSink<'_>]) -> Result<Streamed, SourceError> {
        self.with(need, |f| f.leads(need, sinks))?
    }

    fn deals(&self, need: &Need, sinks: &mut [&mut DealSink<'_>]) -> Result<Streamed, SourceError> {
        self.with(need, |f| f.deals(need, sinks))?
    }
}
