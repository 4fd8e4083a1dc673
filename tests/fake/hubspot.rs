//! A stand-in for HubSpot's CRM v3 API on loopback, speaking its documented
//! shapes, for the tests and the fetch benchmark:
//! - the objects list, `GET /crm/v3/objects/{contacts|deals}` (`limit` up to
//!   100, `after` cursor, `properties`, `archived`), records in id order,
//!   `paging.next.after`;
//! - the search, `POST /crm/v3/objects/{type}/search` (filterGroups with
//!   `hs_object_id GT` and `lastmodifieddate`/`hs_lastmodifieddate GTE`
//!   epoch milliseconds, one sort, `limit` up to 200, `after` offset, `total`),
//!   400 past the 10,000-result cap;
//! - the account's budget in the `X-HubSpot-RateLimit-*` headers, enforced
//!   per second with 429 `TEN_SECONDLY_ROLLING`, and the search's own 5 a
//!   second, enforced the same way;
//! - error bodies (`category`, `policyName`), a refused token (401);
//! - the account details (`GET /account-info/v3/details`, `portalId`).
//!
//! Faults are queued and met one per served request: 429 with and without
//! `Retry-After`, 503, answers slower than the client's timeout, bodies cut
//! off, malformed JSON, a page repeated with its cursor, an empty page that
//! announces more, a last page that ends short, the DAILY quota.
//!
//! Outside HubSpot's API, for the benchmark: `GET /_fake/stats` (requests
//! served and refused), `POST /_fake/reset` (forgets the requests served),
//! `POST /_fake/touch?share=0.01` (modifies that share of the contacts now)
//! and `POST /_fake/age?minutes=60` (as if every change so far had happened
//! that much earlier).
//!
//! Its includer declares `tests/fake/http.rs` as the module `http` beside it.
#![allow(dead_code)] // the tests and the benchmark each take a subset

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

// The includer declares `http` (tests/fake/http.rs) beside this module.
use super::http;

/// The token the stand-in accepts.
pub const TOKEN: &str = "pat-na1-fake-0000-test-token";

/// A fault met by one served request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// An ordinary answer (spaces out the faults between requests).
    Pass,
    TooMany(Option<u32>),
    Daily,
    Unavailable,
    Slow(u64),
    CutOff,
    Malformed,
    /// The previous page again, cursor and all.
    RepeatPage,
    /// No records, yet a next page announced.
    EmptyWithNext,
    /// A page without its `paging`, though more records remain.
    ShortEnd,
}

/// A record: id, properties (all strings, as HubSpot's), when it was last
/// modified (epoch milliseconds), whether it is archived.
#[derive(Debug, Clone)]
pub struct Rec {
    pub id: u64,
    pub props: Map<String, Value>,
    pub modified: i64,
    pub archived: bool,
}

/// An OAuth app: its client, the refresh token it was given, how long its
/// access tokens live, and how long the token endpoint says they live.
#[derive(Debug, Clone)]
pub struct App {
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    pub lives: Duration,
    pub says: Duration,
}

/// A request as served.
#[derive(Debug, Clone)]
pub struct Served {
    pub at: Instant,
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query, decoded.
    pub query: Vec<(String, String)>,
    pub body: Value,
    pub status: u16,
    pub fault: Option<Fault>,
}

/// The account.
#[derive(Debug)]
pub struct Hub {
    pub contacts: Vec<Rec>,
    pub deals: Vec<Rec>,
    pub faults: VecDeque<Fault>,
    /// Requests the account allows per second (the headers say ten times
    /// that per 10 seconds); 429 beyond.
    pub per_second: usize,
    /// Search requests allowed per second (HubSpot's 5); 429 beyond.
    pub search_per_second: usize,
    recent: VecDeque<Instant>,
    recent_search: VecDeque<Instant>,
    /// Requests over either limit, refused.
    pub limited: usize,
    /// Every request that reached the API (refused ones too).
    pub served: Vec<Served>,
    previous: Option<Value>,
    /// An OAuth app installed in the account: its access tokens come from
    /// `POST /oauth/v1/token`.
    pub app: Option<App>,
    /// Access tokens issued: the token, when it really expires.
    pub issued: Vec<(String, Instant)>,
    /// The portal id in the account details.
    pub portal: u64,
    /// How far the account's clock is from this machine's (milliseconds):
    /// its `Date` header and the modification times it writes.
    pub skew_ms: i64,
    /// Positions of contacts and deals in id order, for the list; rebuilt
    /// when records are added (ids never change).
    order: [Vec<usize>; 2],
}

