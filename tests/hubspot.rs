//! The `hubspot` source against a HubSpot stand-in on loopback
//! (`tests/fake/hubspot.rs`) that speaks the CRM v3 API's documented shapes:
//! the objects list and its cursors, the search with its filters, keyset and
//! 10,000-result cap, the rate-limit headers and limits it enforces with
//! 429s, error bodies; with faults queued per test.
//!
//! The Acme data served as contacts and deals gives the same scorecard as the
//! CSV export it comes from, fetched whole, through faults, and brought up to
//! date incrementally (which must leave the same cache as a full fetch).

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

mod common;
#[path = "fake/hubspot.rs"]
mod fake;
use common::http;

use fake::{Fault, Hub, Rec, TOKEN, serve};

/// Acme's export as HubSpot contacts and deals, in an account allowing 50
/// requests a second (500 per 10 s in its headers).
fn acme_hub() -> Hub {
    fake::acme(48_000, 50)
}

/// Acme with its export replaced by a `hubspot` source at `base`.
fn alignment(base: &str, timeout: &str) -> tempfile::TempDir {
    common::acme_with_source(&format!(
        "[source.hubspot]\nkind = \"hubspot\"\ntoken_env = \"HUBSPOT_TOKEN\"\nbase_url = \"{base}\"\ntimeout = \"{timeout}\"\ncolumns = {{ sal = \"sal_date\" }}\n"
    ))
}

fn check(dir: &Path, source: &str, token: Option<&str>) -> (i32, Value, String) {
    check_with(dir, source, token, &[])
}

fn check_with(
    dir: &Path,
    source: &str,
    token: Option<&str>,
    extra: &[&str],
) -> (i32, Value, String) {
    let env: Vec<(&str, &str)> = token.map(|t| ("HUBSPOT_TOKEN", t)).into_iter().collect();
    common::check_api(dir, source, &env, extra, &[TOKEN])
}

use common::{numbers, statuses};

/// The cache's contacts and deals files.
fn cached(dir: &Path) -> (String, String) {
    let cache = dir.join(".revalign/cache/hubspot");
    let read = |f: &str| std::fs::read_to_string(cache.join(f)).unwrap_or_default();
    (read("contacts.ndjson"), read("deals.ndjson"))
}

