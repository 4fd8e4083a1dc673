//! A stand-in for Salesforce's REST API on loopback, speaking its documented
//! shapes: `GET /services/data/v62.0/query?q=<SOQL>` and `queryAll`, answers
//! `{totalSize, done, nextRecordsUrl, records: [{attributes, Id, ...}]}` of
//! up to 2,000 records, the rest behind a query locator
//! (`/services/data/v62.0/query/<locator>-<offset>`) fixed when the query
//! ran; error bodies as JSON arrays (`[{"message", "errorCode"}]`): 401
//! `INVALID_SESSION_ID`, 400 `INVALID_FIELD` and `MALFORMED_QUERY`, 403
//! `REQUEST_LIMIT_EXCEEDED`; `Sforce-Limit-Info: api-usage=n/limit`; the
//! OAuth client credentials flow (`POST /services/oauth2/token`), sessions
//! that expire unannounced (Salesforce gives no `expires_in`).
//!
//! It reads the SOQL revalign writes: `SELECT Id FROM Organization` (the org
//! id), `SELECT <fields> FROM <object>`, with
//! `WHERE SystemModstamp >= <datetime>` or `WHERE IsDeleted = true AND
//! SystemModstamp >= <datetime>`; `SELECT ... FROM LeadHistory WHERE Field =
//! '<field>'` or `Field IN ('<field>', ...)`, optionally `AND LeadId IN
//! ('<id>', ...)` (history rows: `Id`, a `created` row when a lead is made,
//! `LeadId`, `Field`, `OldValue`, `NewValue`, `CreatedDate`; `OldValue` and
//! `NewValue` cannot be filtered on, as in Salesforce).
//!
//! Its includer declares `tests/fake/http.rs` as the module `http` beside it.
#![allow(dead_code)] // the tests and the benchmark each take a subset

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use super::http;

/// The token the stand-in accepts.
pub const TOKEN: &str = "00D5g000004fake!AQ8AQFakeSessionId.For.Tests";
/// Records per answer.
pub const BATCH: usize = 2000;

/// A fault met by one served request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    Pass,
    Unavailable,
    LimitExceeded,
    Slow(u64),
    CutOff,
    Malformed,
    /// The previous page again, locator and all.
    RepeatPage,
    /// `done: false` without a `nextRecordsUrl`.
    NoNext,
    /// `done: true` before the `totalSize` is reached.
    ShortDone,
}

/// A record: `Id`, fields, `SystemModstamp` (epoch milliseconds), deleted.
#[derive(Debug, Clone)]
pub struct Rec {
    pub id: String,
    pub fields: Map<String, Value>,
    pub modstamp: i64,
    pub deleted: bool,
}

/// A request as served.
#[derive(Debug, Clone)]
pub struct Served {
    pub path: String,
    pub soql: Option<String>,
    pub status: u16,
    pub fault: Option<Fault>,
}

/// The org.
#[derive(Debug, Default)]
pub struct Org {
    pub leads: Vec<Rec>,
    pub opportunities: Vec<Rec>,
    /// Field history of leads (`LeadHistory`).
    pub history: Vec<Rec>,
    pub faults: VecDeque<Fault>,
    pub served: Vec<Served>,
    /// The org id (`SELECT Id FROM Organization`).
    pub org_id: String,
    /// Requests counted against the daily limit.
    pub used: u64,
    pub limit: u64,
    /// A connected app allowed the client credentials flow: its client id
    /// and secret, and how long its sessions live.
    pub app: Option<(String, String, std::time::Duration)>,
    /// Sessions issued to the app: the token, when it expires.
    pub sessions: Vec<(String, std::time::Instant)>,
    /// Query locators: what a query found, fixed when it ran.
    locators: HashMap<String, Found>,
    previous: Option<Value>,
}

impl Org {
    /// An org holding these records.
    pub fn new(leads: Vec<Rec>, opportunities: Vec<Rec>) -> Org {
        Org {
            leads,
            opportunities,
            org_id: "00D5g000004fakeEAA".into(),
            limit: 100_000,
            ..Org::default()
        }
    }
}

/// What a query found: the object, the fields selected, the records' positions.
#[derive(Debug, Clone)]
struct Found {
    object: String,
    fields: Vec<String>,
    at: Vec<usize>,
}

