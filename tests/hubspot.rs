//! The `hubspot` source against a HubSpot stand-in on loopback that speaks
//! the CRM v3 search API's documented shapes: search bodies (filterGroups,
//! sorts, properties, limit, after), `paging.next.after`, the 10,000-result
//! cap (400 past it), the `X-HubSpot-RateLimit-*` headers and a rate limit it
//! enforces with 429s, error bodies (`category`, `policyName`). Faults are
//! queued per test: 429 with and without `Retry-After`, bursts of 503,
//! answers slower than the timeout, bodies cut off, malformed JSON, a
//! repeating cursor, the DAILY quota, a refused token.
//!
//! The Acme data served as contacts and deals gives the same scorecard as the
//! CSV export it comes from.

use std::collections::VecDeque;
use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

mod common;

const TOKEN: &str = "pat-na1-fake-0000-test-token";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    /// An ordinary answer (spaces out the faults between requests).
    Pass,
    TooMany(Option<u32>),
    Daily,
    Unavailable,
    Slow(u64),
    CutOff,
    Malformed,
    /// The previous page again (as if the keyset filter were ignored).
    RepeatPage,
    /// No records, yet a next page announced.
    EmptyWithNext,
    /// The last page, though the total says more remain.
    ShortEnd,
}

#[derive(Default)]
struct Hub {
    contacts: Vec<(u64, Map<String, Value>)>,
    deals: Vec<(u64, Map<String, Value>)>,
    faults: VecDeque<Fault>,
    /// Requests allowed per second (429 beyond).
    per_second: usize,
    recent: VecDeque<Instant>,
    requests: usize,
    limited: usize,
    bodies: Vec<Value>,
    /// When each request came, and the fault it met.
    times: Vec<(Instant, Option<Fault>)>,
    previous: Option<Value>,
}

/// HubSpot's time format: ISO 8601 with milliseconds and Z.
fn hubspot_time(v: &str) -> Value {
    if v.is_empty() {
        return Value::Null;
    }
    json!(v.replace('Z', ".000Z"))
}

fn records(
    csv: &Path,
    map: impl Fn(&str, &str) -> Option<(String, Value)>,
) -> Vec<(u64, Map<String, Value>)> {
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
            let mut props = Map::new();
            for (h, v) in headers.iter().zip(r.iter()).skip(1) {
                if let Some((k, v)) = map(h, v) {
                    props.insert(k, v);
                }
            }
            (id, props)
        })
        .collect()
}

/// Acme's export as HubSpot contacts and deals.
fn acme_hub() -> Hub {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme/data");
    let text = |v: &str| if v.is_empty() { Value::Null } else { json!(v) };
    let contacts = records(&data.join("leads.csv"), |h, v| {
        let name = match h {
            "created_at" => "createdate",
            "first_touch_at" => "hs_first_outreach_date",
            "lead_at" => "hs_lifecyclestage_lead_date",
            "mql_at" => "hs_lifecyclestage_marketingqualifiedlead_date",
            "sal_at" => "sal_date",
            "sql_at" => "hs_lifecyclestage_salesqualifiedlead_date",
            "opportunity_at" => "hs_lifecyclestage_opportunity_date",
            "customer_at" => "hs_lifecyclestage_customer_date",
            other => return Some((other.to_string(), text(v))),
        };
        Some((name.to_string(), hubspot_time(v)))
    });
    let deals = records(&data.join("deals.csv"), |h, v| match h {
        "created_at" => Some(("createdate".into(), hubspot_time(v))),
        "closed_at" => Some(("closedate".into(), hubspot_time(v))),
        "currency" => Some(("deal_currency_code".into(), text(v))),
        "won" => Some(("hs_is_closed_won".into(), text(v))),
        other => Some((other.to_string(), text(v))),
    });
    let mut deals = deals;
    let mut contacts = contacts;
    // Stored out of order: the search sorts only when asked to.
    let mut rng = fastrand::Rng::with_seed(11);
    rng.shuffle(&mut contacts);
    rng.shuffle(&mut deals);
    for (_, p) in &mut deals {
        // Closed when it has a close date, as the export reads it.
        let closed = !p["closedate"].is_null();
        p.insert("hs_is_closed".into(), json!(closed.to_string()));
    }
    Hub {
        contacts,
        deals,
        // HubSpot's search allows 5 a second; the stand-in refuses beyond 6
        // (a margin for loopback jitter), so a client that ignores the
        // search limit meets 429s, counted below.
        per_second: 6,
        ..Hub::default()
    }
}