#[test]
fn acme_from_hubspot_equals_the_export_through_faults() {
    let hub = Arc::new(Mutex::new(acme_hub()));
    // Faults on the way, each recovered from: a 429 without Retry-After, one
    // with Retry-After: 3, a burst of 503s (five failures in a row: the sixth
    // and last try of that request succeeds), then an answer slower than the
    // timeout and a body cut off.
    hub.lock().expect("hub").faults = VecDeque::from(vec![
        Fault::Pass,
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
    let (contacts, deals) = cached(dir.path());
    assert_eq!(
        (contacts.lines().count(), deals.lines().count()),
        (48_000, 1_709),
        "every record fetched, once"
    );
    assert_eq!(numbers(&api), numbers(&csv));
    assert!(numbers(&api).len() > 40);
    // Progress went to standard error, in plain lines (not a terminal).
    assert!(
        stderr.contains("hubspot: contacts: fetching 48000 records")
            && stderr.contains("hubspot: contacts: 48000 records fetched in"),
        "{stderr}"
    );

    {
        let h = hub.lock().expect("hub");
        assert!(h.faults.is_empty(), "every fault was met");
        // Every record from the objects list, 100 a page, by its cursor: one
        // count for each kind, then the pages.
        let lists: Vec<&fake::Served> = h
            .served
            .iter()
            .filter(|s| s.method == "GET" && s.path.starts_with("/crm/"))
            .collect();
        let ok = |path: &str| {
            lists
                .iter()
                .filter(|s| {
                    s.path == path
                        && s.status == 200
                        && !matches!(s.fault, Some(Fault::Slow(_) | Fault::CutOff))
                })
                .count()
        };
        assert_eq!(ok("/crm/v3/objects/contacts"), 480);
        assert_eq!(ok("/crm/v3/objects/deals"), 18);
        assert!(lists.iter().all(|s| {
            s.query.contains(&("limit".into(), "100".into()))
                && s.query.contains(&("archived".into(), "false".into()))
        }));
        assert_eq!(
            h.served
                .iter()
                .filter(|s| s.method == "POST" && s.status == 200)
                .count(),
            2,
            "one count per kind"
        );
        // The client kept to the account's budget (50 a second, in the
        // headers): the stand-in never had to refuse it.
        assert_eq!(h.limited, 0, "requests over the rate limit");
        // Retry-After: 3 was waited for.
        let at = h
            .served
            .iter()
            .position(|s| s.fault == Some(Fault::TooMany(Some(3))))
            .expect("the Retry-After fault");
        let gap = h.served[at + 1].at - h.served[at].at;
        assert!(gap >= Duration::from_secs(3), "{gap:?}");
    }
    // The cache of what was fetched, ignored by git, with no partial file.
    let cache = dir.path().join(".revalign/cache/hubspot");
    assert!(!cache.join("contacts.ndjson.partial").exists());
    assert!(cache.join("contacts.meta.json").exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".revalign/.gitignore"))
            .expect("gitignore")
            .lines()
            .last(),
        Some("*")
    );

    // Run again: nothing changed, so per kind one search for what changed,
    // one page of archived records and a count (a search for one record);
    // the same numbers.
    let before = hub.lock().expect("hub").served.len();
    let (_, again, stderr) = check(dir.path(), "hubspot", Some(TOKEN));
    assert_eq!(numbers(&again), numbers(&csv), "{stderr}");
    assert!(stderr.contains("0 changed since"), "{stderr}");
    let h = hub.lock().expect("hub");
    let since: Vec<String> = h.served[before..]
        .iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert_eq!(
        since,
        [
            "GET /account-info/v3/details",
            "POST /crm/v3/objects/contacts/search",
            "GET /crm/v3/objects/contacts",
            "POST /crm/v3/objects/contacts/search",
            "POST /crm/v3/objects/deals/search",
            "GET /crm/v3/objects/deals",
            "POST /crm/v3/objects/deals/search",
        ]
    );
}

