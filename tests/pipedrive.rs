//! The `pipedrive` source against a Pipedrive stand-in on loopback
//! (`tests/fake/pipedrive.rs`): API v2 persons and deals, cursors until
//! `next_cursor` is null, custom fields under `custom_fields`, the token in
//! `x-api-token`, the burst budget in `x-ratelimit-*` enforced with 429s.
//!
//! The Acme data served as persons and deals gives the same scorecard as
//! the CSV export, fetched whole through faults and brought up to date
//! incrementally (which must leave the same cache as a full fetch).

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

mod common;
#[path = "fake/pipedrive.rs"]
mod fake;
use common::{http, numbers, statuses};

use fake::{Fault, Rec, TOKEN, serve};

/// When the Acme records were last updated, long before any sync.
const UPDATED: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/// Acme with a `pipedrive` source at `base`, every field of the export
/// mapped to its custom field (`mql = "cf_mql_at"`).
fn alignment(base: &str) -> tempfile::TempDir {
    alignment_with(base, "")
}

/// [`alignment`] with more lines in the source.
fn alignment_with(base: &str, more: &str) -> tempfile::TempDir {
    let columns = common::acme_columns("leads.csv", &["id", "created_at"], |c| format!("cf_{c}"));
    let deal_columns = common::acme_columns(
        "deals.csv",
        &["id", "created_at", "closed_at", "won", "amount", "currency"],
        |c| format!("cf_{c}"),
    );
    common::acme_with_source(&format!(
        "[source.pipedrive]\nkind = \"pipedrive\"\ntoken_env = \"PIPEDRIVE_TOKEN\"\nbase_url = \"{base}\"\ntimeout = \"5s\"\ncolumns = {{ {columns} }}\ndeal_columns = {{ {deal_columns} }}\n{more}"
    ))
}

fn check(dir: &Path, token: Option<&str>, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let env: Vec<(&str, &str)> = token.map(|t| ("PIPEDRIVE_TOKEN", t)).into_iter().collect();
    common::check_api(dir, "pipedrive", &env, extra, &[TOKEN])
}

fn cached(dir: &Path) -> (String, String) {
    let cache = dir.join(".revalign/cache/pipedrive");
    let read = |f: &str| std::fs::read_to_string(cache.join(f)).unwrap_or_default();
    (read("persons.ndjson"), read("deals.ndjson"))
}

#[test]
fn acme_from_pipedrive_equals_the_export_and_stays_so_incrementally() {
    let company = Arc::new(Mutex::new(fake::acme(UPDATED, 40)));
    // Recovered from: 429s with and without Retry-After, a 503, an answer
    // slower than the timeout (5 s), a body cut off.
    company.lock().expect("company").faults = VecDeque::from(vec![
        Fault::Pass,
        Fault::TooMany(Some(2)),
        Fault::TooMany(None),
        Fault::Unavailable,
        Fault::Pass,
        Fault::Slow(6_000),
        Fault::Pass,
        Fault::CutOff,
    ]);
    let base = serve(Arc::clone(&company));
    let dir = alignment(&base);
    let (code, api, stderr) = check(dir.path(), Some(TOKEN), &[]);
    let first_error = statuses(&api).into_iter().find(|(s, _)| s == "error");
    assert_eq!(code, 1, "{stderr} {first_error:?}");
    let (_, csv, _) = common::check_api(dir.path(), "crm_export", &[], &[], &[]);
    assert_eq!(numbers(&api), numbers(&csv));
    assert!(numbers(&api).len() > 40);
    let (persons, deals) = cached(dir.path());
    assert_eq!(
        (persons.lines().count(), deals.lines().count()),
        (48_000, 1_709)
    );
    {
        let c = company.lock().expect("company");
        assert!(c.faults.is_empty());
        // 48,000 persons in 96 pages of 500, by cursor, sorted by id.
        let pages = c
            .served
            .iter()
            .filter(|s| s.path == "/api/v2/persons" && s.status == 200)
            .filter(|s| !matches!(s.fault, Some(Fault::Slow(_) | Fault::CutOff)))
            .count();
        assert_eq!(pages, 96);
        assert!(
            c.served
                .iter()
                .filter(|s| s.path.starts_with("/api/v2/"))
                .all(|s| s.query.contains(&("sort_by".into(), "id".into())))
        );
        assert_eq!(c.limited, 0, "the burst budget was kept");
        let at = c
            .served
            .iter()
            .position(|s| s.fault == Some(Fault::TooMany(Some(2))))
            .expect("the Retry-After fault");
        assert!(c.served[at + 1].at - c.served[at].at >= Duration::from_secs(2));
    }

    // 300 persons change, 10 deals are deleted, 5 created.
    let now = jiff::Timestamp::now().as_millisecond();
    {
        let mut c = company.lock().expect("company");
        for r in c.persons.iter_mut().step_by(150).take(300) {
            r.updated = now;
            r.fields
                .insert("cf_sql_at".into(), json!("2026-10-20T10:00:00Z"));
        }
        for r in c.deals.iter_mut().step_by(100).take(10) {
            r.updated = now;
            r.deleted = true;
        }
        let template = c.deals[5].clone();
        for k in 0..5 {
            c.deals.push(Rec {
                id: 900_000 + k,
                updated: now,
                ..template.clone()
            });
        }
    }
    let before = company.lock().expect("company").served.len();
    let (_, updated, stderr) = check(dir.path(), Some(TOKEN), &[]);
    assert!(stderr.contains("persons: 300 changed since"), "{stderr}");
    assert!(
        stderr.contains("deals: 5 changed since") && stderr.contains("10 removed"),
        "{stderr}"
    );
    assert_ne!(numbers(&updated), numbers(&api), "the changes matter");
    let incremental = cached(dir.path());
    {
        let c = company.lock().expect("company");
        let since: Vec<&fake::Served> = c.served[before..]
            .iter()
            .filter(|s| s.path.starts_with("/api/v2/"))
            .collect();
        assert!(
            since
                .iter()
                .all(|s| s.query.iter().any(|(k, _)| k == "updated_since"))
        );
        assert_eq!(
            since.len(),
            3,
            "persons, deals, deleted deals: one page each"
        );
    }
    let (_, full, _) = check(dir.path(), Some(TOKEN), &["--refresh"]);
    assert_eq!(numbers(&full), numbers(&updated));
    let refreshed = cached(dir.path());
    assert_eq!(refreshed.1.lines().count(), 1_709 - 10 + 5);
    assert!(
        incremental == refreshed,
        "the incremental cache equals a full fetch"
    );
}

