//! The `salesforce` source: leads and opportunities from Salesforce's REST
//! API, by SOQL (`GET /services/data/v62.0/query?q=SELECT ... FROM Lead`).
//!
//! Fields are the API names (the `salesforce` preset: `Id`, `CreatedDate`;
//! opportunities' `CloseDate`, `IsClosed`, `IsWon`, `Amount`,
//! `CurrencyIsoCode`); stage times and the rest are custom fields mapped in
//! `columns` and `deal_columns` (`mql = "MQL_Date__c"`), written as the API
//! spells them. Values arrive as JSON strings, numbers and booleans;
//! datetimes as `2018-03-18T07:38:12.000+0000`, dates (`CloseDate`) as
//! `2026-10-14`, read at midnight in the source's time zone.
//!
//! Paging: each answer holds up to 2,000 records and, until `done`, a
//! `nextRecordsUrl` (a query locator: the result is fixed when the query
//! runs, so nothing shifts). A page that does not parse, a locator that
//! repeats, more announced without a locator, a result that ends short of
//! its `totalSize`: an error, never part of a result.
//!
//! Incremental: the records whose `SystemModstamp` is at or after the last
//! sync's start (less the overlap); deleted and merged records come from
//! `queryAll` (`IsDeleted = true`, kept 15 days in the recycle bin); the
//! rest shows in `SELECT COUNT()` (see [`super::api`]).
//!
//! Stage times from the Lead Status history (`stage_status = { mql =
//! "Marketing Qualified" }`): a stage's time is when the lead first entered
//! that Status, from `LeadHistory` (`Field = 'Status'`, field history
//! tracking on): the earliest change whose `NewValue` is the Status, or the
//! lead's `CreatedDate` when it was created with it (its first change's
//! `OldValue`, or, with no change recorded, its Status now). The history of
//! every lead comes with a full fetch; with changes, only the changed
//! leads' (`LeadId IN (...)`, 200 ids a query): a Status change moves the
//! lead's `SystemModstamp`. Each stage is cached as the column
//! `LeadHistory:Status=<value>`, so a changed `stage_status` refetches.
//!
//! Limits: Salesforce counts requests per rolling 24 hours
//! (`Sforce-Limit-Info: api-usage=n/limit`, reported as it goes) and answers
//! 403 `REQUEST_LIMIT_EXCEEDED` when they are used up: reported at once,
//! never retried. Requests are spaced 50 ms apart.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::{Map, Value};

use super::api::{Account, Api, Cached, Vendor, fresh_cursor, whole_seconds};
use super::cache::{Key, Writer};
use super::file::Kind;
use super::http::{Answer, Auth, Http, Limiter, Rate};
use super::{Fetch, SourceError};
use crate::model::manifest::{Preset, Source};

/// The vendor.
pub const SALESFORCE: Vendor = Vendor {
    kind: "salesforce",
    name: "Salesforce",
    base: "",
    preset: Preset::Salesforce,
    token_help: "an access token for the org (`sf org display --verbose` shows one; read access to Lead and Opportunity, API Enabled)",
    token_url: "/services/oauth2/token",
    oauth_basic: false,
    client_credentials: true,
    owner: "OwnerId",
    lead_objects: &["Lead", "Contact"],
};
/// The REST API version.
pub const VERSION: &str = "v62.0";

/// The `salesforce` source of `[source.<id>]`.
pub fn open(
    id: &str,
    s: &Source,
    dir: &Path,
    org_tz: &str,
    fetch: Fetch,
) -> Result<Cached<Salesforce>, SourceError> {
    if s.base_url.is_none() {
        return Err(SourceError::new(
            format!("source `{id}` (salesforce) names no instance"),
            format!(
                "set [source.{id}] base_url = \"https://<my-domain>.my.salesforce.com\" (the instance_url of your token)"
            ),
        ));
    }
    // A stage read from the history is read, from the cache, as its column.
    let mut s = s.clone();
    for (stage, status) in &s.stage_status {
        if s.columns.contains_key(stage) {
            return Err(SourceError::new(
                format!(
                    "source `{id}` reads stage `{stage}` both from columns and from stage_status"
                ),
                format!("remove `{stage}` from columns or from stage_status"),
            ));
        }
        s.columns
            .insert(stage.clone(), format!("{HISTORY}{status}"));
    }
    let account = Account::new(id, &s, dir, org_tz, fetch, SALESFORCE)?;
    if !s.stage_status.is_empty() && account.lead_object != "Lead" {
        return Err(SourceError::new(
            format!(
                "source `{id}` reads stage times from the Lead Status history, but its leads are {}",
                account.lead_object
            ),
            "remove stage_status (map stage date fields in columns), or read leads from Lead",
        ));
    }
    Ok(Cached::new(Salesforce {
        account,
        statuses: s.stage_status.values().cloned().collect(),
    }))
}