/// Salesforce's datetime format: `2018-03-18T07:38:12.000+0000`.
pub fn datetime(ms: i64) -> Value {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| json!(t.strftime("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()))
        .unwrap_or(Value::Null)
}

/// Serves the org until the process ends; returns its base URL.
pub fn serve(org: Arc<Mutex<Org>>) -> String {
    http::listen("127.0.0.1:0", move |request| handle(request, &org))
}

fn error(status: u16, code: &str, message: &str) -> (u16, Value) {
    (status, json!([{"message": message, "errorCode": code}]))
}

fn handle(request: http::Request, org: &Mutex<Org>) -> http::Reply {
    let (path, query) = http::split_target(&request.target);
    let soql = query.iter().find(|(k, _)| k == "q").map(|(_, v)| v.clone());
    let mut o = org.lock().expect("org");
    if path == "/services/oauth2/token" {
        let form = request.form();
        let f = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let Some((id, secret, lives)) = o.app.clone() else {
            return http::Reply::json(
                404,
                json!([{"errorCode": "NOT_FOUND", "message": "no app"}]),
            );
        };
        if f("grant_type") != Some("client_credentials")
            || f("client_id") != Some(id.as_str())
            || f("client_secret") != Some(secret.as_str())
        {
            return http::Reply::json(
                400,
                json!({"error": "invalid_client", "error_description": "invalid client credentials"}),
            );
        }
        let token = format!("00D5g000004fake!session-{:03}", o.sessions.len() + 1);
        o.sessions
            .push((token.clone(), std::time::Instant::now() + lives));
        return http::Reply::json(
            200,
            json!({"access_token": token, "instance_url": "https://fake.my.salesforce.com", "id": "https://login.salesforce.com/id/00D5g000004fakeEAA/005fake", "token_type": "Bearer", "issued_at": "1767225600000", "signature": "c2lnbmF0dXJl"}),
        );
    }
    let bearer = request.auth.strip_prefix("Bearer ").unwrap_or("");
    let live = o
        .sessions
        .iter()
        .any(|(t, until)| t == bearer && std::time::Instant::now() < *until);
    let (status, body, fault) = if bearer != TOKEN && !live {
        let (s, b) = error(401, "INVALID_SESSION_ID", "Session expired or invalid");
        (s, b, None)
    } else {
        o.used += 1;
        let fault = o.faults.pop_front();
        let (s, b) = match fault {
            Some(Fault::Unavailable) => error(503, "SERVER_UNAVAILABLE", "Server unavailable"),
            Some(Fault::LimitExceeded) => error(
                403,
                "REQUEST_LIMIT_EXCEEDED",
                "TotalRequests Limit exceeded.",
            ),
            Some(Fault::RepeatPage) => (200, o.previous.clone().unwrap_or(Value::Null)),
            _ => answer(&mut o, &path, soql.as_deref()),
        };
        let mut b = b;
        if s == 200 {
            match fault {
                Some(Fault::NoNext) => {
                    b["done"] = json!(false);
                    b.as_object_mut().map(|m| m.remove("nextRecordsUrl"));
                }
                Some(Fault::ShortDone) => {
                    b["done"] = json!(true);
                    b.as_object_mut().map(|m| m.remove("nextRecordsUrl"));
                }
                _ => {}
            }
            o.previous = Some(b.clone());
        }
        (s, b, fault)
    };
    o.served.push(Served {
        path: path.clone(),
        soql,
        status,
        fault,
    });
    http::Reply {
        status,
        headers: format!("Sforce-Limit-Info: api-usage={}/{}\r\n", o.used, o.limit),
        body,
        spoil: match fault {
            Some(Fault::Slow(ms)) => http::Spoil::Slow(ms),
            Some(Fault::CutOff) => http::Spoil::CutOff,
            Some(Fault::Malformed) => http::Spoil::Malformed,
            _ => http::Spoil::None,
        },
    }
}

/// A page of a result: from a new query, or from a locator.
fn answer(o: &mut Org, path: &str, soql: Option<&str>) -> (u16, Value) {
    let prefix = "/services/data/v62.0/";
    let Some(rest) = path.strip_prefix(prefix) else {
        return error(404, "NOT_FOUND", "The requested resource does not exist");
    };
    let (found, locator, offset) = match (rest, soql) {
        ("query" | "queryAll", Some(q)) => match run(o, q, rest == "queryAll") {
            Ok(found) => {
                let locator = format!("01gFAKE{:08}", o.locators.len() + 1);
                o.locators.insert(locator.clone(), found.clone());
                (found, locator, 0)
            }
            Err(e) => return e,
        },
        (r, None) if r.starts_with("query/") => {
            let (locator, offset) = r["query/".len()..].rsplit_once('-').unwrap_or(("", ""));
            let Some(found) = o.locators.get(locator) else {
                return error(400, "INVALID_QUERY_LOCATOR", "invalid query locator");
            };
            (
                found.clone(),
                locator.to_string(),
                offset.parse().unwrap_or(0),
            )
        }
        _ => return error(400, "MALFORMED_QUERY", "unexpected request"),
    };
    let recs = match found.object.as_str() {
        "Lead" | "Contact" => &o.leads,
        "LeadHistory" => &o.history,
        _ => &o.opportunities,
    };
    if found.fields == ["COUNT()"] {
        return (
            200,
            json!({"totalSize": found.at.len(), "done": true, "records": []}),
        );
    }
    let page: Vec<Value> = if found.object == "Organization" {
        vec![json!({"attributes": {"type": "Organization"}, "Id": o.org_id})]
    } else {
        found
            .at
            .iter()
            .skip(offset)
            .take(BATCH)
            .map(|&i| shown(&recs[i], &found.object, &found.fields))
            .collect()
    };
    let next = offset + page.len();
    let done = next >= found.at.len();
    let mut body = json!({"totalSize": found.at.len(), "done": done, "records": page});
    if !done {
        body["nextRecordsUrl"] = json!(format!("{prefix}query/{locator}-{next}"));
    }
    (200, body)
}

/// A record as a query returns it: `attributes`, then the fields selected.
fn shown(r: &Rec, object: &str, fields: &[String]) -> Value {
    let mut out = Map::new();
    out.insert(
        "attributes".into(),
        json!({"type": object, "url": format!("/services/data/v62.0/sobjects/{object}/{}", r.id)}),
    );
    for f in fields {
        let v = match f.as_str() {
            "Id" => json!(r.id),
            "SystemModstamp" => datetime(r.modstamp),
            "IsDeleted" => json!(r.deleted),
            f => r.fields.get(f).cloned().unwrap_or(Value::Null),
        };
        out.insert(f.clone(), v);
    }
    Value::Object(out)
}

/// Runs the SOQL revalign writes.
fn run(o: &Org, soql: &str, all: bool) -> Result<Found, (u16, Value)> {
    let malformed = |m: &str| error(400, "MALFORMED_QUERY", m);
    let rest = soql
        .strip_prefix("SELECT ")
        .ok_or_else(|| malformed("no SELECT"))?;
    let (fields, rest) = rest
        .split_once(" FROM ")
        .ok_or_else(|| malformed("no FROM"))?;
    let (object, filter) = rest.split_once(" WHERE ").unwrap_or((rest, ""));
    // Contacts are the leads again: an org that keeps no Leads.
    let recs = match object {
        "Lead" | "Contact" => &o.leads,
        "Opportunity" => &o.opportunities,
        "LeadHistory" => return history(o, fields, filter),
        "Organization" if fields == "Id" && filter.is_empty() => {
            return Ok(Found {
                object: object.into(),
                fields: vec!["Id".into()],
                at: vec![0],
            });
        }
        other => {
            return Err(error(
                400,
                "INVALID_TYPE",
                &format!("sObject type '{other}' is not supported."),
            ));
        }
    };
    let counting = fields == "COUNT()";
    let fields: Vec<String> = if counting {
        Vec::new()
    } else {
        fields.split(", ").map(String::from).collect()
    };
    // Every record has the same fields.
    let known: BTreeSet<&str> = recs
        .iter()
        .take(1)
        .flat_map(|r| r.fields.keys().map(String::as_str))
        .chain(["Id", "SystemModstamp", "IsDeleted"])
        .collect();
    if let Some(f) = fields.iter().find(|f| !known.contains(f.as_str())) {
        return Err(error(
            400,
            "INVALID_FIELD",
            &format!(
                "No such column '{f}' on entity '{object}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name."
            ),
        ));
    }
    let since = |clause: &str| -> Result<i64, (u16, Value)> {
        let t = clause
            .strip_prefix("SystemModstamp >= ")
            .ok_or_else(|| malformed("unexpected WHERE"))?;
        t.parse::<jiff::Timestamp>()
            .map(|t| t.as_millisecond())
            .map_err(|_| malformed("bad datetime"))
    };
    let (deleted, from) = match filter {
        "" => (false, None),
        f => match f.strip_prefix("IsDeleted = true AND ") {
            Some(rest) => (true, Some(since(rest)?)),
            None => (false, Some(since(f)?)),
        },
    };
    let at = recs
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            if deleted {
                r.deleted
            } else {
                all || !r.deleted
            }
        })
        .filter(|(_, r)| from.is_none_or(|t| r.modstamp >= t))
        .map(|(i, _)| i)
        .collect();
    Ok(Found {
        object: object.to_string(),
        fields: if counting {
            vec!["COUNT()".into()]
        } else {
            fields
        },
        at,
    })
}

