//! The `salesforce` source against a Salesforce stand-in on loopback
//! (`tests/fake/salesforce.rs`): SOQL through `query` and `queryAll`, query
//! locators (`nextRecordsUrl`) until `done`, `+0000` datetimes, JSON numbers
//! and booleans, error bodies as arrays, `Sforce-Limit-Info`.
//!
//! The Acme data served as Leads and Opportunities gives the same scorecard
//! as the CSV export it comes from, fetched whole through faults and brought
//! up to date incrementally (which must leave the same cache as a full
//! fetch).

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

mod common;
#[path = "fake/salesforce.rs"]
mod fake;
use common::{http, numbers, statuses};

use fake::{Fault, Org, Rec, TOKEN, serve};

/// When the Acme records were last modified, long before any sync.
const MODSTAMP: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/// Acme with a `salesforce` source at `base`: every field of the export
/// mapped to its custom field (`mql = "mql_at__c"`).
fn alignment(base: Option<&str>) -> tempfile::TempDir {
    alignment_with(base, &["id", "created_at"], "")
}

/// [`alignment`] without the lead columns `skip`, with `more` lines.
fn alignment_with(base: Option<&str>, skip: &[&str], more: &str) -> tempfile::TempDir {
    let columns = common::acme_columns("leads.csv", skip, |c| format!("{c}__c"));
    let deal_columns = common::acme_columns(
        "deals.csv",
        &["id", "created_at", "won", "amount", "currency"],
        |c| format!("{c}__c"),
    );
    let base = base
        .map(|b| format!("base_url = \"{b}\"\n"))
        .unwrap_or_default();
    common::acme_with_source(&format!(
        "[source.salesforce]\nkind = \"salesforce\"\ntoken_env = \"SF_TOKEN\"\n{base}timeout = \"2s\"\ncolumns = {{ {columns} }}\ndeal_columns = {{ {deal_columns} }}\n{more}"
    ))
}

fn check(dir: &Path, token: Option<&str>, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let env: Vec<(&str, &str)> = token.map(|t| ("SF_TOKEN", t)).into_iter().collect();
    common::check_api(dir, "salesforce", &env, extra, &[TOKEN])
}

fn cached(dir: &Path) -> (String, String) {
    let cache = dir.join(".revalign/cache/salesforce");
    let read = |f: &str| std::fs::read_to_string(cache.join(f)).unwrap_or_default();
    (read("Lead.ndjson"), read("Opportunity.ndjson"))
}