#[test]
fn an_incremental_fetch_leaves_the_cache_a_full_one_would() {
    let hub = Arc::new(Mutex::new(acme_hub()));
    // HubSpot's clock runs ten minutes behind this machine's: a sync's
    // start must be read by the earlier one, or these changes would be
    // missed.
    hub.lock().expect("hub").skew_ms = -10 * 60_000;
    let base = serve(Arc::clone(&hub));
    let dir = alignment(&base, "5s");
    let (_, first, stderr) = check(dir.path(), "hubspot", Some(TOKEN));
    assert!(numbers(&first).len() > 40, "{stderr}");

    // Meanwhile in HubSpot: 12,000 contacts change (more than one search
    // may return: keyset paging must go past the 10,000 cap), 40 are
    // deleted, 25 are created, 30 deals change.
    let now = hub.lock().expect("hub").now_ms();
    {
        let mut h = hub.lock().expect("hub");
        let mut ids: Vec<usize> = (0..h.contacts.len()).collect();
        fastrand::Rng::with_seed(5).shuffle(&mut ids);
        for (n, &i) in ids.iter().take(12_040).enumerate() {
            let r = &mut h.contacts[i];
            r.modified = now;
            if n < 40 {
                r.archived = true;
            } else {
                // Every changed contact became an MQL on 14 October.
                r.props.insert(
                    "hs_lifecyclestage_marketingqualifiedlead_date".into(),
                    json!("2026-10-14T15:00:00.000Z"),
                );
            }
        }
        let top = h.contacts.iter().map(|r| r.id).max().unwrap_or(0);
        let template = h.contacts[ids[20_000]].props.clone();
        for k in 1..=25 {
            let mut props = template.clone();
            props.insert("createdate".into(), json!("2026-10-20T12:00:00.000Z"));
            h.contacts.push(Rec {
                id: top + k,
                props,
                modified: now,
                archived: false,
            });
        }
        for d in h.deals.iter_mut().take(30) {
            d.modified = now;
            d.props.insert("amount".into(), json!("12345.5"));
        }
    }
    let before = hub.lock().expect("hub").served.len();
    let (_, updated, stderr) = check(dir.path(), "hubspot", Some(TOKEN));
    assert!(stderr.contains("12025 changed since"), "{stderr}");
    assert!(stderr.contains("40 removed"), "{stderr}");
    assert_ne!(numbers(&updated), numbers(&first), "the changes matter");
    let incremental = cached(dir.path());
    {
        let h = hub.lock().expect("hub");
        let served = &h.served[before..];
        let mut searches: Vec<&fake::Served> = served
            .iter()
            .filter(|s| s.path == "/crm/v3/objects/contacts/search")
            .collect();
        // 12,025 changed contacts, 200 a page; then the count.
        let count = searches.pop().expect("the count");
        assert_eq!((count.body["limit"].as_u64(), count.status), (Some(1), 200));
        assert!(count.body["filterGroups"].is_null());
        assert_eq!(searches.len(), 61);
        assert!(
            searches.iter().all(|s| s.body["after"].is_null()),
            "keyset, no offsets"
        );
        assert!(searches.iter().all(|s| s.status == 200));
        // The modified-since filter on every page, from before the last sync.
        assert!(searches.iter().all(|s| {
            let f = &s.body["filterGroups"][0]["filters"][0];
            f["propertyName"] == "lastmodifieddate"
                && f["operator"] == "GTE"
                && f["value"]
                    .as_str()
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v < now)
        }));
        // No full listing: only the archived records, one page each kind.
        let lists: Vec<&fake::Served> = served
            .iter()
            .filter(|s| s.method == "GET" && s.path.starts_with("/crm/"))
            .collect();
        assert_eq!(lists.len(), 2);
        assert!(
            lists
                .iter()
                .all(|s| s.query.contains(&("archived".into(), "true".into())))
        );
        assert_eq!(h.limited, 0);
    }

    // --refresh fetches everything again: the same cache, the same numbers.
    let (_, full, stderr) = check_with(dir.path(), "hubspot", Some(TOKEN), &["--refresh"]);
    assert!(
        stderr.contains("fetching every record again: --refresh was given"),
        "{stderr}"
    );
    assert_eq!(numbers(&full), numbers(&updated));
    let refreshed = cached(dir.path());
    assert_eq!(refreshed.0.lines().count(), 48_000 - 40 + 25);
    assert!(
        incremental == refreshed,
        "the incremental cache equals a full fetch"
    );

    // 7 contacts are deleted past the archive (a GDPR delete): no change
    // says so, but the count does, and everything is fetched again.
    {
        let mut h = hub.lock().expect("hub");
        for _ in 0..7 {
            h.contacts.remove(1_000);
        }
    }
    let (_, purged, stderr) = check(dir.path(), "hubspot", Some(TOKEN));
    assert!(
        stderr.contains("contacts: fetching every record again: 7 of its 47985 records are no longer in HubSpot (47978 there: deleted past its archive or recycle bin)"),
        "{stderr}"
    );
    let after = cached(dir.path());
    assert_eq!(after.0.lines().count(), 48_000 - 40 + 25 - 7);
    let (_, full, _) = check_with(dir.path(), "hubspot", Some(TOKEN), &["--refresh"]);
    assert_eq!(numbers(&full), numbers(&purged));
    assert!(
        after == cached(dir.path()),
        "the same cache as a full fetch"
    );
}