impl Hub {
    /// An account holding these records, shuffled as stored (the search
    /// sorts only when asked to).
    pub fn new(mut contacts: Vec<Rec>, mut deals: Vec<Rec>, per_second: usize) -> Hub {
        let mut rng = fastrand::Rng::with_seed(11);
        rng.shuffle(&mut contacts);
        rng.shuffle(&mut deals);
        Hub {
            contacts,
            deals,
            faults: VecDeque::new(),
            per_second,
            search_per_second: 5,
            recent: VecDeque::new(),
            recent_search: VecDeque::new(),
            limited: 0,
            served: Vec::new(),
            previous: None,
            order: [Vec::new(), Vec::new()],
            skew_ms: 0,
            portal: 62_515,
            app: None,
            issued: Vec::new(),
        }
    }

    /// The account's clock, in epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        now_ms() + self.skew_ms
    }

    /// Requests served with this method and path.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.served
            .iter()
            .filter(|s| s.method == method && s.path == path)
            .count()
    }
}

/// When the Acme records were last modified, long before any sync.
pub const MODIFIED: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/// Acme's export (`examples/acme/data`) as HubSpot contacts and deals, the
/// contacts repeated (ids a million apart) up to `contacts`, in an account
/// allowing `per_second` requests a second.
pub fn acme(contacts: usize, per_second: usize) -> Hub {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme/data");
    let text = |v: &str| if v.is_empty() { Value::Null } else { json!(v) };
    // HubSpot's time format: ISO 8601 with milliseconds and Z.
    let time = |v: &str| {
        if v.is_empty() {
            Value::Null
        } else {
            json!(v.replace('Z', ".000Z"))
        }
    };
    let leads = read_csv(&data.join("leads.csv"), |h, v| {
        let name = match h {
            "created_at" => "createdate",
            "first_touch_at" => "hs_first_outreach_date",
            "lead_at" => "hs_lifecyclestage_lead_date",
            "mql_at" => "hs_lifecyclestage_marketingqualifiedlead_date",
            "sal_at" => "sal_date",
            "sql_at" => "hs_lifecyclestage_salesqualifiedlead_date",
            "opportunity_at" => "hs_lifecyclestage_opportunity_date",
            "customer_at" => "hs_lifecyclestage_customer_date",
            other => return (other.to_string(), text(v)),
        };
        (name.to_string(), time(v))
    });
    let mut deals = read_csv(&data.join("deals.csv"), |h, v| match h {
        "created_at" => ("createdate".into(), time(v)),
        "closed_at" => ("closedate".into(), time(v)),
        "currency" => ("deal_currency_code".into(), text(v)),
        "won" => ("hs_is_closed_won".into(), text(v)),
        other => (other.to_string(), text(v)),
    });
    for d in &mut deals {
        // Closed when it has a close date, as the export reads it.
        let closed = !d.props["closedate"].is_null();
        d.props
            .insert("hs_is_closed".into(), json!(closed.to_string()));
    }
    let mut all = Vec::with_capacity(contacts);
    for copy in 0.. {
        for r in &leads {
            if all.len() == contacts {
                return Hub::new(all, deals, per_second);
            }
            all.push(Rec {
                id: r.id + copy * 1_000_000,
                ..r.clone()
            });
        }
    }
    unreachable!("the loop returns")
}