#[test]
fn acme_from_salesforce_equals_the_export_and_stays_so_incrementally() {
    let org = Arc::new(Mutex::new(fake::acme(MODSTAMP)));
    // Recovered from: two 503s, an answer slower than the timeout, a body
    // cut off.
    org.lock().expect("org").faults = VecDeque::from(vec![
        Fault::Unavailable,
        Fault::Unavailable,
        Fault::Pass,
        Fault::Slow(2500),
        Fault::Pass,
        Fault::CutOff,
    ]);
    let base = serve(Arc::clone(&org));
    let dir = alignment(Some(&base));
    let (code, api, stderr) = check(dir.path(), Some(TOKEN), &[]);
    let first_error = statuses(&api).into_iter().find(|(s, _)| s == "error");
    assert_eq!(code, 1, "{stderr} {first_error:?}");
    let (_, csv, _) = common::check_api(dir.path(), "crm_export", &[], &[], &[]);
    assert_eq!(numbers(&api), numbers(&csv));
    assert!(numbers(&api).len() > 40);
    let (leads, opportunities) = cached(dir.path());
    assert_eq!(
        (leads.lines().count(), opportunities.lines().count()),
        (48_000, 1_709)
    );
    {
        let o = org.lock().expect("org");
        assert!(o.faults.is_empty());
        // 48,000 leads in 24 pages of 2,000: the query, then 23 locators.
        let locators = o
            .served
            .iter()
            .filter(|s| s.path.contains("/query/") && s.status == 200)
            .count();
        assert!(locators >= 23, "{locators}");
        let soql: Vec<&str> = o.served.iter().filter_map(|s| s.soql.as_deref()).collect();
        assert!(
            soql.iter().any(
                |q| q.starts_with("SELECT Id, CreatedDate, first_touch_at__c")
                    && q.ends_with(" FROM Lead")
            ),
            "{soql:?}"
        );
    }

    // Meanwhile in Salesforce: 500 leads change, 20 are deleted (merged),
    // 10 are created, 15 opportunities change.
    let now = jiff::Timestamp::now().as_millisecond();
    {
        let mut o = org.lock().expect("org");
        for (n, r) in o.leads.iter_mut().step_by(90).take(520).enumerate() {
            r.modstamp = now;
            if n < 20 {
                r.deleted = true;
            } else {
                r.fields
                    .insert("mql_at__c".into(), fake::datetime(1_791_990_000_000));
            }
        }
        let template = o.leads[100].clone();
        for k in 0..10 {
            o.leads.push(Rec {
                id: format!("00Q9{k:011}"),
                modstamp: now,
                ..template.clone()
            });
        }
        for r in o.opportunities.iter_mut().take(15) {
            r.modstamp = now;
            r.fields.insert("Amount".into(), json!(777.25));
        }
    }
    let before = org.lock().expect("org").served.len();
    let (_, updated, stderr) = check(dir.path(), Some(TOKEN), &[]);
    assert!(stderr.contains("Lead: 510 changed since"), "{stderr}");
    assert!(stderr.contains("20 removed"), "{stderr}");
    assert_ne!(numbers(&updated), numbers(&api), "the changes matter");
    let incremental = cached(dir.path());
    {
        let o = org.lock().expect("org");
        let soql: Vec<&str> = o.served[before..]
            .iter()
            .filter_map(|s| s.soql.as_deref())
            .filter(|q| *q != "SELECT Id FROM Organization")
            .collect();
        // Per kind: the changes, the deletions, the count.
        assert_eq!(soql.len(), 6, "{soql:?}");
        assert_eq!(soql[2], "SELECT COUNT() FROM Lead");
        assert_eq!(soql[5], "SELECT COUNT() FROM Opportunity");
        assert!(
            soql[0].contains(" FROM Lead WHERE SystemModstamp >= 2026-"),
            "{soql:?}"
        );
        assert!(
            soql[1]
                .starts_with("SELECT Id FROM Lead WHERE IsDeleted = true AND SystemModstamp >= ")
        );
        assert!(
            o.served[before..]
                .iter()
                .any(|s| s.path.ends_with("/queryAll"))
        );
    }
    let (_, full, stderr) = check(dir.path(), Some(TOKEN), &["--refresh"]);
    assert!(stderr.contains("--refresh was given"), "{stderr}");
    assert_eq!(numbers(&full), numbers(&updated));
    let refreshed = cached(dir.path());
    assert_eq!(refreshed.0.lines().count(), 48_000 - 20 + 10);
    assert!(
        incremental == refreshed,
        "the incremental cache equals a full fetch"
    );

    // 3 leads deleted past the recycle bin (emptied): no query lists them,
    // the count gives them away, and everything is fetched again.
    {
        let mut o = org.lock().expect("org");
        for _ in 0..3 {
            o.leads.remove(500);
        }
    }
    let (_, purged, stderr) = check(dir.path(), Some(TOKEN), &[]);
    assert!(
        stderr.contains("Lead: fetching every record again: 3 of its 47990 records are no longer in Salesforce (47987 there: deleted past its archive or recycle bin)"),
        "{stderr}"
    );
    let after = cached(dir.path());
    assert_eq!(after.0.lines().count(), 47_987);
    let (_, full, _) = check(dir.path(), Some(TOKEN), &["--refresh"]);
    assert_eq!(numbers(&full), numbers(&purged));
    assert!(
        after == cached(dir.path()),
        "the same cache as a full fetch"
    );
}