/// A query of `LeadHistory`: `WHERE Field = '<f>'` and maybe
/// `AND LeadId IN ('<id>', ...)`.
fn history(o: &Org, fields: &str, filter: &str) -> Result<Found, (u16, Value)> {
    let malformed = |m: &str| error(400, "MALFORMED_QUERY", m);
    let fields: Vec<String> = fields.split(", ").map(String::from).collect();
    let known = [
        "Id",
        "LeadId",
        "Field",
        "OldValue",
        "NewValue",
        "CreatedDate",
    ];
    if let Some(f) = fields.iter().find(|f| !known.contains(&f.as_str())) {
        return Err(error(
            400,
            "INVALID_FIELD",
            &format!("No such column '{f}' on entity 'LeadHistory'."),
        ));
    }
    let (field, ids) = match filter.split_once(" AND ") {
        Some((f, ids)) => (f, Some(ids)),
        None => (filter, None),
    };
    if filter.contains("OldValue") || filter.contains("NewValue") {
        return Err(error(
            400,
            "INVALID_FIELD",
            "field 'NewValue' can not be filtered in a query call",
        ));
    }
    let quoted = |list: &str| -> Option<BTreeSet<String>> {
        list.split(", ")
            .map(|f| {
                f.strip_prefix('\'')
                    .and_then(|f| f.strip_suffix('\''))
                    .map(String::from)
            })
            .collect()
    };
    let wanted: BTreeSet<String> = match field.strip_prefix("Field = ") {
        Some(one) => quoted(one),
        None => field
            .strip_prefix("Field IN (")
            .and_then(|l| l.strip_suffix(')'))
            .and_then(quoted),
    }
    .ok_or_else(|| malformed("unexpected WHERE"))?;
    let ids: Option<BTreeSet<&str>> = match ids {
        None => None,
        Some(list) => {
            let list = list
                .strip_prefix("LeadId IN (")
                .and_then(|l| l.strip_suffix(')'))
                .ok_or_else(|| malformed("unexpected AND"))?;
            let mut set = BTreeSet::new();
            for id in list.split(", ") {
                let id = id
                    .strip_prefix('\'')
                    .and_then(|i| i.strip_suffix('\''))
                    .ok_or_else(|| malformed("unquoted id"))?;
                set.insert(id);
            }
            Some(set)
        }
    };
    let at = o
        .history
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            h.fields["Field"]
                .as_str()
                .is_some_and(|f| wanted.contains(f))
        })
        .filter(|(_, h)| {
            ids.as_ref()
                .is_none_or(|ids| ids.contains(h.fields["LeadId"].as_str().unwrap_or("")))
        })
        .map(|(i, _)| i)
        .collect();
    Ok(Found {
        object: "LeadHistory".into(),
        fields,
        at,
    })
}