/// The sObject of a kind of record.
fn object(kind: Kind) -> &'static str {
    match kind {
        Kind::Leads => "Lead",
        Kind::Deals => "Opportunity",
    }
}

/// Salesforce sends no per-second limit.
fn rate(_: &HeaderMap) -> Rate {
    Rate::default()
}

/// `Sforce-Limit-Info: api-usage=10018/100000`.
fn usage(headers: &HeaderMap) -> Option<(u64, u64)> {
    let v = headers.get("sforce-limit-info")?.to_str().ok()?;
    let (used, limit) = v.split_once("api-usage=")?.1.split_once('/')?;
    let limit = limit.split(|c: char| !c.is_ascii_digit()).next()?;
    Some((used.trim().parse().ok()?, limit.parse().ok()?))
}

/// A SOQL datetime literal: UTC, whole seconds, unquoted.
fn literal(ms: i64) -> String {
    whole_seconds(ms)
}

/// How the column of a stage read from the Status history begins.
const HISTORY: &str = "LeadHistory:Status=";
/// Lead ids per history query (`LeadId IN (...)`).
const IDS_PER_QUERY: usize = 200;

/// A lead's Status history, as far as `stage_status` needs it.
#[derive(Debug, Default)]
struct Trail {
    /// The history holds the lead's creation (a `created` row): it covers
    /// the lead's whole life, so the Status it was created with is known.
    created: bool,
    /// The earliest Status changes (several made at one instant): when, and
    /// each one's old and new Status.
    first: Option<(i64, Vec<(Value, Value)>)>,
    /// The earliest entry into each Status of interest: when, as written.
    entered: BTreeMap<String, (i64, Value)>,
}

impl Trail {
    /// Takes in a `LeadHistory` row `r` (a Status change, or the lead's
    /// creation) made `at`.
    fn add(&mut self, at: i64, r: &Value, statuses: &BTreeSet<String>) {
        if r["Field"] == "created" {
            self.created = true;
            return;
        }
        let change = (r["OldValue"].clone(), r["NewValue"].clone());
        match &mut self.first {
            Some((t, changes)) if at == *t => changes.push(change),
            Some((t, _)) if at > *t => {}
            _ => self.first = Some((at, vec![change])),
        }
        if let Some(new) = r["NewValue"].as_str()
            && statuses.contains(new)
            && self.entered.get(new).is_none_or(|(t, _)| at < *t)
        {
            self.entered
                .insert(new.to_string(), (at, r["CreatedDate"].clone()));
        }
    }

    /// The Status the lead was created with, when the history covers its
    /// creation: the first change's old Status (of changes made at one
    /// instant, the one no other led to), or, with no change, `now`.
    fn initial(&self, now: &Value) -> Option<Value> {
        if !self.created {
            return None;
        }
        match &self.first {
            None => Some(now.clone()),
            Some((_, changes)) => changes
                .iter()
                .find(|(old, _)| !changes.iter().any(|(_, new)| new == old))
                .or(changes.first())
                .map(|(old, _)| old.clone()),
        }
    }
}

/// A Salesforce org.
#[derive(Debug)]
pub struct Salesforce {
    account: Account,
    /// The Status values `stage_status` reads stage times from.
    statuses: BTreeSet<String>,
}

impl Salesforce {
    /// An answer that is not a result, explained.
    fn refused(&self, what: &str, a: &Answer) -> SourceError {
        let body: Value = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
        let first = &body[0];
        let code = first["errorCode"].as_str().unwrap_or("");
        let message = first["message"].as_str().unwrap_or("");
        let access = self.account.access();
        match (a.status, code) {
            (401, _) => SourceError::new(
                format!("Salesforce refused {access} (401 {code}: {message})"),
                "export a fresh access token for the org at base_url (`sf org display --verbose` shows one), or use OAuth (client_id_env, client_secret_env) so it is renewed",
            ),
            (403, "REQUEST_LIMIT_EXCEEDED") => SourceError::new(
                format!("Salesforce: the org's API request limit is used up ({message})"),
                "the limit counts the last 24 hours: run again later, or raise it (Setup > Company Information > API Requests)",
            ),
            (403, _) => SourceError::new(
                format!(
                    "Salesforce: the user of {access} may not run {what} (403 {code}: {message})"
                ),
                "give the user API Enabled and read access to Lead and Opportunity and the fields mapped",
            ),
            (400, "INVALID_FIELD" | "MALFORMED_QUERY" | "INVALID_TYPE") => SourceError::new(
                format!("Salesforce refused {what} (400 {code}: {message})"),
                "map each field to its API name in columns / deal_columns (mql = \"MQL_Date__c\"); names are as Setup > Object Manager > Fields shows them",
            ),
            (s, _) => SourceError::new(
                format!("Salesforce answered {what} with HTTP {s} {code}: {message}"),
                "check base_url: it must be the org's instance (https://<my-domain>.my.salesforce.com)",
            ),
        }
    }