#[test]
fn what_cannot_be_fetched_from_salesforce_is_an_error_never_a_number() {
    type Case<'a> = (Vec<Fault>, Option<&'a str>, &'a str, &'a str, usize);
    let cases: [Case; 8] = [
        (
            vec![],
            Some("00Dexpired!token"),
            "Salesforce refused the token in SF_TOKEN (401 INVALID_SESSION_ID",
            "fresh access token",
            1,
        ),
        (
            vec![],
            None,
            "the environment variable SF_TOKEN is not set",
            "sf org display",
            0,
        ),
        (
            vec![Fault::LimitExceeded],
            Some(TOKEN),
            "API request limit is used up",
            "last 24 hours",
            1,
        ),
        (
            vec![Fault::Unavailable; 6],
            Some(TOKEN),
            "the Organization query failed 6 times (last: HTTP 503)",
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
            "repeated the cursor",
            "run again",
            3,
        ),
        (
            vec![Fault::NoNext],
            Some(TOKEN),
            "says more records follow but gives no nextRecordsUrl",
            "run again",
            1,
        ),
        (
            vec![Fault::Pass, Fault::ShortDone],
            Some(TOKEN),
            "the Lead query ended with 2000 of the 48000 records",
            "run again",
            2,
        ),
    ];
    for (faults, token, want, help, requests) in cases {
        let org = Arc::new(Mutex::new(fake::acme(MODSTAMP)));
        org.lock().expect("org").faults = VecDeque::from(faults);
        let base = serve(Arc::clone(&org));
        let dir = alignment(Some(&base));
        let (code, doc, stderr) = check(dir.path(), token, &[]);
        assert_eq!(code, 3, "{want}: {stderr}");
        common::assert_all_errors(&doc, want, help);
        assert_eq!(
            org.lock().expect("org").served.len(),
            requests,
            "{want}: requests"
        );
        assert!(
            !dir.path()
                .join(".revalign/cache/salesforce/Lead.ndjson")
                .exists(),
            "{want}"
        );
    }

    // A field that is not mapped: Salesforce's own words, and how to map it.
    let org = Arc::new(Mutex::new(Org::new(Vec::new(), Vec::new())));
    let base = serve(Arc::clone(&org));
    let dir = alignment(Some(&base));
    let manifest = dir.path().join("revalign.toml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(&manifest, text.replace("segment = \"segment__c\", ", "")).expect("write");
    org.lock()
        .expect("org")
        .leads
        .push(fake::acme(MODSTAMP).leads.remove(0));
    let (code, doc, _) = check(dir.path(), Some(TOKEN), &[]);
    assert_eq!(code, 3);
    let (_, note) = &statuses(&doc)[0];
    assert!(
        note.contains("400 INVALID_FIELD: No such column 'segment' on entity 'Lead'")
            && note.contains("map each field to its API name in columns"),
        "{note}"
    );

    // Credentials mixed, or OAuth with half a client: the alignment does
    // not validate.
    for (from, to) in [
        (
            "token_env = \"SF_TOKEN\"",
            "token_env = \"SF_TOKEN\"\nclient_id_env = \"SF_CLIENT_ID\"\nclient_secret_env = \"SF_SECRET\"",
        ),
        (
            "token_env = \"SF_TOKEN\"",
            "client_id_env = \"SF_CLIENT_ID\"",
        ),
    ] {
        let dir = alignment(Some("https://acme.my.salesforce.com"));
        let manifest = dir.path().join("revalign.toml");
        let text = std::fs::read_to_string(&manifest).expect("manifest");
        std::fs::write(&manifest, text.replace(from, to)).expect("write");
        let (code, out, _) = common::run_in(dir.path(), &["validate", ".", "--format", "json"]);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("source `salesforce` mixes its credentials"),
            "{out}"
        );
    }

    // No instance named: the alignment does not validate.
    let dir = alignment(None);
    let (code, _, stderr) = common::run_in(dir.path(), &["validate", "."]);
    assert_eq!(code, 1, "{stderr}");
    let (_, out, _) = common::run_in(dir.path(), &["validate", ".", "--format", "json"]);
    assert!(
        out.contains("source `salesforce` of kind `salesforce` has no `base_url`")
            && out.contains("my.salesforce.com"),
        "{out}"
    );
}