#[test]
fn what_cannot_be_fetched_from_pipedrive_is_an_error_never_a_number() {
    type Case<'a> = (Vec<Fault>, Option<&'a str>, &'a str, &'a str, usize);
    let cases: [Case; 5] = [
        (
            vec![],
            Some("wrong"),
            "Pipedrive refused the token in PIPEDRIVE_TOKEN (401 unauthorized access)",
            "Personal preferences > API",
            1,
        ),
        (
            vec![],
            None,
            "the environment variable PIPEDRIVE_TOKEN is not set",
            "API token",
            0,
        ),
        (
            vec![Fault::Unavailable; 6],
            Some(TOKEN),
            "the user of the token failed 6 times (last: HTTP 503)",
            "run again later",
            6,
        ),
        (
            vec![Fault::Malformed],
            Some(TOKEN),
            "is not JSON",
            "run again",
            1,
        ),
        (
            vec![Fault::Pass, Fault::Pass, Fault::RepeatPage],
            Some(TOKEN),
            "out of order",
            "run again",
            3,
        ),
    ];
    for (faults, token, want, help, requests) in cases {
        let company = Arc::new(Mutex::new(fake::acme(UPDATED, 40)));
        company.lock().expect("company").faults = VecDeque::from(faults);
        let base = serve(Arc::clone(&company));
        let dir = alignment(&base);
        let (code, doc, stderr) = check(dir.path(), token, &[]);
        assert_eq!(code, 3, "{want}: {stderr}");
        common::assert_all_errors(&doc, want, help);
        assert_eq!(
            company.lock().expect("company").served.len(),
            requests,
            "{want}"
        );
        assert!(
            !dir.path()
                .join(".revalign/cache/pipedrive/persons.ndjson")
                .exists()
        );
    }
}