    /// Runs a SOQL query (`all`: through `queryAll`, deleted records
    /// included) and hands each page of records to `each`; returns the
    /// total the query reported.
    fn query(
        &self,
        http: &mut Http,
        what: &str,
        soql: &str,
        all: bool,
        mut each: impl FnMut(&[Value], Option<u64>) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let base = &self.account.base;
        let endpoint = if all { "queryAll" } else { "query" };
        let mut url = reqwest::Url::parse_with_params(
            &format!("{base}/services/data/{VERSION}/{endpoint}"),
            &[("q", soql)],
        )
        .map_err(|e| {
            SourceError::new(
                format!("Salesforce: cannot form the URL of `{base}`: {e}"),
                "check base_url",
            )
        })?;
        let mut locators = HashSet::new();
        let mut fetched = 0u64;
        loop {
            let answer = http.send(
                what,
                |c, token| {
                    c.get(url.clone())
                        .bearer_auth(token)
                        .header("Sforce-Query-Options", "batchSize=2000")
                },
                |_| true,
            )?;
            if let Some((used, limit)) = usage(&answer.headers)
                && used * 10 >= limit * 9
            {
                self.account.progress_line(&format!(
                    "{}: the org has used {used} of its {limit} API requests in the last 24 hours",
                    self.account.id
                ));
            }
            if answer.status != 200 {
                return Err(self.refused(what, &answer));
            }
            let page: Value = serde_json::from_slice(&answer.body).map_err(|e| {
                SourceError::new(
                    format!("Salesforce: a page of {what} is not JSON ({e})"),
                    "run again; if it persists, the org's API is answering wrongly",
                )
            })?;
            let (Some(records), Some(done)) = (page["records"].as_array(), page["done"].as_bool())
            else {
                return Err(SourceError::new(
                    format!("Salesforce: a page of {what} has no `records` or `done`"),
                    "check base_url: it must be the org's instance (https://<my-domain>.my.salesforce.com)",
                ));
            };
            let total = page["totalSize"].as_u64();
            each(records, total)?;
            // A count is its `totalSize`, with no records.
            if soql.starts_with("SELECT COUNT() ") {
                return Ok(());
            }
            fetched += records.len() as u64;
            if let Some(t) = total.filter(|t| fetched > *t) {
                return Err(SourceError::new(
                    format!("Salesforce: {what} returned {fetched} records of the {t} it reported"),
                    "run again; a result that repeats records cannot be trusted",
                ));
            }
            if done {
                if let Some(t) = total.filter(|t| fetched < *t) {
                    return Err(SourceError::new(
                        format!(
                            "Salesforce: {what} ended with {fetched} of the {t} records it reported"
                        ),
                        "run again; a result that stops short cannot be trusted",
                    ));
                }
                return Ok(());
            }
            let Some(next) = page["nextRecordsUrl"].as_str() else {
                return Err(SourceError::new(
                    format!(
                        "Salesforce: {what} says more records follow but gives no nextRecordsUrl"
                    ),
                    "run again; a result that stops short cannot be trusted",
                ));
            };
            if records.is_empty() {
                return Err(SourceError::new(
                    format!(
                        "Salesforce: {what} returned an empty page that says more records follow"
                    ),
                    "run again; a page that skips cannot be trusted",
                ));
            }
            fresh_cursor("Salesforce", what, next, &mut locators)?;
            url = reqwest::Url::parse(&format!("{base}{next}")).map_err(|e| {
                SourceError::new(
                    format!("Salesforce: {what} gave a nextRecordsUrl that is not a path ({e})"),
                    "run again",
                )
            })?;
        }
    }