#[test]
fn client_credentials_sessions_are_renewed_when_refused() {
    let secret = "sf-client-secret-0000";
    let org = Arc::new(Mutex::new(fake::acme(MODSTAMP)));
    // Sessions last a second; Salesforce does not say so.
    org.lock().expect("org").app = Some((
        "3MVG9fake.consumer.key".into(),
        secret.into(),
        std::time::Duration::from_secs(1),
    ));
    let base = serve(Arc::clone(&org));
    let dir = alignment(Some(&base));
    let manifest = dir.path().join("revalign.toml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(
        &manifest,
        text.replace(
            "token_env = \"SF_TOKEN\"",
            "client_id_env = \"SF_CLIENT_ID\"\nclient_secret_env = \"SF_CLIENT_SECRET\"",
        ),
    )
    .expect("write");
    let run = |secret: &str| {
        let env = [
            ("SF_CLIENT_ID", "3MVG9fake.consumer.key"),
            ("SF_CLIENT_SECRET", secret),
        ];
        let out = common::check_api(dir.path(), "salesforce", &env, &[], &[TOKEN]);
        let written = format!("{}{}{}", out.1, out.2, cached(dir.path()).0);
        for (session, _) in &org.lock().expect("org").sessions {
            assert!(!written.contains(session.as_str()), "{session} written");
        }
        out
    };
    let (_, csv, _) = common::check_api(dir.path(), "crm_export", &[], &[], &[]);
    let (code, api, stderr) = run(secret);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(numbers(&api), numbers(&csv));
    {
        let o = org.lock().expect("org");
        let refused = o.served.iter().filter(|s| s.status == 401).count();
        // Each refusal renewed the session once; the first session came
        // before any request.
        assert!(refused >= 1, "the fetch outlived a session");
        assert_eq!(o.sessions.len(), refused + 1);
    }

    let (code, doc, _) = run("wrong-secret");
    assert_eq!(code, 3);
    common::assert_all_errors(
        &doc,
        "Salesforce refused the OAuth credentials in SF_CLIENT_ID, SF_CLIENT_SECRET (HTTP 400 invalid_client: invalid client credentials)",
        "client id and secret",
    );
}