fn read_csv(csv: &std::path::Path, map: impl Fn(&str, &str) -> (String, Value)) -> Vec<Rec> {
    let text = std::fs::read_to_string(csv).expect("csv");
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .expect("headers")
        .iter()
        .map(String::from)
        .collect();
    rdr.records()
        .map(|r| {
            let r = r.expect("row");
            let id: u64 = r[0][1..].parse().expect("numeric id");
            let props = headers
                .iter()
                .zip(r.iter())
                .skip(1)
                .map(|(h, v)| map(h, v))
                .collect();
            Rec {
                id,
                props,
                modified: MODIFIED,
                archived: false,
            }
        })
        .collect()
}

/// HubSpot's time format: ISO 8601 UTC with milliseconds and Z.
pub fn iso(ms: i64) -> Value {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| json!(t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()))
        .unwrap_or(Value::Null)
}

/// Now, in epoch milliseconds.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Serves the hub until the process ends; returns its base URL.
pub fn serve(hub: Arc<Mutex<Hub>>) -> String {
    serve_on(hub, "127.0.0.1:0")
}

/// Serves the hub on `addr`; returns its base URL.
pub fn serve_on(hub: Arc<Mutex<Hub>>, addr: &str) -> String {
    http::listen(addr, move |request| handle(request, &hub))
}

fn rate_limited() -> Value {
    json!({"status": "error", "message": "You have reached your ten_secondly_rolling limit.", "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING", "correlationId": "c0ffee"})
}

fn handle(request: http::Request, hub: &Mutex<Hub>) -> http::Reply {
    let request_form = request.form();
    let http::Request {
        method,
        target,
        auth,
        body: sent,
        ..
    } = request;
    let (path, query) = http::split_target(&target);
    if path.starts_with("/_fake/") {
        return http::Reply::json(200, control(hub, &method, &path, &query));
    }
    if path == "/oauth/v1/token" {
        return token(hub, &request_form, &method);
    }
    let mut extra = String::new();
    let (status, reply, fault) = {
        let mut guard = hub.lock().expect("hub");
        let h = &mut *guard;
        let now = Instant::now();
        for q in [&mut h.recent, &mut h.recent_search] {
            while q
                .front()
                .is_some_and(|t| now - *t >= Duration::from_secs(10))
            {
                q.pop_front();
            }
        }
        let in_last = |q: &VecDeque<Instant>, window: Duration| {
            q.iter().rev().take_while(|t| now - **t < window).count()
        };
        let search = method == "POST" && path.ends_with("/search");
        if let Ok(t) = jiff::Timestamp::from_millisecond(h.now_ms()) {
            extra.push_str(&format!(
                "Date: {}\r\n",
                t.strftime("%a, %d %b %Y %H:%M:%S GMT")
            ));
        }
        let budget = h.per_second * 10;
        let used = in_last(&h.recent, Duration::from_secs(10));
        extra.push_str(&format!(
            "X-HubSpot-RateLimit-Max: {budget}\r\nX-HubSpot-RateLimit-Interval-Milliseconds: 10000\r\nX-HubSpot-RateLimit-Remaining: {}\r\n",
            budget.saturating_sub(used + 1)
        ));
        let second = Duration::from_secs(1);
        let bearer = auth.strip_prefix("Bearer ").unwrap_or("");
        let issued = h
            .issued
            .iter()
            .find(|(t, _)| t == bearer)
            .map(|(_, until)| *until);
        let served = if issued.is_some_and(|until| now >= until) {
            (
                401,
                json!({"status": "error", "message": "The OAuth token used to make this call expired.", "category": "EXPIRED_AUTHENTICATION"}),
                None,
            )
        } else if bearer != TOKEN && issued.is_none() {
            (
                401,
                json!({"status": "error", "message": "Authentication credentials not found.", "category": "INVALID_AUTHENTICATION", "correlationId": "c0ffee"}),
                None,
            )
        } else if in_last(&h.recent, second) >= h.per_second
            || (search && in_last(&h.recent_search, second) >= h.search_per_second)
        {
            h.limited += 1;
            (429, rate_limited(), None)
        } else {
            h.recent.push_back(now);
            if search {
                h.recent_search.push_back(now);
            }
            // A fault is met only by a request that got this far.
            let fault = h.faults.pop_front();
            match fault {
                Some(Fault::TooMany(after)) => {
                    if let Some(s) = after {
                        extra.push_str(&format!("Retry-After: {s}\r\n"));
                    }
                    (429, rate_limited(), fault)
                }
                Some(Fault::Daily) => (
                    429,
                    json!({"status": "error", "message": "You have reached your daily limit.", "errorType": "RATE_LIMIT", "policyName": "DAILY"}),
                    fault,
                ),
                Some(Fault::Unavailable) => (
                    503,
                    json!({"status": "error", "message": "Service unavailable"}),
                    fault,
                ),
                Some(Fault::RepeatPage) => (200, h.previous.clone().unwrap_or(Value::Null), fault),
                Some(Fault::EmptyWithNext) => (
                    200,
                    json!({"total": 5, "results": [], "paging": {"next": {"after": "999999999"}}}),
                    fault,
                ),
                other => {
                    let (s, mut v) = if method == "GET" && path == "/account-info/v3/details" {
                        (
                            200,
                            json!({"portalId": h.portal, "accountType": "STANDARD", "timeZone": "US/Eastern", "companyCurrency": "USD", "uiDomain": "app.hubspot.com"}),
                        )
                    } else if search {
                        self::search(h, &path, &sent)
                    } else if method == "GET" {
                        list(h, &path, &query)
                    } else {
                        not_found()
                    };
                    if other == Some(Fault::ShortEnd) {
                        v.as_object_mut().map(|o| o.remove("paging"));
                    }
                    if s == 200 {
                        h.previous = Some(v.clone());
                    }
                    (s, v, other)
                }
            }
        };
        h.served.push(Served {
            at: now,
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            body: sent.clone(),
            status: served.0,
            fault: served.2,
        });
        served
    };
    http::Reply {
        status,
        headers: extra,
        body: reply,
        spoil: match fault {
            Some(Fault::Slow(ms)) => http::Spoil::Slow(ms),
            Some(Fault::Malformed) => http::Spoil::Malformed,
            Some(Fault::CutOff) => http::Spoil::CutOff,
            _ => http::Spoil::None,
        },
    }
}