/// Serves the hub until the test process ends; returns its base URL.
fn serve(hub: Arc<Mutex<Hub>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let hub = Arc::clone(&hub);
            std::thread::spawn(move || handle(stream, &hub));
        }
    });
    base
}

fn handle(mut stream: std::net::TcpStream, hub: &Mutex<Hub>) {
    let Some(common::Request {
        target,
        auth,
        body: sent,
        ..
    }) = common::read_request(&stream)
    else {
        return;
    };

    let mut extra = String::new();
    let (status, reply, fault) = {
        let mut h = hub.lock().expect("hub");
        h.requests += 1;
        h.bodies.push(sent.clone());
        let now = Instant::now();
        while h
            .recent
            .front()
            .is_some_and(|t| now - *t >= Duration::from_secs(1))
        {
            h.recent.pop_front();
        }
        // The headers describe the account's 10-second budget, as HubSpot's do.
        extra.push_str(
            "X-HubSpot-RateLimit-Max: 190\r\nX-HubSpot-RateLimit-Interval-Milliseconds: 10000\r\nX-HubSpot-RateLimit-Remaining: 150\r\n",
        );
        let served = if auth != format!("Bearer {TOKEN}") {
            (
                401,
                json!({"status": "error", "message": "Authentication credentials not found.", "category": "INVALID_AUTHENTICATION"}),
                None,
            )
        } else if h.recent.len() >= h.per_second {
            h.limited += 1;
            (
                429,
                json!({"status": "error", "message": "You have reached your secondly limit.", "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"}),
                None,
            )
        } else {
            h.recent.push_back(now);
            // A fault is met only by a request that got this far.
            let fault = h.faults.pop_front();
            match fault {
                Some(Fault::TooMany(after)) => {
                    if let Some(s) = after {
                        extra.push_str(&format!("Retry-After: {s}\r\n"));
                    }
                    (
                        429,
                        json!({"status": "error", "message": "You have reached your secondly limit.", "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"}),
                        fault,
                    )
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
                    json!({"total": 5, "results": [], "paging": {"next": {"after": "5"}}}),
                    fault,
                ),
                other => {
                    let (s, mut v) = search(&h, &target, &sent);
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
        h.times.push((now, served.2));
        served
    };
    let mut text = reply.to_string();
    match fault {
        Some(Fault::Slow(ms)) => std::thread::sleep(Duration::from_millis(ms)),
        Some(Fault::Malformed) => text = text[..text.len() / 2].to_string() + "}",
        _ => {}
    }
    let declared = if fault == Some(Fault::CutOff) {
        text.len() * 2
    } else {
        text.len()
    };
    if fault == Some(Fault::CutOff) {
        text.truncate(text.len() / 2);
    }
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{extra}Content-Length: {declared}\r\nConnection: close\r\n\r\n{text}"
    );
    let _ = stream.flush();
}

/// POST /crm/v3/objects/{contacts|deals}/search.
fn search(h: &Hub, target: &str, sent: &Value) -> (u16, Value) {
    let list = match target {
        "/crm/v3/objects/contacts/search" => &h.contacts,
        "/crm/v3/objects/deals/search" => &h.deals,
        _ => {
            return (
                404,
                json!({"status": "error", "message": "Not found", "category": "OBJECT_NOT_FOUND"}),
            );
        }
    };
    let after: usize = sent["after"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let limit = sent["limit"].as_u64().unwrap_or(10).min(200) as usize;
    if after + limit > 10_000 {
        return (
            400,
            json!({"status": "error", "message": "Cannot page past 10000 results", "category": "VALIDATION_ERROR"}),
        );
    }
    let gt: u64 = sent["filterGroups"][0]["filters"]
        .as_array()
        .and_then(|fs| {
            fs.iter()
                .find(|f| f["propertyName"] == "hs_object_id" && f["operator"] == "GT")
        })
        .and_then(|f| f["value"].as_str())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let props: Vec<String> = sent["properties"]
        .as_array()
        .map(|p| {
            p.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let mut matching: Vec<&(u64, Map<String, Value>)> =
        list.iter().filter(|(id, _)| *id > gt).collect();
    let sort = &sent["sorts"][0];
    if sort["propertyName"] == "hs_object_id" && sort["direction"] == "ASCENDING" {
        matching.sort_by_key(|(id, _)| *id);
    }
    let page: Vec<Value> = matching
        .iter()
        .skip(after)
        .take(limit)
        .map(|(id, p)| {
            let mut out = Map::new();
            out.insert("hs_object_id".into(), json!(id.to_string()));
            for name in &props {
                // Requested properties come back, null when unset; unknown ones do not.
                if let Some(v) = p.get(name) {
                    out.insert(name.clone(), v.clone());
                }
            }
            json!({"id": id.to_string(), "properties": out, "archived": false})
        })
        .collect();
    let mut reply = json!({"total": matching.len(), "results": page});
    if after + limit < matching.len() {
        reply["paging"] = json!({"next": {"after": (after + limit).to_string()}});
    }
    (200, reply)
}

/// Acme with its export replaced by a `hubspot` source at `base`.
fn alignment(base: &str, timeout: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    common::copy_alignment(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme"),
        tmp.path(),
    );
    let manifest = tmp.path().join("revalign.toml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(
        &manifest,
        format!(
            "{text}\n[source.hubspot]\nkind = \"hubspot\"\ntoken_env = \"HUBSPOT_TOKEN\"\nbase_url = \"{base}\"\ntimeout = \"{timeout}\"\ncolumns = {{ sal = \"sal_date\" }}\n"
        ),
    )
    .expect("write");
    tmp
}

fn check(dir: &Path, source: &str, token: Option<&str>) -> (i32, Value, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_revalign"));
    cmd.args([
        "check",
        ".",
        "--format",
        "json",
        "--period",
        "2026-10",
        "--last",
        "2",
        "--as-of",
        "2026-11-01",
        "--source",
        source,
    ])
    .current_dir(dir)
    .env_clear()
    .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    if let Some(t) = token {
        cmd.env("HUBSPOT_TOKEN", t);
    }
    let out = cmd.output().expect("run revalign");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // Whatever token was given never shows: not in output, not in the cache.
    let mut written = format!("{stdout}{stderr}");
    if let Ok(entries) = std::fs::read_dir(dir.join(".revalign/cache/hubspot")) {
        for e in entries.flatten() {
            written.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
        }
    }
    for t in [Some(TOKEN), token].into_iter().flatten() {
        assert!(!written.contains(t), "the token is never printed or cached");
    }
    let doc = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout} {stderr}"));
    (out.status.code().unwrap_or(-1), doc, stderr)
}

/// Status, counts and value of every result, and the drift counts.
fn numbers(doc: &Value) -> Vec<String> {
    let mut out: Vec<String> = doc["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} {} {}",
                r["id"], r["period"], r["status"], r["actual"], r["hits"], r["total"]
            )
        })
        .collect();
    for d in doc["drift"].as_array().expect("drift") {
        out.push(format!(
            "drift {} {} {} {}",
            d["stage"], d["judged"], d["drifted"], d["left_funnel"]
        ));
    }
    out
}

fn statuses(doc: &Value) -> Vec<(String, String)> {
    doc["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap_or("").to_string(),
                format!(
                    "{} | {}",
                    r["note"].as_str().unwrap_or(""),
                    r["help"].as_str().unwrap_or("")
                ),
            )
        })
        .collect()
}