    /// A record as a cache row: its fields but `attributes`, by `Id`.
    fn row(&self, what: &str, r: &Value) -> Result<(Key, Value), SourceError> {
        let fields = r.as_object().ok_or_else(|| {
            SourceError::new(
                format!("Salesforce: {what} returned a record that is not an object"),
                "run again",
            )
        })?;
        let Some(id) = fields
            .get("Id")
            .and_then(Value::as_str)
            .filter(|i| !i.is_empty())
        else {
            return Err(SourceError::new(
                format!("Salesforce: {what} returned a record without an Id"),
                "run again",
            ));
        };
        // Every field as it came (a related record, asked for, stays an
        // object: the file source says it cannot read it), but `attributes`.
        let row: Map<String, Value> = fields
            .iter()
            .filter(|(k, _)| *k != "attributes")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok((Key(id.to_string()), Value::Object(row)))
    }

    /// The query of a kind's fields: the history's columns are not
    /// fields, and leads then need their Status.
    fn select(&self, kind: Kind, fields: &[String]) -> String {
        let mut list: Vec<&str> = fields
            .iter()
            .map(String::as_str)
            .filter(|f| !f.starts_with(HISTORY))
            .collect();
        if self.history(kind) && !list.contains(&"Status") {
            list.push("Status");
        }
        format!(
            "SELECT {} FROM {}",
            list.join(", "),
            Api::object(self, kind)
        )
    }

    /// Whether stage times of this kind come from the Status history.
    fn history(&self, kind: Kind) -> bool {
        kind == Kind::Leads && !self.statuses.is_empty()
    }

    /// The Status history of the leads `ids` (every lead when `None`).
    fn trails(
        &self,
        http: &mut Http,
        ids: Option<&[Key]>,
    ) -> Result<HashMap<String, Trail>, SourceError> {
        let what = "the LeadHistory query";
        let select = "SELECT LeadId, Field, OldValue, NewValue, CreatedDate FROM LeadHistory WHERE Field IN ('Status', 'created')";
        let queries: Vec<String> = match ids {
            None => vec![select.to_string()],
            Some(ids) => ids
                .chunks(IDS_PER_QUERY)
                .map(|chunk| {
                    let list: Vec<String> = chunk
                        .iter()
                        .map(|k| format!("'{}'", k.0.replace(['\\', '\''], "")))
                        .collect();
                    format!("{select} AND LeadId IN ({})", list.join(", "))
                })
                .collect(),
        };
        let mut trails: HashMap<String, Trail> = HashMap::new();
        let utc = jiff::tz::TimeZone::UTC;
        for soql in queries {
            self.query(http, what, &soql, false, |records, _| {
                for r in records {
                    let (Some(lead), Some(at)) = (
                        r["LeadId"].as_str(),
                        r["CreatedDate"]
                            .as_str()
                            .and_then(|t| super::timestamp::parse(t, &utc)),
                    ) else {
                        return Err(SourceError::new(
                            format!(
                                "Salesforce: {what} returned a change without LeadId or CreatedDate"
                            ),
                            "run again; if it persists, the org's API is answering wrongly",
                        ));
                    };
                    trails
                        .entry(lead.to_string())
                        .or_default()
                        .add(at, r, &self.statuses);
                }
                Ok(())
            })?;
        }
        Ok(trails)
    }

    /// Gives a lead row the time it first entered each Status of interest,
    /// from its history (`None`: nothing recorded): the earliest change into
    /// it, or its creation when it was created with it. A history that does
    /// not reach back to the creation (tracking turned on later, changes
    /// deleted after 18 to 24 months) says nothing of the Statuses before
    /// its first change: those stay unknown (null), never the creation time.
    fn stamp(&self, row: &mut Value, trail: Option<&Trail>) {
        let created = row[self.account.property(Kind::Leads, "created", false)].clone();
        let initial = trail.and_then(|t| t.initial(&row["Status"]));
        for status in &self.statuses {
            let at = if initial.as_ref().and_then(Value::as_str) == Some(status) {
                created.clone()
            } else {
                trail
                    .and_then(|t| t.entered.get(status))
                    .map_or(Value::Null, |(_, raw)| raw.clone())
            };
            row[format!("{HISTORY}{status}")] = at;
        }
    }
}

impl Api for Salesforce {
    fn account(&self) -> &Account {
        &self.account
    }