/// POST /oauth/v1/token: a refresh token for an access token.
fn token(hub: &Mutex<Hub>, form: &[(String, String)], method: &str) -> http::Reply {
    let mut h = hub.lock().expect("hub");
    let f = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let Some(app) = h.app.clone() else {
        return http::Reply::json(404, json!({"status": "error", "message": "no app"}));
    };
    let ok = method == "POST"
        && f("grant_type") == Some("refresh_token")
        && f("client_id") == Some(app.client_id.as_str())
        && f("client_secret") == Some(app.client_secret.as_str())
        && f("refresh_token") == Some(app.refresh_token.as_str());
    if !ok {
        return http::Reply::json(
            400,
            json!({"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token"}),
        );
    }
    let access = format!("oauth-access-{:04}", h.issued.len() + 1);
    h.issued.push((access.clone(), Instant::now() + app.lives));
    http::Reply::json(
        200,
        json!({"access_token": access, "refresh_token": app.refresh_token, "expires_in": app.says.as_secs(), "token_type": "bearer"}),
    )
}

fn not_found() -> (u16, Value) {
    (
        404,
        json!({"status": "error", "message": "Not found", "category": "OBJECT_NOT_FOUND"}),
    )
}

/// The records of a path, the property of their modification, and
/// whether they are shown as Lead records.
fn records<'h>(h: &'h Hub, path: &str) -> Option<(&'h [Rec], &'static str, bool)> {
    match path.trim_end_matches("/search") {
        "/crm/v3/objects/contacts" => Some((&h.contacts, "lastmodifieddate", false)),
        // The Leads object, here the contacts again: a portal whose leads
        // are kept as HubSpot Lead records.
        "/crm/v3/objects/leads" => Some((&h.contacts, "hs_lastmodifieddate", true)),
        "/crm/v3/objects/deals" => Some((&h.deals, "hs_lastmodifieddate", false)),
        _ => None,
    }
}