/// The Status values Acme's stage times are written as in the history.
pub const STATUSES: [(&str, &str); 3] = [
    ("mql", "Marketing Qualified"),
    ("sal", "Accepted"),
    ("sql", "Sales Qualified"),
];

/// A lead's Status history made from its stage times (`created`, then
/// each `(time, status)`; epoch milliseconds): its creation (a `created`
/// row, when `created` is a time), the Status it was created with (`Open -
/// Not Contacted`, or the first stage's when entered at creation), one
/// change per entry, and the Status it has now. `n` numbers the rows' ids.
pub fn trail(
    lead: &str,
    created: i64,
    mut entries: Vec<(i64, &str)>,
    n: &mut usize,
) -> (Vec<Rec>, String) {
    entries.sort_by_key(|(t, _)| *t);
    let mut status = "Open - Not Contacted".to_string();
    let mut rows = Vec::new();
    if created > 0 {
        *n += 1;
        let mut fields = Map::new();
        fields.insert("LeadId".into(), json!(lead));
        fields.insert("Field".into(), json!("created"));
        fields.insert("OldValue".into(), Value::Null);
        fields.insert("NewValue".into(), Value::Null);
        fields.insert("CreatedDate".into(), datetime(created));
        rows.push(Rec {
            id: format!("017{n:012}"),
            fields,
            modstamp: created,
            deleted: false,
        });
    }
    for (k, (at, new)) in entries.into_iter().enumerate() {
        if k == 0 && created > 0 && at <= created {
            status = new.to_string();
            continue;
        }
        *n += 1;
        let mut fields = Map::new();
        fields.insert("LeadId".into(), json!(lead));
        fields.insert("Field".into(), json!("Status"));
        fields.insert("OldValue".into(), json!(status));
        fields.insert("NewValue".into(), json!(new));
        fields.insert("CreatedDate".into(), datetime(at));
        rows.push(Rec {
            id: format!("017{n:012}"),
            fields,
            modstamp: at,
            deleted: false,
        });
        status = new.to_string();
    }
    (rows, status)
}