#[test]
fn a_corrupt_or_foreign_cache_is_rebuilt_never_trusted() {
    let hub = Arc::new(Mutex::new(acme_hub()));
    let base = serve(Arc::clone(&hub));
    let dir = alignment(&base, "5s");
    let (_, csv, _) = check(dir.path(), "crm_export", None);
    let (_, _, stderr) = check(dir.path(), "hubspot", Some(TOKEN));
    assert!(!stderr.contains("again"), "{stderr}");
    let cache = dir.path().join(".revalign/cache/hubspot");
    let full_lists = |hub: &Mutex<Hub>| {
        hub.lock()
            .expect("hub")
            .served
            .iter()
            .filter(|s| s.query.contains(&("archived".into(), "false".into())))
            .count()
    };

    // Edited: one value changed by hand.
    let contacts = cache.join("contacts.ndjson");
    let text = std::fs::read_to_string(&contacts).expect("cache");
    std::fs::write(&contacts, text.replacen("2026-10", "2026-09", 1)).expect("edit");
    let lists = full_lists(&hub);
    let (_, api, stderr) = check(dir.path(), "hubspot", Some(TOKEN));
    assert!(
        stderr.contains(
            "contacts: fetching every record again: its records differ from what was written"
        ),
        "{stderr}"
    );
    assert_eq!(full_lists(&hub) - lists, 480, "contacts listed again");
    assert_eq!(numbers(&api), numbers(&csv));

    // Cut short, as by a full disk.
    std::fs::write(&contacts, &text[..text.len() / 2]).expect("cut");
    let (_, api, stderr) = check(dir.path(), "hubspot", Some(TOKEN));
    assert!(stderr.contains("its records differ"), "{stderr}");
    assert_eq!(numbers(&api), numbers(&csv));

    // Foreign: written for another account's API.
    let meta_path = cache.join("deals.meta.json");
    let mut meta: Value =
        serde_json::from_str(&std::fs::read_to_string(&meta_path).expect("meta")).expect("json");
    meta["origin"] = json!("https://api-eu1.hubapi.com");
    std::fs::write(&meta_path, meta.to_string()).expect("write");
    let (_, api, stderr) = check(dir.path(), "hubspot", Some(TOKEN));
    assert!(
        stderr.contains("deals: fetching every record again: it holds records of hubspot at https://api-eu1.hubapi.com"),
        "{stderr}"
    );
    assert_eq!(numbers(&api), numbers(&csv));

    // Another account: the token now reaches another portal.
    hub.lock().expect("hub").portal = 99_999;
    let (_, api, stderr) = check(dir.path(), "hubspot", Some(TOKEN));
    assert!(
        stderr.contains("contacts: fetching every record again: it holds records of account 62515, and the credentials now reach account 99999"),
        "{stderr}"
    );
    assert_eq!(numbers(&api), numbers(&csv));

    // Its description torn.
    std::fs::write(&meta_path, "{\"format\": 1, \"vend").expect("tear");
    let (_, api, stderr) = check(dir.path(), "hubspot", Some(TOKEN));
    assert!(
        stderr.contains("its description is missing or unreadable"),
        "{stderr}"
    );
    assert_eq!(numbers(&api), numbers(&csv));
}