#[test]
fn acme_from_hubspot_equals_the_export_through_faults() {
    let hub = Arc::new(Mutex::new(acme_hub()));
    // Faults on the way, each recovered from: a 429 without Retry-After, one
    // with Retry-After: 3, a burst of 503s (five failures in a row: the sixth
    // and last try of that request succeeds), then an answer slower than the
    // timeout and a body cut off.
    hub.lock().expect("hub").faults = VecDeque::from(vec![
        Fault::TooMany(None),
        Fault::TooMany(Some(3)),
        Fault::Unavailable,
        Fault::Unavailable,
        Fault::Unavailable,
        Fault::Pass,
        Fault::Slow(2500),
        Fault::Pass,
        Fault::CutOff,
    ]);
    let base = serve(Arc::clone(&hub));
    let dir = alignment(&base, "1s");
    let (code, api, stderr) = check(dir.path(), "hubspot", Some(TOKEN));
    let first_error = statuses(&api).into_iter().find(|(s, _)| s == "error");
    assert_eq!(
        code, 1,
        "acme misses targets in October: {stderr} {first_error:?}"
    );
    let (_, csv, _) = check(dir.path(), "crm_export", None);
    let cache = dir.path().join(".revalign/cache/hubspot");
    let lines = |f: &str| {
        std::fs::read_to_string(cache.join(f))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    assert_eq!(
        (lines("contacts.ndjson"), lines("deals.ndjson")),
        (48_000, 1_709),
        "every record fetched, once"
    );
    assert_eq!(numbers(&api), numbers(&csv));
    assert!(numbers(&api).len() > 40);

    let h = hub.lock().expect("hub");
    assert!(h.faults.is_empty(), "every fault was met");
    // Keyset paging: after the first page every search asks for the ids
    // after the last one seen, sorted, and never pages by offset.
    assert!(
        h.bodies
            .iter()
            .all(|b| b["after"].is_null() && b["limit"] == 200)
    );
    assert!(
        h.bodies
            .iter()
            .all(|b| b["sorts"][0]["direction"] == "ASCENDING")
    );
    let keyset = h
        .bodies
        .iter()
        .filter(|b| b["filterGroups"][0]["filters"][0]["operator"] == "GT")
        .count();
    assert!(keyset >= 240, "{keyset}");
    // The client kept to the search limit (5 a second) though the headers
    // allowed 190 in 10 seconds: the stand-in never had to refuse it.
    assert_eq!(h.limited, 0, "requests over the rate limit");
    // Retry-After: 3 was waited for.
    let at = h
        .times
        .iter()
        .position(|(_, f)| *f == Some(Fault::TooMany(Some(3))))
        .expect("the Retry-After fault");
    let gap = h.times[at + 1].0 - h.times[at].0;
    assert!(gap >= Duration::from_secs(3), "{gap:?}");
    // The cache of what was fetched, ignored by git, with no partial file.
    assert!(!cache.join("contacts.ndjson.partial").exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".revalign/.gitignore"))
            .expect("gitignore")
            .lines()
            .last(),
        Some("*")
    );
}

