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
//! `queryAll` (`IsDeleted = true`, kept 15 days in the recycle bin; the
//! weekly full fetch covers the rest).
//!
//! Limits: Salesforce counts requests per rolling 24 hours
//! (`Sforce-Limit-Info: api-usage=n/limit`, reported as it goes) and answers
//! 403 `REQUEST_LIMIT_EXCEEDED` when they are used up: reported at once,
//! never retried. Requests are spaced 50 ms apart.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::{Map, Value};

use super::api::{Account, Api, Cached, Vendor, fresh_cursor};
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
    Ok(Cached::new(Salesforce {
        account: Account::new(id, s, dir, org_tz, fetch, SALESFORCE)?,
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
    jiff::Timestamp::from_millisecond(ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A Salesforce org.
#[derive(Debug)]
pub struct Salesforce {
    account: Account,
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

    fn select(fields: &[String], object: &str) -> String {
        format!("SELECT {} FROM {object}", fields.join(", "))
    }
}

impl Api for Salesforce {
    fn account(&self) -> &Account {
        &self.account
    }

    fn object(&self, kind: Kind) -> &'static str {
        object(kind)
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
        let object = object(kind);
        let what = format!("the {object} query");
        let mut bar = self.account.bar(object, None);
        let mut first = true;
        self.query(
            http,
            &what,
            &Self::select(fields, object),
            false,
            |records, total| {
                if std::mem::take(&mut first) {
                    bar.total(total);
                }
                for r in records {
                    let (id, row) = self.row(&what, r)?;
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
        let object = object(kind);
        let what = format!("the changed {object} query");
        let soql = format!(
            "{} WHERE SystemModstamp >= {}",
            Self::select(fields, object),
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
        Ok(changed)
    }

    fn removed(
        &self,
        http: &mut Http,
        kind: Kind,
        since: i64,
    ) -> Result<BTreeSet<Key>, SourceError> {
        let object = object(kind);
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