/// A record as the API shows it: the requested properties the object has
/// (null when unset; one it does not have is left out, as HubSpot does)
/// and the ones always returned. `lead` shows a contact as a Lead record:
/// `hs_createdate` and `hs_v2_date_entered_<stage>` for its `createdate`
/// and `hs_lifecyclestage_<stage>_date`, which it does not have.
fn shown(r: &Rec, props: &[String], modified: &str, lead: bool) -> Value {
    let own = |name: &str| -> Option<String> {
        if !lead {
            return Some(name.to_string());
        }
        if name == "createdate" || name.starts_with("hs_lifecyclestage_") {
            return None;
        }
        if name == "hs_createdate" {
            return Some("createdate".into());
        }
        Some(match name.strip_prefix("hs_v2_date_entered_") {
            Some(stage) => format!("hs_lifecyclestage_{stage}_date"),
            None => name.to_string(),
        })
    };
    let created = if lead { "hs_createdate" } else { "createdate" };
    let mut out = Map::new();
    out.insert("hs_object_id".into(), json!(r.id.to_string()));
    out.insert(
        created.into(),
        r.props.get("createdate").cloned().unwrap_or(Value::Null),
    );
    out.insert(modified.into(), iso(r.modified));
    for name in props {
        if name == modified {
            continue;
        }
        if let Some(v) = own(name).and_then(|p| r.props.get(&p)) {
            out.insert(name.clone(), v.clone());
        }
    }
    let mut v = json!({
        "id": r.id.to_string(),
        "properties": out,
        "createdAt": r.props.get("createdate").cloned().unwrap_or(Value::Null),
        "updatedAt": iso(r.modified),
        "archived": r.archived,
    });
    if r.archived {
        v["archivedAt"] = iso(r.modified);
    }
    v
}