#[test]
fn what_cannot_be_fetched_is_an_error_never_a_number() {
    /// The faults met, the token given, what the error says, its help, and
    /// how many requests the client makes.
    type Case<'a> = (Vec<Fault>, Option<&'a str>, &'a str, &'a str, usize);
    let cases: [Case; 8] = [
        (
            vec![],
            Some("pat-wrong"),
            "HubSpot refused the token in HUBSPOT_TOKEN",
            "export it as HUBSPOT_TOKEN",
            1,
        ),
        (
            vec![],
            None,
            "the environment variable HUBSPOT_TOKEN is not set",
            "private app token",
            0,
        ),
        (
            vec![Fault::Daily],
            Some(TOKEN),
            "daily API limit is used up (DAILY)",
            "after midnight",
            1,
        ),
        (
            vec![Fault::Unavailable; 6],
            Some(TOKEN),
            "the account details failed 6 times (last: HTTP 503)",
            "run again later",
            6,
        ),
        (
            vec![Fault::Pass, Fault::Malformed],
            Some(TOKEN),
            "is not JSON",
            "run again",
            2,
        ),
        (
            vec![Fault::Pass, Fault::Pass, Fault::Pass, Fault::RepeatPage],
            Some(TOKEN),
            "the contacts list returned record",
            "run again",
            4,
        ),
        (
            vec![Fault::Pass, Fault::Pass, Fault::EmptyWithNext],
            Some(TOKEN),
            "empty page that says more records follow",
            "run again",
            3,
        ),
        (
            // The listing's second page comes without its cursor: it looks
            // like the end, but a new count says otherwise.
            vec![Fault::Pass, Fault::Pass, Fault::Pass, Fault::ShortEnd],
            Some(TOKEN),
            "the contacts list ended with 200 of the 48000 records it holds",
            "run again",
            5,
        ),
    ];
    for (faults, token, want, help, requests) in cases {
        let hub = Arc::new(Mutex::new(acme_hub()));
        hub.lock().expect("hub").faults = VecDeque::from(faults);
        let base = serve(Arc::clone(&hub));
        let dir = alignment(&base, "5s");
        let (code, doc, stderr) = check(dir.path(), "hubspot", token);
        assert_eq!(code, 3, "{want}: {stderr}");
        common::assert_all_errors(&doc, want, help);
        assert_eq!(
            hub.lock().expect("hub").served.len(),
            requests,
            "{want}: requests made"
        );
        // A failed fetch leaves no cache to trust and no partial file.
        let cache = dir.path().join(".revalign/cache/hubspot");
        assert!(!cache.join("contacts.ndjson").exists(), "{want}");
        assert!(!cache.join("contacts.ndjson.partial").exists(), "{want}");
    }
}

#[test]
fn a_token_is_never_sent_in_clear_over_a_network() {
    let dir = alignment("http://api.hubapi.com", "5s");
    let (code, doc, _) = check(dir.path(), "hubspot", Some(TOKEN));
    assert_eq!(code, 3);
    for (status, note) in statuses(&doc) {
        assert_eq!(status, "error");
        assert!(
            note.contains(
                "base_url `http://api.hubapi.com` is http, which would send the token unencrypted"
            ) && note.contains("use an https URL"),
            "{note}"
        );
    }
}