/// The requests served for the Leads Inbox since `from`, as their `start`.
fn lead_pages(c: &fake::Company, from: usize) -> Vec<(usize, String)> {
    c.served[from..]
        .iter()
        .filter(|s| s.path == "/v1/leads")
        .map(|s| {
            let q = |k: &str| {
                s.query
                    .iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            (q("start").parse().expect("start"), q("sort"))
        })
        .collect()
}

#[test]
fn acme_from_the_leads_inbox_equals_the_export_through_shifts_and_incrementally() {
    let company = Arc::new(Mutex::new(fake::acme(UPDATED, 40)));
    // The second page comes one lead late, as if one before it had been
    // deleted: the listing starts again.
    company.lock().expect("company").faults =
        VecDeque::from(vec![Fault::Pass, Fault::Pass, Fault::Shift]);
    let base = serve(Arc::clone(&company));
    let dir = alignment_with(&base, "leads = \"leads\"\n");
    let (code, api, stderr) = check(dir.path(), Some(TOKEN), &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("the leads list shifted while listed (a lead deleted?): listing again"),
        "{stderr}"
    );
    let (_, csv, _) = common::check_api(dir.path(), "crm_export", &[], &[], &[]);
    assert_eq!(numbers(&api), numbers(&csv));
    let cache = dir.path().join(".revalign/cache/pipedrive");
    let leads = std::fs::read_to_string(cache.join("leads.ndjson")).expect("leads cache");
    assert_eq!(leads.lines().count(), 48_000);
    assert!(!cache.join("persons.ndjson").exists());
    {
        let c = company.lock().expect("company");
        assert!(c.served.iter().all(|s| s.path != "/api/v2/persons"));
        let pages = lead_pages(&c, 0);
        // Pages of 500, each after the first starting at the previous
        // one's last lead: 0, 499, 998, ...; the shifted second page sends
        // the listing back to 0. 48,000 leads take 1 + 96 pages.
        assert_eq!(
            pages[..3].iter().map(|p| p.0).collect::<Vec<_>>(),
            [0, 499, 0]
        );
        assert_eq!(pages.len(), 2 + 97);
        assert!(pages[2..].windows(2).all(|w| w[1].0 == w[0].0 + 499));
        assert!(pages.iter().all(|p| p.1 == "add_time ASC,id ASC"));
    }

    // 300 leads change: one page, latest first, stopping at the first lead
    // older than the last sync.
    let now = jiff::Timestamp::now().as_millisecond();
    {
        let mut c = company.lock().expect("company");
        for r in c.leads.iter_mut().step_by(150).take(300) {
            r.updated = now;
            r.fields
                .insert("cf_sql_at".into(), json!("2026-10-20T10:00:00Z"));
        }
    }
    let before = company.lock().expect("company").served.len();
    let (_, updated, stderr) = check(dir.path(), Some(TOKEN), &[]);
    assert!(stderr.contains("leads: 300 changed since"), "{stderr}");
    assert_ne!(numbers(&updated), numbers(&api), "the changes matter");
    let incremental = std::fs::read_to_string(cache.join("leads.ndjson")).expect("leads");
    {
        let c = company.lock().expect("company");
        assert_eq!(
            lead_pages(&c, before),
            [(0, "update_time DESC,id ASC".to_string())]
        );
    }
    let (_, full, _) = check(dir.path(), Some(TOKEN), &["--refresh"]);
    assert_eq!(numbers(&full), numbers(&updated));
    let refreshed = std::fs::read_to_string(cache.join("leads.ndjson")).expect("leads");
    assert!(
        incremental == refreshed,
        "the incremental cache equals a full fetch"
    );

    // A listing that keeps shifting is an error, never a count.
    let company = Arc::new(Mutex::new(fake::acme(UPDATED, 40)));
    company.lock().expect("company").faults = VecDeque::from(vec![
        Fault::Pass,
        Fault::Pass,
        Fault::Shift,
        Fault::Pass,
        Fault::Shift,
        Fault::Pass,
        Fault::Shift,
        Fault::Pass,
        Fault::Shift,
    ]);
    let base = serve(Arc::clone(&company));
    let dir = alignment_with(&base, "leads = \"leads\"\n");
    let (code, doc, stderr) = check(dir.path(), Some(TOKEN), &[]);
    assert_eq!(code, 3, "{stderr}");
    common::assert_all_errors(&doc, "shifted under its pages 4 times", "run again");

    // An object Pipedrive does not have: the alignment does not validate.
    let dir = alignment_with(&base, "leads = \"people\"\n");
    let (code, out, _) = common::run_in(dir.path(), &["validate", ".", "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("reads its leads from `people`, which Pipedrive does not have")
            && out.contains("write leads = \\\"persons\\\" or \\\"leads\\\""),
        "{out}"
    );
}

/// `check` of the Acme alignment at `dir` on `source` for `--period`,
/// `--last`, `--as-of` as given: the exit code, the numbers, stderr.
fn check_periods(
    dir: &Path,
    source: &str,
    period: &str,
    last: &str,
    as_of: &str,
) -> (i32, Vec<String>, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_revalign"));
    cmd.args([
        "check", ".", "--format", "json", "--period", period, "--last", last, "--as-of", as_of,
        "--source", source,
    ])
    .current_dir(dir)
    .env_clear()
    .env("PATH", std::env::var_os("PATH").unwrap_or_default())
    .env("PIPEDRIVE_TOKEN", TOKEN);
    let out = cmd.output().expect("run revalign");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    (
        out.status.code().unwrap_or(-1),
        numbers(&doc),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The floor a cache's description names.
fn floor(dir: &Path, object: &str) -> Option<String> {
    let meta = std::fs::read_to_string(
        dir.join(".revalign/cache/pipedrive")
            .join(format!("{object}.meta.json")),
    )
    .expect("meta");
    let meta: serde_json::Value = serde_json::from_str(&meta).expect("meta json");
    meta["floor"].as_str().map(String::from)
}

#[test]
fn fetch_periods_fetches_only_records_modified_since_the_periods_began() {
    let mut acme = fake::acme(0, 40);
    // Each record last modified at its last event, as a CRM keeps it.
    for r in acme.persons.iter_mut().chain(acme.deals.iter_mut()) {
        r.updated = common::last_event(&r.fields);
    }
    let company = Arc::new(Mutex::new(acme));
    let base = serve(Arc::clone(&company));
    let dir = alignment_with(&base, "fetch = \"periods\"\n");

    // October 2026 and the month before: the earliest window is FY2026
    // (Acme's fiscal year starts in February, in New York).
    let fy2026 = "2026-02-01T05:00:00Z";
    let (code, api, stderr) = check_periods(dir.path(), "pipedrive", "2026-10", "2", "2026-11-01");
    assert_eq!(code, 1, "{stderr}");
    let (_, csv, _) = check_periods(dir.path(), "crm_export", "2026-10", "2", "2026-11-01");
    assert_eq!(api, csv);
    assert!(
        stderr.contains(&format!(
            "persons: fetching the records modified since {fy2026} (the checked periods' start)"
        )),
        "{stderr}"
    );
    let since = fy2026
        .parse::<jiff::Timestamp>()
        .expect("time")
        .as_millisecond();
    let (persons, deals) = cached(dir.path());
    {
        let c = company.lock().expect("company");
        let want = |recs: &[Rec]| recs.iter().filter(|r| r.updated >= since).count();
        assert_eq!(persons.lines().count(), want(&c.persons));
        assert_eq!(deals.lines().count(), want(&c.deals));
        assert!(persons.lines().count() < 40_000, "a part of the 48,000");
        assert!(
            c.served
                .iter()
                .filter(|s| s.path.starts_with("/api/v2/"))
                .all(|s| s.query.contains(&("updated_since".into(), fy2026.into())))
        );
    }
    assert_eq!(floor(dir.path(), "persons").as_deref(), Some(fy2026));

    // June 2025 (FY2025 from February 2025): the records modified in
    // between are fetched, and the cache holds from the new floor on.
    let fy2025 = "2025-02-01T05:00:00Z";
    let (_, api, stderr) = check_periods(dir.path(), "pipedrive", "2025-06", "1", "2025-07-01");
    let (_, csv, _) = check_periods(dir.path(), "crm_export", "2025-06", "1", "2025-07-01");
    assert_eq!(api, csv);
    assert!(
        stderr.contains(&format!("persons: fetching the records modified since {fy2025} (the checked periods' start; the cache begins at {fy2026})")),
        "{stderr}"
    );
    assert_eq!(floor(dir.path(), "persons").as_deref(), Some(fy2025));
    let since = fy2025
        .parse::<jiff::Timestamp>()
        .expect("time")
        .as_millisecond();
    let want = {
        let c = company.lock().expect("company");
        c.persons.iter().filter(|r| r.updated >= since).count()
    };
    // (All but the one Acme lead with no time at all.)
    assert_eq!(cached(dir.path()).0.lines().count(), want);
    assert_eq!(want, 47_999);

    // October again: the cache covers it; only changes are asked for.
    let before = company.lock().expect("company").served.len();
    let (_, api, _) = check_periods(dir.path(), "pipedrive", "2026-10", "2", "2026-11-01");
    assert_eq!(api, csv_october(dir.path()));
    assert_eq!(floor(dir.path(), "persons").as_deref(), Some(fy2025));
    assert_eq!(
        company.lock().expect("company").served.len() - before,
        4,
        "the company, persons, deals, deleted deals"
    );

    // Every record wanted again: a cache with a floor is fetched whole.
    let manifest = dir.path().join("revalign.toml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(&manifest, text.replace("fetch = \"periods\"\n", "")).expect("write");
    let (_, api, stderr) = check_periods(dir.path(), "pipedrive", "2026-10", "2", "2026-11-01");
    assert_eq!(api, csv_october(dir.path()));
    assert!(
        stderr.contains(&format!("persons: fetching every record again: it holds only the records modified since {fy2025}, and every record is needed now")),
        "{stderr}"
    );
    assert_eq!(floor(dir.path(), "persons"), None);
}

fn csv_october(dir: &Path) -> Vec<String> {
    check_periods(dir, "crm_export", "2026-10", "2", "2026-11-01").1
}

#[test]
fn oauth_access_is_renewed_with_a_basic_client_and_rotated_refresh_tokens() {
    let secret = "pd-client-secret-0000";
    let first = "pd-oauth-refresh-0000";
    let company = Arc::new(Mutex::new(fake::acme(UPDATED, 40)));
    // Access lives 2 seconds; every renewal rotates the refresh token and
    // the old one is refused from then on.
    company.lock().expect("company").app = Some(fake::App {
        client_id: "revalign-test-app".into(),
        client_secret: secret.into(),
        refresh_token: first.into(),
        lives: Duration::from_secs(2),
    });
    let base = serve(Arc::clone(&company));
    let dir = alignment_with(&base, &format!("token_url = \"{base}/oauth/token\"\n"));
    let manifest = dir.path().join("revalign.toml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(
        &manifest,
        text.replace(
            "token_env = \"PIPEDRIVE_TOKEN\"",
            "client_id_env = \"PD_CLIENT_ID\"\nclient_secret_env = \"PD_CLIENT_SECRET\"\nrefresh_token_env = \"PD_REFRESH_TOKEN\"",
        ),
    )
    .expect("write");
    let run = |refresh: &str| {
        let env = [
            ("PD_CLIENT_ID", "revalign-test-app"),
            ("PD_CLIENT_SECRET", secret),
            ("PD_REFRESH_TOKEN", refresh),
        ];
        let out = common::check_api(
            dir.path(),
            "pipedrive",
            &env,
            &["--refresh"],
            &[secret, first, TOKEN],
        );
        // Every token issued during the run: not in the output, not in the cache.
        let (persons, deals) = cached(dir.path());
        let written = format!("{}{}{persons}{deals}", out.1, out.2);
        let c = company.lock().expect("company");
        for token in c.issued.iter().map(|(t, _)| t).chain(&c.refresh_tokens) {
            assert!(!written.contains(token.as_str()), "{token} written");
        }
        out
    };
    let (_, csv, _) = common::check_api(dir.path(), "crm_export", &[], &[], &[]);
    let (code, api, stderr) = run(first);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(numbers(&api), numbers(&csv));
    assert!(
        stderr.contains("pipedrive: Pipedrive gave a new refresh token; it served this run and is kept nowhere. If PD_REFRESH_TOKEN stops being accepted"),
        "{stderr}"
    );
    {
        let c = company.lock().expect("company");
        // About five seconds of fetching: renewed before each token ran out,
        // each renewal with the refresh token the last one gave.
        assert!(c.issued.len() >= 3, "{}", c.issued.len());
        assert!(c.served.iter().all(|s| s.status != 401));
        assert_eq!(c.secret_in_form, 0, "the client goes in the Basic header");
    }

    // A run that fails after the token was rotated still says so.
    let latest = {
        let mut c = company.lock().expect("company");
        c.faults = VecDeque::from(vec![
            Fault::Pass,
            Fault::Unavailable,
            Fault::Unavailable,
            Fault::Unavailable,
            Fault::Unavailable,
            Fault::Unavailable,
            Fault::Unavailable,
        ]);
        c.app
            .as_ref()
            .map(|a| a.refresh_token.clone())
            .expect("app")
    };
    let (code, _, stderr) = run(&latest);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("Pipedrive gave a new refresh token"),
        "{stderr}"
    );

    // The first refresh token was rotated away: refused, an error naming the
    // variables, and nothing counted.
    let (code, doc, _) = run(first);
    assert_eq!(code, 3);
    common::assert_all_errors(
        &doc,
        "Pipedrive refused the OAuth credentials in PD_CLIENT_ID, PD_CLIENT_SECRET and PD_REFRESH_TOKEN (HTTP 400 invalid_grant: Invalid refresh token)",
        "authorize the app again and export the new one",
    );
}