/// GET /crm/v3/objects/{type}: in id order, from the `after` cursor.
fn list(h: &mut Hub, path: &str, query: &[(String, String)]) -> (u16, Value) {
    let kind = match path {
        "/crm/v3/objects/contacts" | "/crm/v3/objects/leads" => 0,
        "/crm/v3/objects/deals" => 1,
        _ => return not_found(),
    };
    let recs = if kind == 0 { &h.contacts } else { &h.deals };
    if h.order[kind].len() != recs.len() {
        let mut order: Vec<usize> = (0..recs.len()).collect();
        order.sort_by_key(|&i| recs[i].id);
        h.order[kind] = order;
    }
    let Some((recs, modified, lead)) = records(h, path) else {
        return not_found();
    };
    let order = &h.order[kind];
    let q = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let limit = q("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(10usize)
        .min(100);
    let archived = q("archived") == Some("true");
    let after: u64 = match q("after").map(str::parse) {
        None => 0,
        Some(Ok(a)) => a,
        Some(Err(_)) => {
            return (
                400,
                json!({"status": "error", "message": "Invalid after", "category": "VALIDATION_ERROR"}),
            );
        }
    };
    let props: Vec<String> = q("properties")
        .map(|p| {
            p.split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let from = order.partition_point(|&i| recs[i].id < after);
    let mut matching = order[from..]
        .iter()
        .map(|&i| &recs[i])
        .filter(|r| r.archived == archived);
    let page: Vec<Value> = matching
        .by_ref()
        .take(limit)
        .map(|r| shown(r, &props, modified, lead))
        .collect();
    let mut reply = json!({"results": page});
    if let Some(next) = matching.next() {
        reply["paging"] = json!({"next": {
            "after": next.id.to_string(),
            "link": format!("{path}?after={}", next.id),
        }});
    }
    (200, reply)
}

/// POST /crm/v3/objects/{type}/search.
fn search(h: &Hub, path: &str, sent: &Value) -> (u16, Value) {
    let Some((recs, modified, lead)) = records(h, path) else {
        return not_found();
    };
    let invalid = |m: &str| {
        (
            400,
            json!({"status": "error", "message": m, "category": "VALIDATION_ERROR"}),
        )
    };
    let after: usize = sent["after"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let limit = sent["limit"].as_u64().unwrap_or(10).min(200) as usize;
    if after + limit > 10_000 {
        return invalid("Cannot page past 10000 results");
    }
    let (mut gt, mut since) = (None::<u64>, None::<i64>);
    let groups = sent["filterGroups"].as_array().cloned().unwrap_or_default();
    if groups.len() > 1 {
        return invalid("the stand-in takes one filter group");
    }
    for f in groups
        .first()
        .and_then(|g| g["filters"].as_array().cloned())
        .unwrap_or_default()
    {
        let value = f["value"].as_str().unwrap_or("");
        match (f["propertyName"].as_str(), f["operator"].as_str()) {
            (Some("hs_object_id"), Some("GT")) => gt = value.parse().ok(),
            (Some(p), Some("GTE")) if p == modified => since = value.parse().ok(),
            _ => return invalid("unsupported filter"),
        }
    }
    let props: Vec<String> = sent["properties"]
        .as_array()
        .map(|p| {
            p.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let mut matching: Vec<&Rec> = recs
        .iter()
        .filter(|r| !r.archived)
        .filter(|r| gt.is_none_or(|g| r.id > g))
        .filter(|r| since.is_none_or(|s| r.modified >= s))
        .collect();
    let sort = &sent["sorts"][0];
    if sort["propertyName"] == "hs_object_id" && sort["direction"] == "ASCENDING" {
        matching.sort_by_key(|r| r.id);
    }
    let page: Vec<Value> = matching
        .iter()
        .skip(after)
        .take(limit)
        .map(|r| shown(r, &props, modified, lead))
        .collect();
    let mut reply = json!({"total": matching.len(), "results": page});
    if after + limit < matching.len() {
        reply["paging"] = json!({"next": {"after": (after + limit).to_string()}});
    }
    (200, reply)
}

/// The benchmark's controls.
fn control(hub: &Mutex<Hub>, method: &str, path: &str, query: &[(String, String)]) -> Value {
    let mut h = hub.lock().expect("hub");
    match (method, path) {
        ("POST", "/_fake/touch") => {
            let share: f64 = query
                .iter()
                .find(|(k, _)| k == "share")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0.01);
            let now = h.now_ms();
            let n = (h.contacts.len() as f64 * share).round() as usize;
            let mut rng = fastrand::Rng::with_seed(now as u64);
            for _ in 0..n {
                let i = rng.usize(..h.contacts.len());
                let r = &mut h.contacts[i];
                r.modified = now;
                r.props
                    .insert("hs_lead_status".into(), json!("IN_PROGRESS"));
            }
            json!({"touched": n})
        }
        ("POST", "/_fake/reset") => {
            // `limited` counts on: refusals since the stand-in started.
            h.served.clear();
            json!({})
        }
        ("POST", "/_fake/age") => {
            // As if every change so far had happened `minutes` earlier.
            let minutes: i64 = query
                .iter()
                .find(|(k, _)| k == "minutes")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(60);
            let h = &mut *h;
            for r in h.contacts.iter_mut().chain(h.deals.iter_mut()) {
                r.modified -= minutes * 60_000;
            }
            json!({})
        }
        _ => {
            // The full listing's pace: pages over the time from the first to the last.
            let lists: Vec<Instant> = h
                .served
                .iter()
                .filter(|s| {
                    s.method == "GET"
                        && s.query
                            .iter()
                            .any(|q| q == &("archived".to_string(), "false".to_string()))
                })
                .map(|s| s.at)
                .collect();
            let span = match (lists.first(), lists.last()) {
                (Some(a), Some(b)) => (*b - *a).as_secs_f64(),
                _ => 0.0,
            };
            json!({
                "requests": h.served.len(),
                "failed": h.served.iter().filter(|s| s.status != 200).count(),
                "limited": h.limited,
                "list_pages": lists.len(),
                "list_seconds": span,
                "searches": h.served.iter().filter(|s| s.method == "POST").count(),
                "per_second": h.per_second,
            })
        }
    }
}