    fn object(&self, kind: Kind) -> &'static str {
        match kind {
            Kind::Leads => self.account.lead_object,
            Kind::Deals => object(kind),
        }
    }

    fn id_field(&self) -> &'static str {
        "Id"
    }

    /// The org id.
    fn account_id(&self, http: &mut Http) -> Result<String, SourceError> {
        let what = "the Organization query";
        let mut id = None;
        self.query(
            http,
            what,
            "SELECT Id FROM Organization",
            false,
            |records, _| {
                if id.is_none() {
                    id = records
                        .first()
                        .and_then(|r| r["Id"].as_str())
                        .map(String::from);
                }
                Ok(())
            },
        )?;
        id.ok_or_else(|| {
            SourceError::new(
                format!("Salesforce: {what} returned no org"),
                "check base_url: it must be the org's instance (https://<my-domain>.my.salesforce.com)",
            )
        })
    }

    fn client(&self, auth: Auth) -> Result<Http, SourceError> {
        Http::new(
            "Salesforce",
            self.account.timeout,
            Limiter::new(20, Duration::from_secs(1)),
            rate,
            auth,
        )
    }

    fn everything(
        &self,
        http: &mut Http,
        kind: Kind,
        fields: &[String],
        out: &mut Writer,
    ) -> Result<(), SourceError> {
        let object = Api::object(self, kind);
        let what = format!("the {object} query");
        let trails = if self.history(kind) {
            Some(self.trails(http, None)?)
        } else {
            None
        };
        let mut bar = self.account.bar(object, None);
        let mut first = true;
        self.query(
            http,
            &what,
            &self.select(kind, fields),
            false,
            |records, total| {
                if std::mem::take(&mut first) {
                    bar.total(total);
                }
                for r in records {
                    let (id, mut row) = self.row(&what, r)?;
                    if let Some(trails) = &trails {
                        self.stamp(&mut row, trails.get(&id.0));
                    }
                    out.push(&id, &row)?;
                }
                bar.advance(records.len() as u64);
                Ok(())
            },
        )?;
        bar.finish();
        Ok(())
    }

    fn changed(
        &self,
        http: &mut Http,
        kind: Kind,
        fields: &[String],
        since: i64,
    ) -> Result<BTreeMap<Key, Value>, SourceError> {
        let object = Api::object(self, kind);
        let what = format!("the changed {object} query");
        let soql = format!(
            "{} WHERE SystemModstamp >= {}",
            self.select(kind, fields),
            literal(since)
        );
        let mut changed = BTreeMap::new();
        self.query(http, &what, &soql, false, |records, _| {
            for r in records {
                let (id, row) = self.row(&what, r)?;
                changed.insert(id, row);
            }
            Ok(())
        })?;
        if self.history(kind) && !changed.is_empty() {
            let ids: Vec<Key> = changed.keys().cloned().collect();
            let trails = self.trails(http, Some(&ids))?;
            for (id, row) in &mut changed {
                self.stamp(row, trails.get(&id.0));
            }
        }
        Ok(changed)
    }

    fn lasting(&self, kind: Kind) -> Vec<String> {
        if !self.history(kind) {
            return Vec::new();
        }
        self.statuses
            .iter()
            .map(|s| format!("{HISTORY}{s}"))
            .collect()
    }

    fn count(
        &self,
        http: &mut Http,
        kind: Kind,
        floor: Option<i64>,
    ) -> Result<Option<u64>, SourceError> {
        let object = Api::object(self, kind);
        let mut soql = format!("SELECT COUNT() FROM {object}");
        if let Some(f) = floor {
            soql.push_str(&format!(" WHERE SystemModstamp >= {}", literal(f)));
        }
        let mut count = None;
        self.query(
            http,
            &format!("the {object} count"),
            &soql,
            false,
            |_, total| {
                count = total;
                Ok(())
            },
        )?;
        Ok(count)
    }

    fn removed(
        &self,
        http: &mut Http,
        kind: Kind,
        since: i64,
    ) -> Result<BTreeSet<Key>, SourceError> {
        let object = Api::object(self, kind);
        let what = format!("the deleted {object} query");
        let soql = format!(
            "SELECT Id FROM {object} WHERE IsDeleted = true AND SystemModstamp >= {}",
            literal(since)
        );
        let mut ids = BTreeSet::new();
        self.query(http, &what, &soql, true, |records, _| {
            for r in records {
                ids.insert(self.row(&what, r)?.0);
            }
            Ok(())
        })?;
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stage_times_are_first_entries_into_each_status() {
        let mut s = Source::empty(crate::model::manifest::SourceKind::Salesforce);
        s.base_url = Some("https://acme.my.salesforce.com".into());
        s.token_env = Some("SF_TOKEN".into());
        s.stage_status = [("mql", "MQL"), ("sal", "Accepted"), ("sql", "SQL")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let source = open("sf", &s, Path::new("."), "UTC", Fetch::default()).expect("source");
        let sf = source.api();
        let change = |at: &str, old: &str, new: &str| json!({"LeadId": "00Q1", "Field": "Status", "OldValue": old, "NewValue": new, "CreatedDate": at});
        let birth = json!({"LeadId": "00Q1", "Field": "created", "OldValue": null, "NewValue": null, "CreatedDate": "2026-01-05T09:00:00.000+0000"});
        let trail = |changes: &[Value]| {
            let mut t = Trail::default();
            for c in changes {
                let at = crate::source::timestamp::parse(
                    c["CreatedDate"].as_str().unwrap_or(""),
                    &jiff::tz::TimeZone::UTC,
                )
                .expect("time");
                t.add(at, c, &sf.statuses);
            }
            t
        };
        let stamped = |status: &str, t: Option<&Trail>| {
            let mut row = json!({"Id": "00Q1", "CreatedDate": "2026-01-05T09:00:00.000+0000", "Status": status});
            sf.stamp(&mut row, t);
            ["MQL", "Accepted", "SQL"].map(|s| row[format!("{HISTORY}{s}")].clone())
        };
        let created = json!("2026-01-05T09:00:00.000+0000");
        let null = Value::Null;
        // Out of order, recycled and accepted again, a stage skipped (no
        // SQL... then SQL without Accepted on another lead).
        let t = trail(&[
            change("2026-01-07T10:00:00.000+0000", "Recycled", "Accepted"),
            change("2026-01-06T10:00:00.000+0000", "MQL", "Accepted"),
            birth.clone(),
            change("2026-01-05T12:00:00.000+0000", "Open", "MQL"),
            change("2026-01-06T11:00:00.000+0000", "Accepted", "Recycled"),
        ]);
        assert_eq!(
            stamped("Accepted", Some(&t)),
            [
                json!("2026-01-05T12:00:00.000+0000"),
                json!("2026-01-06T10:00:00.000+0000"),
                null.clone()
            ]
        );
        // Created an MQL: its first change's OldValue says so, when the
        // history holds the creation.
        let sql = json!("2026-01-09T08:00:00.000+0000");
        let t = trail(&[
            birth.clone(),
            change("2026-01-09T08:00:00.000+0000", "MQL", "SQL"),
        ]);
        assert_eq!(
            stamped("SQL", Some(&t)),
            [created.clone(), null.clone(), sql.clone()]
        );
        // Without the creation (changes deleted after 18 months, tracking
        // turned on later), what came before the first change is unknown.
        let t = trail(&[change("2026-01-09T08:00:00.000+0000", "MQL", "SQL")]);
        assert_eq!(
            stamped("SQL", Some(&t)),
            [null.clone(), null.clone(), sql.clone()]
        );
        // Created and never changed: created with the Status it has, or
        // never in one; with nothing recorded, nothing known.
        let t = trail(std::slice::from_ref(&birth));
        assert_eq!(
            stamped("MQL", Some(&t)),
            [created.clone(), null.clone(), null.clone()]
        );
        assert_eq!(
            stamped("Open", Some(&t)),
            [null.clone(), null.clone(), null.clone()]
        );
        assert_eq!(
            stamped("MQL", None),
            [null.clone(), null.clone(), null.clone()]
        );
        // Two changes at one instant, listed in any order: the one no other
        // led to holds the Status it was created with.
        for order in [[0, 1], [1, 0]] {
            let at = "2026-01-05T10:00:00.000+0000";
            let both = [change(at, "MQL", "Accepted"), change(at, "Open", "MQL")];
            let t = trail(&[
                birth.clone(),
                both[order[0]].clone(),
                both[order[1]].clone(),
            ]);
            assert_eq!(
                stamped("Accepted", Some(&t)),
                [json!(at), json!(at), null.clone()]
            );
        }
    }

    #[test]
    fn limit_info_and_literals() {
        let mut h = HeaderMap::new();
        assert_eq!(usage(&h), None);
        h.insert(
            "sforce-limit-info",
            "api-usage=10018/100000".parse().expect("value"),
        );
        assert_eq!(usage(&h), Some((10_018, 100_000)));
        assert_eq!(literal(1_793_523_600_500), "2026-11-01T09:00:00Z");
    }
}
