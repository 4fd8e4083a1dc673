//! A stand-in for Pipedrive's API v2 on loopback: `GET /api/v2/persons` and
//! `GET /api/v2/deals` (`limit` up to 500, `cursor`, `sort_by=id`,
//! `sort_direction`, `updated_since`, deals' `status=deleted`), answers
//! `{success, data, additional_data: {next_cursor}}`, custom fields under
//! `custom_fields`, the token in `x-api-token`, a burst budget per 2 seconds
//! in `x-ratelimit-limit/-remaining/-reset` enforced with 429
//! `{success: false, error}`; `GET /v1/users/me` names the company.
//! `GET /v1/leads` serves the Leads Inbox: UUID ids, custom fields as
//! top-level keys, `limit` up to 500, `start` offsets, `sort` (`add_time`,
//! `update_time`, `id`, each `ASC` or `DESC`, comma-separated; by creation
//! when not given) and `additional_data.pagination`.
//! `POST /oauth/token` renews OAuth access as Pipedrive does: the client in
//! a Basic header, `grant_type=refresh_token`, a new refresh token each
//! time (the old one refused from then on); API requests then carry
//! `Authorization: Bearer <access token>`.
//!
//! Its includer declares `tests/fake/http.rs` as the module `http` beside it.
#![allow(dead_code)] // the tests and the benchmark each take a subset

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::http;

/// The token the stand-in accepts.
pub const TOKEN: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0fake0000";

/// A fault met by one served request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    Pass,
    /// 429 with `Retry-After` (seconds) or without.
    TooMany(Option<u32>),
    Unavailable,
    Malformed,
    /// The answer after this many milliseconds.
    Slow(u64),
    /// The body cut off half-way (shorter than its `Content-Length`).
    CutOff,
    /// The previous page again, cursor and all.
    RepeatPage,
    /// A leads page served one lead later, as if one before it had been
    /// deleted since the previous page.
    Shift,
}

/// A record: id, fields (custom ones under `custom_fields`), when updated
/// (epoch milliseconds), deleted.
#[derive(Debug, Clone)]
pub struct Rec {
    pub id: u64,
    pub fields: Map<String, Value>,
    pub updated: i64,
    pub deleted: bool,
}

/// A request as served.
#[derive(Debug, Clone)]
pub struct Served {
    pub at: Instant,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub status: u16,
    pub fault: Option<Fault>,
}

/// An OAuth app: its client, the refresh token valid now, how long access
/// tokens live.
#[derive(Debug, Clone)]
pub struct App {
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    pub lives: Duration,
}

/// The leads' count, the sum of their update times, the deleted count.
type Fingerprint = (usize, i64, usize);

/// The company account.
#[derive(Debug, Default)]
pub struct Company {
    pub persons: Vec<Rec>,
    /// The Leads Inbox: fields top-level, `add_time` among them.
    pub leads: Vec<Rec>,
    pub deals: Vec<Rec>,
    pub faults: VecDeque<Fault>,
    pub served: Vec<Served>,
    /// Requests allowed per 2 seconds (429 beyond).
    pub burst: usize,
    /// The company id of the token's user (`GET /v1/users/me`).
    pub company: u64,
    /// `POST /oauth/token`.
    pub app: Option<App>,
    /// Tokens issued: access tokens with when they expire, refresh tokens.
    pub issued: Vec<(String, Instant)>,
    pub refresh_tokens: Vec<String>,
    /// Requests to the token endpoint that carried the client secret in
    /// the form instead of the Basic header.
    pub secret_in_form: usize,
    recent: VecDeque<Instant>,
    /// The leads' last order: its sort, a fingerprint of the leads, and
    /// the positions (sorting 48,000 leads for every page is slow).
    lead_order: Option<(String, Fingerprint, Vec<usize>)>,
    pub limited: usize,
    previous: Option<Value>,
}

/// RFC 3339 UTC, as v2 writes times.
pub fn rfc3339(ms: i64) -> Value {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| json!(t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()))
        .unwrap_or(Value::Null)
}