#[test]
fn stage_times_from_the_status_history_equal_the_export() {
    let org = Arc::new(Mutex::new(fake::acme(MODSTAMP)));
    let base = serve(Arc::clone(&org));
    let stage_status = fake::STATUSES
        .iter()
        .map(|(stage, status)| format!("{stage} = \"{status}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let dir = alignment_with(
        Some(&base),
        &["id", "created_at", "mql_at", "sal_at", "sql_at"],
        &format!("stage_status = {{ {stage_status} }}\n"),
    );
    let (code, api, stderr) = check(dir.path(), Some(TOKEN), &[]);
    let first_error = statuses(&api).into_iter().find(|(s, _)| s == "error");
    assert_eq!(code, 1, "{stderr} {first_error:?}");
    let (_, csv, _) = common::check_api(dir.path(), "crm_export", &[], &[], &[]);
    assert_eq!(numbers(&api), numbers(&csv));
    {
        let o = org.lock().expect("org");
        let soql: Vec<&str> = o.served.iter().filter_map(|s| s.soql.as_deref()).collect();
        assert!(soql.contains(&"SELECT LeadId, Field, OldValue, NewValue, CreatedDate FROM LeadHistory WHERE Field IN ('Status', 'created')"), "{soql:?}");
        let lead = soql
            .iter()
            .find(|q| q.ends_with(" FROM Lead"))
            .expect("the Lead query");
        assert!(
            lead.contains(", Status") && !lead.contains("mql_at__c"),
            "{lead}"
        );
    }

    // 100 leads become Sales Qualified (history rows, a new Status and
    // SystemModstamp); the incremental run reads their whole history.
    let now = jiff::Timestamp::now().as_millisecond();
    let at = 1_792_000_000_000; // 2026-10-14
    {
        let mut o = org.lock().expect("org");
        let mut n = 9_000_000;
        let mut changed = Vec::new();
        for lead in o
            .leads
            .iter_mut()
            .filter(|l| l.fields["sql_at__c"].is_null())
            .take(100)
        {
            lead.modstamp = now;
            let (rows, status) = fake::trail(&lead.id, 0, vec![(at, "Sales Qualified")], &mut n);
            lead.fields.insert("Status".into(), json!(status));
            changed.extend(rows);
        }
        // The change's OldValue is the Status the lead had.
        for row in &mut changed {
            let lead = row.fields["LeadId"].clone();
            let before = o.leads.iter().find(|l| json!(l.id) == lead).map(|_| {
                o.history
                    .iter()
                    .rev()
                    .find(|h| h.fields["LeadId"] == lead && h.fields["Field"] == json!("Status"))
                    .map_or(json!("Open - Not Contacted"), |h| {
                        h.fields["NewValue"].clone()
                    })
            });
            row.fields
                .insert("OldValue".into(), before.unwrap_or(Value::Null));
        }
        o.history.extend(changed);
    }
    let before = org.lock().expect("org").served.len();
    let (_, updated, stderr) = check(dir.path(), Some(TOKEN), &[]);
    assert!(stderr.contains("Lead: 100 changed since"), "{stderr}");
    assert_ne!(numbers(&updated), numbers(&api), "the changes matter");
    let incremental = cached(dir.path());
    {
        let o = org.lock().expect("org");
        let history: Vec<&str> = o.served[before..]
            .iter()
            .filter_map(|s| s.soql.as_deref())
            .filter(|q| q.contains("FROM LeadHistory"))
            .collect();
        assert_eq!(history.len(), 1, "100 ids: one query");
        assert_eq!(history[0].matches("'00Q").count(), 100, "{}", history[0]);
    }
    let (_, full, _) = check(dir.path(), Some(TOKEN), &["--refresh"]);
    assert_eq!(numbers(&full), numbers(&updated));
    assert!(
        incremental == cached(dir.path()),
        "the incremental cache equals a full fetch"
    );
    assert!(
        incremental
            .0
            .contains("\"LeadHistory:Status=Sales Qualified\":\"2026-10-14T")
    );

    // Salesforce deletes field history after 18 months: here, every change
    // before 15 September. The stage times already cached stay, through
    // --refresh and through changes to the leads that lost their history.
    let cut = 1_789_430_400_000; // 2026-09-15T00:00:00Z
    let touched: Vec<Value> = {
        let mut o = org.lock().expect("org");
        let purged: Vec<Value> = o
            .history
            .iter()
            // (Changes since August: in the checked FY2026-Q3.)
            .filter(|h| {
                (1_785_542_400_000..cut).contains(&h.modstamp)
                    && h.fields["Field"] == json!("Status")
            })
            .map(|h| h.fields["LeadId"].clone())
            .collect();
        o.history.retain(|h| h.modstamp >= cut);
        let ids: Vec<Value> = purged.into_iter().step_by(7).take(50).collect();
        for lead in o.leads.iter_mut().filter(|l| ids.contains(&json!(l.id))) {
            lead.modstamp = now + 60_000;
        }
        ids
    };
    assert_eq!(touched.len(), 50);
    let (_, kept, stderr) = check(dir.path(), Some(TOKEN), &["--refresh"]);
    assert_eq!(numbers(&kept), numbers(&full), "{stderr}");
    let (_, kept, _) = check(dir.path(), Some(TOKEN), &[]);
    assert_eq!(numbers(&kept), numbers(&full));
    {
        // The touched leads' (remaining) history was read again.
        let o = org.lock().expect("org");
        let last = o
            .served
            .iter()
            .filter_map(|s| s.soql.as_deref())
            .rfind(|q| q.contains("FROM LeadHistory"))
            .expect("a history query");
        let id = touched[0].as_str().expect("id");
        assert!(last.contains(&format!("'{id}'")), "{last}");
    }

    // A stage read both ways, or one that is not declared: not valid.
    let dir = alignment_with(
        Some(&base),
        &["id", "created_at"],
        "stage_status = { mql = \"MQL\", nurture = \"Nurturing\" }\n",
    );
    let (code, out, _) = common::run_in(dir.path(), &["validate", ".", "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "reads stage `mql` both from a field (`columns`) and from the Lead Status history"
        ) && out.contains("nurture"),
        "{out}"
    );
}

#[test]
fn leads_can_be_contacts() {
    // An org that keeps its leads as Contacts (the stand-in serves the Acme
    // leads there): `leads = "Contact"`.
    let org = Arc::new(Mutex::new(fake::acme(MODSTAMP)));
    let base = serve(Arc::clone(&org));
    let dir = alignment_with(Some(&base), &["id", "created_at"], "leads = \"Contact\"\n");
    let (code, api, stderr) = check(dir.path(), Some(TOKEN), &[]);
    assert_eq!(code, 1, "{stderr}");
    let (_, csv, _) = common::check_api(dir.path(), "crm_export", &[], &[], &[]);
    assert_eq!(numbers(&api), numbers(&csv));
    {
        let o = org.lock().expect("org");
        let soql: Vec<&str> = o.served.iter().filter_map(|s| s.soql.as_deref()).collect();
        assert!(
            soql.iter().any(|q| q.ends_with(" FROM Contact")),
            "{soql:?}"
        );
        assert!(!soql.iter().any(|q| q.contains(" FROM Lead")), "{soql:?}");
    }
    assert!(
        dir.path()
            .join(".revalign/cache/salesforce/Contact.ndjson")
            .exists()
    );

    // The Lead Status history is the Lead's: not with Contacts.
    let dir = alignment_with(
        Some(&base),
        &["id", "created_at", "mql_at"],
        "leads = \"Contact\"\nstage_status = { mql = \"MQL\" }\n",
    );
    let (code, out, _) = common::run_in(dir.path(), &["validate", ".", "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("reads stage times from the Lead Status history, but its leads are Contact"),
        "{out}"
    );
}

#[test]
fn fetch_periods_reads_and_counts_from_the_floor() {
    let mut acme = fake::acme(MODSTAMP);
    // Each record last stamped at its last event.
    for r in acme.leads.iter_mut().chain(acme.opportunities.iter_mut()) {
        r.modstamp = common::last_event(&r.fields);
    }
    let org = Arc::new(Mutex::new(acme));
    let base = serve(Arc::clone(&org));
    let dir = alignment_with(Some(&base), &["id", "created_at"], "fetch = \"periods\"\n");
    let (code, api, stderr) = check(dir.path(), Some(TOKEN), &[]);
    assert_eq!(code, 1, "{stderr}");
    let (_, csv, _) = common::check_api(dir.path(), "crm_export", &[], &[], &[]);
    assert_eq!(numbers(&api), numbers(&csv));
    // FY2026 began on 1 February in New York.
    let floor = "2026-02-01T05:00:00Z";
    let since = floor
        .parse::<jiff::Timestamp>()
        .expect("time")
        .as_millisecond();
    let want = {
        let o = org.lock().expect("org");
        let soql: Vec<&str> = o.served.iter().filter_map(|s| s.soql.as_deref()).collect();
        assert!(
            soql.iter()
                .any(|q| q.ends_with(&format!(" FROM Lead WHERE SystemModstamp >= {floor}"))),
            "{soql:?}"
        );
        o.leads.iter().filter(|r| r.modstamp >= since).count()
    };
    assert_eq!(cached(dir.path()).0.lines().count(), want);
    assert!(want < 30_000, "{want} of 48,000");

    // Unchanged: the count is of the records modified since the floor.
    let before = org.lock().expect("org").served.len();
    check(dir.path(), Some(TOKEN), &[]);
    {
        let o = org.lock().expect("org");
        let soql: Vec<&str> = o.served[before..]
            .iter()
            .filter_map(|s| s.soql.as_deref())
            .collect();
        assert!(
            soql.contains(
                &format!("SELECT COUNT() FROM Lead WHERE SystemModstamp >= {floor}").as_str()
            ),
            "{soql:?}"
        );
    }

    // 2 cached leads deleted past the recycle bin: found by the count.
    {
        let mut o = org.lock().expect("org");
        for _ in 0..2 {
            let at = o
                .leads
                .iter()
                .position(|r| r.modstamp >= since)
                .expect("a cached lead");
            o.leads.remove(at);
        }
    }
    let (_, purged, stderr) = check(dir.path(), Some(TOKEN), &[]);
    assert!(
        stderr.contains(&format!("Lead: fetching the records modified since {floor} (the checked periods' start) again: 2 of its {want} records are no longer in Salesforce")),
        "{stderr}"
    );
    assert_eq!(cached(dir.path()).0.lines().count(), want - 2);
    let (_, full, _) = check(dir.path(), Some(TOKEN), &["--refresh"]);
    assert_eq!(numbers(&full), numbers(&purged));
}