/// Acme's export (`examples/acme/data`) as Leads and Opportunities: custom
/// fields named after the export's columns (`mql_at__c`, `segment__c`),
/// times in Salesforce's format, numbers and flags as JSON numbers and
/// booleans; opportunities' close time in `closed_at__c` (a datetime: the
/// standard `CloseDate` is a date).
pub fn acme(modstamp: i64) -> Org {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme/data");
    let value = |h: &str, v: &str| -> Value {
        if v.is_empty() {
            return Value::Null;
        }
        if h.ends_with("_at") {
            return v
                .parse::<jiff::Timestamp>()
                .map(|t| datetime(t.as_millisecond()))
                .unwrap_or(Value::Null);
        }
        match v {
            "true" => json!(true),
            "false" => json!(false),
            _ => v
                .parse::<f64>()
                .ok()
                .filter(|_| !h.ends_with("id") && h != "country")
                .map_or_else(|| json!(v), |n| json!(n)),
        }
    };
    let read = |file: &str, prefix: &str, name: &dyn Fn(&str) -> String| -> Vec<Rec> {
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
                let digits: String = r[0].chars().filter(char::is_ascii_digit).collect();
                let mut fields = Map::new();
                for (h, v) in headers.iter().zip(r.iter()).skip(1) {
                    fields.insert(name(h), value(h, v));
                }
                Rec {
                    id: format!("{prefix}{digits:0>12}"),
                    fields,
                    modstamp,
                    deleted: false,
                }
            })
            .collect()
    };
    let mut leads = read("leads.csv", "00Q", &|h| match h {
        "created_at" => "CreatedDate".into(),
        other => format!("{other}__c"),
    });
    // The Status history, from the stage times: every 40th accepted lead
    // is recycled an hour after acceptance and accepted again an hour
    // later (its first acceptance counts); every 10th lead has a Rating
    // change whose value reads like a Status (not a Status change).
    let ms = |v: &Value| {
        v.as_str()
            .and_then(|t| t.replace("+0000", "Z").parse::<jiff::Timestamp>().ok())
            .map(|t| t.as_millisecond())
    };
    let mut history = Vec::new();
    let mut n = 0;
    for (i, lead) in leads.iter_mut().enumerate() {
        // (One Acme lead has no creation time.)
        let created = ms(&lead.fields["CreatedDate"]).unwrap_or(i64::MIN);
        let mut entries: Vec<(i64, &str)> = STATUSES
            .iter()
            .filter_map(|(stage, status)| {
                Some((ms(&lead.fields[&format!("{stage}_at__c")])?, *status))
            })
            .collect();
        if let Some(&(sal, _)) = entries.iter().find(|(_, s)| *s == "Accepted")
            && i % 40 == 0
        {
            entries.push((sal + 3_600_000, "Recycled"));
            entries.push((sal + 7_200_000, "Accepted"));
        }
        let (rows, status) = trail(&lead.id, created, entries, &mut n);
        history.extend(rows);
        lead.fields.insert("Status".into(), json!(status));
        if i % 10 == 0 {
            n += 1;
            let mut fields = Map::new();
            fields.insert("LeadId".into(), json!(lead.id));
            fields.insert("Field".into(), json!("Rating"));
            fields.insert("OldValue".into(), json!("Accepted"));
            fields.insert("NewValue".into(), json!("Marketing Qualified"));
            fields.insert("CreatedDate".into(), datetime(created.max(0) + 1_000));
            history.push(Rec {
                id: format!("017{n:012}"),
                fields,
                modstamp: created,
                deleted: false,
            });
        }
    }
    let mut opportunities = read("deals.csv", "006", &|h| match h {
        "created_at" => "CreatedDate".into(),
        "won" => "IsWon".into(),
        "amount" => "Amount".into(),
        "currency" => "CurrencyIsoCode".into(),
        other => format!("{other}__c"),
    });
    for o in &mut opportunities {
        let closed = !o.fields["closed_at__c"].is_null();
        o.fields.insert("IsClosed".into(), json!(closed));
        let close_date = o.fields["closed_at__c"]
            .as_str()
            .map(|t| t[..10].to_string());
        o.fields.insert("CloseDate".into(), json!(close_date));
        if o.fields["IsWon"].is_null() {
            o.fields.insert("IsWon".into(), json!(false));
        }
    }
    Org {
        history,
        ..Org::new(leads, opportunities)
    }
}