/// Serves the account until the process ends; returns its base URL.
pub fn serve(company: Arc<Mutex<Company>>) -> String {
    http::listen("127.0.0.1:0", move |request| handle(request, &company))
}

fn handle(request: http::Request, company: &Mutex<Company>) -> http::Reply {
    let (path, query) = http::split_target(&request.target);
    let mut c = company.lock().expect("company");
    if path == "/oauth/token" {
        return token(&mut c, &request);
    }
    let now = Instant::now();
    let window = Duration::from_secs(2);
    while c.recent.front().is_some_and(|t| now - *t >= window) {
        c.recent.pop_front();
    }
    let token = request.header("x-api-token").unwrap_or("");
    let bearer = request.auth.strip_prefix("Bearer ").unwrap_or("");
    let live = c
        .issued
        .iter()
        .any(|(t, until)| t == bearer && now < *until);
    let mut headers = String::new();
    let (status, body, fault) = if token != TOKEN && !live {
        (
            401,
            json!({"success": false, "error": "unauthorized access", "errorCode": 401}),
            None,
        )
    } else if c.recent.len() >= c.burst {
        c.limited += 1;
        (
            429,
            json!({"success": false, "error": "Request over limit"}),
            None,
        )
    } else {
        c.recent.push_back(now);
        let fault = c.faults.pop_front();
        let (s, b) = match fault {
            Some(Fault::TooMany(after)) => {
                if let Some(a) = after {
                    headers.push_str(&format!("Retry-After: {a}\r\n"));
                }
                (
                    429,
                    json!({"success": false, "error": "Request over limit"}),
                )
            }
            Some(Fault::Unavailable) => (
                503,
                json!({"success": false, "error": "Service unavailable"}),
            ),
            Some(Fault::RepeatPage) => (200, c.previous.clone().unwrap_or(Value::Null)),
            _ if path == "/v1/leads" => {
                leads(&mut c, &query, usize::from(fault == Some(Fault::Shift)))
            }
            _ if path == "/v1/users/me" => (
                200,
                json!({"success": true, "data": {"id": 7, "name": "RevOps", "company_id": c.company}}),
            ),
            _ => list(&c, &path, &query),
        };
        if s == 200 {
            c.previous = Some(b.clone());
        }
        (s, b, fault)
    };
    headers.push_str(&format!(
        "x-ratelimit-limit: {}\r\nx-ratelimit-remaining: {}\r\nx-ratelimit-reset: 2\r\n",
        c.burst,
        c.burst.saturating_sub(c.recent.len())
    ));
    c.served.push(Served {
        at: now,
        path,
        query,
        status,
        fault,
    });
    http::Reply {
        status,
        headers,
        body,
        spoil: match fault {
            Some(Fault::Malformed) => http::Spoil::Malformed,
            Some(Fault::Slow(ms)) => http::Spoil::Slow(ms),
            Some(Fault::CutOff) => http::Spoil::CutOff,
            _ => http::Spoil::None,
        },
    }
}