#[test]
fn oauth_access_is_renewed_before_it_expires_and_after_a_401() {
    let secret = "oauth-client-secret-0000";
    let refresh = "oauth-refresh-token-0000";
    let hub = Arc::new(Mutex::new(acme_hub()));
    let app = |lives: u64, says: u64| fake::App {
        client_id: "revalign-test-app".into(),
        client_secret: secret.into(),
        refresh_token: refresh.into(),
        lives: Duration::from_secs(lives),
        says: Duration::from_secs(says),
    };
    // Access tokens live 2 seconds and the endpoint says so.
    hub.lock().expect("hub").app = Some(app(2, 2));
    let base = serve(Arc::clone(&hub));
    let dir = alignment(&base, "5s");
    let manifest = dir.path().join("revalign.toml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(
        &manifest,
        text.replace(
            "token_env = \"HUBSPOT_TOKEN\"",
            "client_id_env = \"HUBSPOT_CLIENT_ID\"\nclient_secret_env = \"HUBSPOT_CLIENT_SECRET\"\nrefresh_token_env = \"HUBSPOT_REFRESH_TOKEN\"",
        ),
    )
    .expect("write");
    let run = |refresh_token: &str, extra: &[&str]| {
        let env = [
            ("HUBSPOT_CLIENT_ID", "revalign-test-app"),
            ("HUBSPOT_CLIENT_SECRET", secret),
            ("HUBSPOT_REFRESH_TOKEN", refresh_token),
        ];
        let issued: Vec<String> = hub
            .lock()
            .expect("hub")
            .issued
            .iter()
            .map(|(t, _)| t.clone())
            .collect();
        let mut secrets: Vec<&str> = issued.iter().map(String::as_str).collect();
        secrets.extend([secret, refresh, TOKEN]);
        let out = common::check_api(dir.path(), "hubspot", &env, extra, &secrets);
        // The access tokens issued during the run, too: not in the output,
        // not in the cache.
        let mut written = format!("{}{}", out.1, out.2);
        for f in ["contacts", "deals"] {
            for ext in ["ndjson", "meta.json"] {
                let path = dir
                    .path()
                    .join(format!(".revalign/cache/hubspot/{f}.{ext}"));
                written.push_str(&std::fs::read_to_string(path).unwrap_or_default());
            }
        }
        for (token, _) in &hub.lock().expect("hub").issued {
            assert!(!written.contains(token.as_str()), "{token} written");
        }
        out
    };
    let (_, csv, _) = common::check_api(dir.path(), "crm_export", &[], &[], &[]);

    let (code, api, stderr) = run(refresh, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(numbers(&api), numbers(&csv));
    {
        let h = hub.lock().expect("hub");
        // The full listing takes over ten seconds: renewed before each token
        // ran out, so no request was refused.
        assert!(h.issued.len() >= 4, "{}", h.issued.len());
        assert!(h.served.iter().all(|s| s.status != 401));
    }

    // The endpoint now says an hour, but tokens still last 2 seconds: each
    // 401 renews the token once and the request goes again.
    hub.lock().expect("hub").app = Some(app(2, 3600));
    let before = hub.lock().expect("hub").issued.len();
    let (code, api, stderr) = run(refresh, &["--refresh"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(numbers(&api), numbers(&csv));
    {
        let h = hub.lock().expect("hub");
        let refused = h.served.iter().filter(|s| s.status == 401).count();
        assert!(refused >= 3, "{refused}");
        assert!(
            h.issued.len() - before > refused,
            "a renewal after each 401"
        );
    }

    // A refresh token the app does not know: an error naming the variables.
    let (code, doc, _) = run("oauth-refresh-token-revoked", &["--refresh"]);
    assert_eq!(code, 3);
    for (status, note) in statuses(&doc) {
        assert_eq!(status, "error");
        assert!(
            note.contains("HubSpot refused the OAuth credentials in HUBSPOT_CLIENT_ID, HUBSPOT_CLIENT_SECRET and HUBSPOT_REFRESH_TOKEN (HTTP 400 missing or unknown refresh token)")
                && note.contains("not revoked"),
            "{note}"
        );
    }
}

#[test]
fn leads_can_be_hubspot_lead_records() {
    // A portal keeping its leads as HubSpot Lead records (the stand-in
    // serves the Acme contacts there, with `hs_createdate` and
    // `hs_v2_date_entered_<stage>` for the contacts' `createdate` and
    // `hs_lifecyclestage_<stage>_date`): `leads = "leads"`, the stage dates
    // mapped, the creation time by default.
    let hub = Arc::new(Mutex::new(acme_hub()));
    let base = serve(Arc::clone(&hub));
    let dir = alignment(&base, "5s");
    let manifest = dir.path().join("revalign.toml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    let stages = [
        ("lead", "lead"),
        ("mql", "marketingqualifiedlead"),
        ("sql", "salesqualifiedlead"),
        ("opportunity", "opportunity"),
        ("customer", "customer"),
    ]
    .map(|(s, h)| format!("{s} = \"hs_v2_date_entered_{h}\""))
    .join(", ");
    let mapped = text.replace(
        "columns = { sal = \"sal_date\" }",
        &format!(
            "columns = {{ sal = \"sal_date\", first_touch = \"hs_first_outreach_date\", {stages} }}"
        ),
    );
    assert_ne!(mapped, text);
    std::fs::write(&manifest, format!("{mapped}leads = \"leads\"\n")).expect("write");
    let (_, csv, _) = check(dir.path(), "crm_export", None);
    let (code, api, stderr) = check(dir.path(), "hubspot", Some(TOKEN));
    let first_error = common::statuses(&api)
        .into_iter()
        .find(|(s, _)| s == "error");
    assert_eq!(code, 1, "{stderr} {first_error:?}");
    assert_eq!(numbers(&api), numbers(&csv));
    let before = hub.lock().expect("hub").served.len();
    let (_, again, stderr) = check(dir.path(), "hubspot", Some(TOKEN));
    assert_eq!(numbers(&again), numbers(&csv), "{stderr}");
    assert!(
        stderr.contains("hubspot: leads: 0 changed since"),
        "{stderr}"
    );
    let h = hub.lock().expect("hub");
    assert_eq!(h.count("GET", "/crm/v3/objects/contacts"), 0);
    assert!(h.count("GET", "/crm/v3/objects/leads") >= 480);
    // Lead records' modification time is hs_lastmodifieddate.
    let search = h.served[before..]
        .iter()
        .find(|s| s.path == "/crm/v3/objects/leads/search")
        .expect("the leads search");
    assert_eq!(
        search.body["filterGroups"][0]["filters"][0]["propertyName"],
        "hs_lastmodifieddate"
    );
    assert!(
        dir.path()
            .join(".revalign/cache/hubspot/leads.ndjson")
            .exists()
    );
    drop(h);

    // Lead records have no lifecycle stage dates of their own: an unmapped
    // stage is looked for under its own name, found missing, and every
    // target that needs it is an error naming it (never a silent zero).
    let unmapped = mapped.replace(", mql = \"hs_v2_date_entered_marketingqualifiedlead\"", "");
    assert_ne!(unmapped, mapped);
    std::fs::write(&manifest, format!("{unmapped}leads = \"leads\"\n")).expect("write");
    let (code, doc, _) = check_with(dir.path(), "hubspot", Some(TOKEN), &["--refresh"]);
    assert_eq!(code, 3);
    let mql = statuses(&doc)
        .into_iter()
        .find(|(_, note)| note.contains("`mql`"))
        .expect("a target needing mql");
    assert_eq!(mql.0, "error", "{mql:?}");

    // An object HubSpot does not have: not valid.
    std::fs::write(&manifest, format!("{text}leads = \"Lead\"\n")).expect("write");
    let (code, out, _) = common::run_in(dir.path(), &["validate", ".", "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("source `hubspot` reads its leads from `Lead`, which HubSpot does not have")
            && out.contains("write leads = \\\"contacts\\\" or \\\"leads\\\""),
        "{out}"
    );
}

#[test]
fn owner_teams_give_each_record_its_owners_team() {
    // The contacts carry HubSpot owner ids, not teams: owner_teams maps each
    // id to a team, except hugo.martin's, left out on purpose.
    let mut hub = acme_hub();
    let mut ids: Vec<String> = Vec::new();
    for c in &mut hub.contacts {
        c.props.remove("owner_team");
        let owner = c.props["owner"].as_str().unwrap_or("").to_string();
        let id = if owner.is_empty() {
            Value::Null
        } else {
            let n = ids.iter().position(|o| *o == owner).unwrap_or_else(|| {
                ids.push(owner.clone());
                ids.len() - 1
            });
            json!(format!("{}", 70_000_001 + n))
        };
        c.props.insert("hubspot_owner_id".into(), id);
    }
    // Two AEs in sales; the rest (AEs included) in sdr, so the teams differ
    // from the export's own owner_team column.
    let sales = ["ines.costa", "jack.turner"];
    let team = |owner: &str| -> Option<&str> {
        match owner {
            "" | "hugo.martin" => None,
            o if sales.contains(&o) => Some("sales"),
            _ => Some("sdr"),
        }
    };
    let table: Vec<String> = ids
        .iter()
        .enumerate()
        .filter_map(|(n, o)| team(o).map(|t| format!("\"{}\" = \"{t}\"", 70_000_001 + n)))
        .collect();
    let hub = Arc::new(Mutex::new(hub));
    let base = serve(Arc::clone(&hub));
    let dir = alignment(&base, "5s");
    let manifest = dir.path().join("revalign.toml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(
        &manifest,
        format!("{text}owner_teams = {{ {} }}\n", table.join(", ")),
    )
    .expect("write");
    // The export, with owner_team written from the same table.
    let csv_path = dir.path().join("data/leads.csv");
    let csv_text = std::fs::read_to_string(&csv_path).expect("csv");
    let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = rdr.headers().expect("headers").clone();
    let (owner_at, team_at) = (
        headers.iter().position(|h| h == "owner").expect("owner"),
        headers
            .iter()
            .position(|h| h == "owner_team")
            .expect("owner_team"),
    );
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&headers).expect("header");
    for r in rdr.records() {
        let r = r.expect("row");
        let mut row: Vec<String> = r.iter().map(String::from).collect();
        row[team_at] = team(&row[owner_at]).unwrap_or("").to_string();
        w.write_record(&row).expect("row");
    }
    std::fs::write(&csv_path, w.into_inner().expect("csv")).expect("write");

    let (code, api, stderr) = check(dir.path(), "hubspot", Some(TOKEN));
    assert_eq!(code, 1, "{stderr}");
    let (_, csv, _) = check(dir.path(), "crm_export", None);
    assert_eq!(numbers(&api), numbers(&csv));
    let hugo = 70_000_001 + ids.iter().position(|o| o == "hugo.martin").expect("hugo");
    assert!(
        stderr.contains(&format!(
            "hubspot: 1 owner is in no team of owner_teams ({hugo}): their records have no owner_team"
        )),
        "{stderr}"
    );
    // The commitment filtered on owner_team saw these teams: its counts
    // differ from those over the export's own owner_team column.
    let recycled = |doc: &Value| -> Vec<String> {
        numbers(doc)
            .into_iter()
            .filter(|n| n.contains("\"sales-recycle-reasons\""))
            .collect()
    };
    assert_eq!(recycled(&api).len(), 2, "{:?}", numbers(&api));
    assert_eq!(recycled(&api), recycled(&csv));
    std::fs::write(&csv_path, &csv_text).expect("restore");
    let (_, original, _) = check(dir.path(), "crm_export", None);
    assert_ne!(recycled(&api), recycled(&original));

    // A team that is not declared does not validate.
    std::fs::write(
        &manifest,
        format!("{text}owner_teams = {{ \"1\" = \"salez\" }}\n"),
    )
    .expect("write");
    let (code, out, _) = common::run_in(dir.path(), &["validate", ".", "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("unknown team `salez`"), "{out}");
}

#[test]
fn progress_is_a_bar_on_a_terminal_and_stdout_holds_only_the_result() {
    // `script` (util-linux, in every Debian) runs the check on a pseudo
    // terminal: standard error is a terminal, standard output goes to a
    // file. What the terminal showed is script's own output.
    let hub = Arc::new(Mutex::new(acme_hub()));
    let base = serve(Arc::clone(&hub));
    let dir = alignment(&base, "5s");
    let result = dir.path().join("result.json");
    let command = format!(
        "{} check . --format json --period 2026-10 --as-of 2026-11-01 --source hubspot > {}",
        env!("CARGO_BIN_EXE_revalign"),
        result.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SHELL", "/bin/sh")
        .env("TERM", "xterm")
        .env("HUBSPOT_TOKEN", TOKEN)
        .output()
        .expect("run script");
    let terminal = String::from_utf8_lossy(&out.stdout);
    // The bar: its prefix, the bar itself, records out of the total, the
    // rate; redrawn in place (carriage returns or cursor moves).
    assert!(
        terminal.contains("hubspot: contacts [") && terminal.contains("/48,000 records"),
        "{terminal}"
    );
    assert!(
        terminal.contains('\r') || terminal.contains('\u{1b}'),
        "{terminal}"
    );
    // No plain progress lines on a terminal (they say `N of T records`),
    // only the summary once the bar is cleared.
    assert!(!terminal.contains(" of 48000 records ("), "{terminal}");
    assert!(terminal.contains("hubspot: contacts: 48000 records fetched in"));
    // Standard output held the result alone.
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&result).expect("result")).expect("json");
    assert!(numbers(&doc).len() > 30, "{doc}");
    assert!(!terminal.contains(TOKEN));
}