#[test]
fn what_cannot_be_fetched_is_an_error_never_a_number() {
    /// The faults met, the token given, what the error says, its help, and
    /// how many requests the client makes.
    type Case<'a> = (Vec<Fault>, Option<&'a str>, &'a str, &'a str, Option<usize>);
    let unavailable = vec![Fault::Unavailable; 6];
    let cases: [Case; 8] = [
        (
            vec![],
            Some("pat-wrong"),
            "HubSpot refused the token in HUBSPOT_TOKEN",
            "export it as HUBSPOT_TOKEN",
            Some(1),
        ),
        (
            vec![],
            None,
            "the environment variable HUBSPOT_TOKEN is not set",
            "private app token",
            Some(0),
        ),
        (
            vec![Fault::Daily],
            Some(TOKEN),
            "daily API limit is used up (DAILY)",
            "after midnight",
            Some(1),
        ),
        (
            unavailable,
            Some(TOKEN),
            "the contacts search failed 6 times (last: HTTP 503)",
            "run again later",
            Some(6),
        ),
        (
            vec![Fault::Malformed],
            Some(TOKEN),
            "is not JSON",
            "run again",
            Some(1),
        ),
        (
            vec![Fault::Pass, Fault::RepeatPage],
            Some(TOKEN),
            "out of order",
            "run again",
            Some(2),
        ),
        (
            vec![Fault::Pass, Fault::EmptyWithNext],
            Some(TOKEN),
            "empty page that says more records follow",
            "run again",
            Some(2),
        ),
        (
            vec![Fault::Pass, Fault::ShortEnd],
            Some(TOKEN),
            "ended with 200 of the",
            "run again",
            Some(2),
        ),
    ];
    for (faults, token, want, help, requests) in cases {
        let hub = Arc::new(Mutex::new(acme_hub()));
        hub.lock().expect("hub").faults = VecDeque::from(faults);
        let base = serve(Arc::clone(&hub));
        let dir = alignment(&base, "5s");
        let (code, doc, stderr) = check(dir.path(), "hubspot", token);
        assert_eq!(code, 3, "{want}: {stderr}");
        let all = statuses(&doc);
        assert!(!all.is_empty(), "{want}: targets judged");
        for (status, note) in all {
            assert_eq!(status, "error", "{want}: {note}");
            assert!(note.contains(want) && note.contains(help), "{want}: {note}");
        }
        if let Some(n) = requests {
            assert_eq!(
                hub.lock().expect("hub").requests,
                n,
                "{want}: requests made"
            );
        }
    }
}