/// GET /api/v2/{persons|deals}.
fn list(c: &Company, path: &str, query: &[(String, String)]) -> (u16, Value) {
    let recs = match path {
        "/api/v2/persons" => &c.persons,
        "/api/v2/deals" => &c.deals,
        _ => return (404, json!({"success": false, "error": "Unknown method ."})),
    };
    let q = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let limit = q("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100usize)
        .min(500);
    let deleted = q("status") == Some("deleted");
    let since = match q("updated_since").map(|t| t.parse::<jiff::Timestamp>()) {
        None => None,
        Some(Ok(t)) => Some(t.as_millisecond()),
        Some(Err(_)) => {
            return (
                400,
                json!({"success": false, "error": "Invalid updated_since"}),
            );
        }
    };
    // The cursor: the id the page starts after.
    let after: u64 = q("cursor")
        .and_then(|c| c.strip_prefix("eyJpZCI6"))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut matching: Vec<&Rec> = recs
        .iter()
        .filter(|r| r.deleted == deleted && r.id > after)
        .filter(|r| since.is_none_or(|s| r.updated >= s))
        .collect();
    if q("sort_by") == Some("id") {
        matching.sort_by_key(|r| r.id);
    }
    let page: Vec<Value> = matching
        .iter()
        .take(limit)
        .map(|r| {
            let mut v = Map::new();
            v.insert("id".into(), json!(r.id));
            let mut custom = Map::new();
            for (k, value) in &r.fields {
                if k.starts_with("cf_") {
                    custom.insert(k.clone(), value.clone());
                } else {
                    v.insert(k.clone(), value.clone());
                }
            }
            v.insert("update_time".into(), rfc3339(r.updated));
            v.insert("is_deleted".into(), json!(r.deleted));
            v.insert("custom_fields".into(), Value::Object(custom));
            Value::Object(v)
        })
        .collect();
    let next = (matching.len() > limit)
        .then(|| page.last().map(|l| format!("eyJpZCI6{}", l["id"])))
        .flatten();
    (
        200,
        json!({"success": true, "data": page, "additional_data": {"next_cursor": next}}),
    )
}

/// POST /oauth/token: the client in a Basic header, a refresh token for
/// access and a new refresh token.
fn token(c: &mut Company, request: &http::Request) -> http::Reply {
    use base64::Engine as _;
    let form = request.form();
    let f = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let Some(app) = c.app.clone() else {
        return http::Reply::json(404, json!({"success": false, "error": "no app"}));
    };
    if f("client_secret").is_some() {
        c.secret_in_form += 1;
    }
    let client = request
        .auth
        .strip_prefix("Basic ")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    if request.method != "POST"
        || client != Some(format!("{}:{}", app.client_id, app.client_secret))
    {
        return http::Reply::json(
            401,
            json!({"success": false, "error": "invalid_client", "message": "Invalid client credentials"}),
        );
    }
    if f("grant_type") != Some("refresh_token") || f("refresh_token") != Some(&app.refresh_token) {
        return http::Reply::json(
            400,
            json!({"success": false, "error": "invalid_grant", "message": "Invalid refresh token"}),
        );
    }
    let n = c.issued.len() + 1;
    let access = format!("pd-oauth-access-{n:04}");
    let refresh = format!("pd-oauth-refresh-{n:04}");
    c.issued.push((access.clone(), Instant::now() + app.lives));
    c.refresh_tokens.push(refresh.clone());
    if let Some(a) = &mut c.app {
        a.refresh_token = refresh.clone();
    }
    http::Reply::json(
        200,
        json!({"access_token": access, "token_type": "Bearer", "refresh_token": refresh, "scope": "base,deals:read,contacts:read,leads:read", "expires_in": app.lives.as_secs(), "api_domain": "https://acme.pipedrive.com"}),
    )
}

/// A lead's UUID, made from its number.
pub fn uuid(id: u64) -> String {
    format!(
        "{:08x}-0e10-41eb-879b-{:012x}",
        (id.wrapping_mul(2_654_435_761)) as u32,
        id
    )
}

/// GET /v1/leads, `shift` leads later than asked.
fn leads(c: &mut Company, query: &[(String, String)], shift: usize) -> (u16, Value) {
    let q = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let limit = q("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100usize)
        .min(500);
    let start: usize = q("start").and_then(|s| s.parse().ok()).unwrap_or(0);
    let ids: Vec<String> = c.leads.iter().map(|r| uuid(r.id)).collect();
    // Times as numbers, texts as texts: (number, text).
    fn key<'a>(r: &'a Rec, id: &'a str, field: &str) -> (i64, &'a str) {
        match field {
            "update_time" => (r.updated, ""),
            "id" => (0, id),
            f => (0, r.fields.get(f).and_then(Value::as_str).unwrap_or("")),
        }
    }
    let sort = q("sort").unwrap_or("add_time ASC").to_string();
    let mut order = Vec::new();
    for part in sort.split(',') {
        let mut words = part.split_whitespace();
        let (Some(field), dir) = (words.next(), words.next().unwrap_or("ASC")) else {
            continue;
        };
        if !["add_time", "update_time", "id"].contains(&field) || !["ASC", "DESC"].contains(&dir) {
            return (
                400,
                json!({"success": false, "error": format!("Invalid sort: {part}")}),
            );
        }
        order.push((field.to_string(), dir == "DESC"));
    }
    let fingerprint = (
        c.leads.len(),
        c.leads.iter().map(|r| r.updated).sum::<i64>(),
        c.leads.iter().filter(|r| r.deleted).count(),
    );
    let known = c
        .lead_order
        .as_ref()
        .is_some_and(|(s, f, _)| *s == sort && *f == fingerprint);
    if !known {
        let mut at: Vec<usize> = (0..c.leads.len())
            .filter(|&i| !c.leads[i].deleted)
            .collect();
        at.sort_by(|&x, &y| {
            let (a, ia, b, ib) = (&c.leads[x], &ids[x], &c.leads[y], &ids[y]);
            for (field, desc) in &order {
                let o = key(a, ia, field).cmp(&key(b, ib, field));
                let o = if *desc { o.reverse() } else { o };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
        c.lead_order = Some((sort.clone(), fingerprint, at));
    }
    let live = c
        .lead_order
        .as_ref()
        .map_or(&[][..], |(_, _, at)| at.as_slice());
    let from = (start + shift).min(live.len());
    let page: Vec<Value> = live[from..]
        .iter()
        .take(limit)
        .map(|&i| {
            let (r, id) = (&c.leads[i], &ids[i]);
            let mut v = r.fields.clone();
            v.insert("id".into(), json!(id));
            v.insert("title".into(), json!(format!("Lead {}", r.id)));
            v.insert("is_archived".into(), json!(false));
            v.insert(
                "update_time".into(),
                jiff::Timestamp::from_millisecond(r.updated)
                    .map(|t| json!(t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()))
                    .unwrap_or(Value::Null),
            );
            Value::Object(v)
        })
        .collect();
    let more = from + page.len() < live.len();
    let mut pagination = json!({"start": start, "limit": limit, "more_items_in_collection": more});
    if more {
        pagination["next_start"] = json!(start + limit);
    }
    (
        200,
        json!({"success": true, "data": page, "additional_data": {"pagination": pagination}}),
    )
}

/// Acme's export as persons and deals: custom fields `cf_<column>` for
/// everything but the person's `add_time` and the deal's `add_time`,
/// `close_time`, `value`, `currency` and `status` (`won`, `lost`, `open`).
pub fn acme(updated: i64, burst: usize) -> Company {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme/data");
    let read = |file: &str, name: &dyn Fn(&str) -> String| -> Vec<Rec> {
        let text = std::fs::read_to_string(data.join(file)).expect("csv");
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
                let mut fields = Map::new();
                for (h, v) in headers.iter().zip(r.iter()).skip(1) {
                    let v = if v.is_empty() { Value::Null } else { json!(v) };
                    fields.insert(name(h), v);
                }
                Rec {
                    id: r[0][1..].parse().expect("numeric id"),
                    fields,
                    updated,
                    deleted: false,
                }
            })
            .collect()
    };
    let persons = read("leads.csv", &|h| match h {
        "created_at" => "add_time".into(),
        other => format!("cf_{other}"),
    });
    let leads = read("leads.csv", &|h| match h {
        "created_at" => "add_time".into(),
        other => format!("cf_{other}"),
    });
    let mut deals = read("deals.csv", &|h| match h {
        "created_at" => "add_time".into(),
        "closed_at" => "close_time".into(),
        "amount" => "value".into(),
        "currency" => "currency".into(),
        other => format!("cf_{other}"),
    });
    for d in &mut deals {
        let closed = !d.fields["close_time"].is_null();
        let won = d.fields["cf_won"] == json!("true");
        let status = match (closed, won) {
            (_, true) => "won",
            (true, false) => "lost",
            (false, false) => "open",
        };
        d.fields.insert("status".into(), json!(status));
        d.fields.remove("cf_won");
    }
    Company {
        persons,
        leads,
        deals,
        burst: burst.max(1),
        company: 4_242,
        ..Company::default()
    }
}
