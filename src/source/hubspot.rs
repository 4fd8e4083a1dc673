//! The `hubspot` source: contacts and deals from HubSpot's CRM v3 search API.
//!
//! Records are fetched with the properties the metrics need (HubSpot's
//! internal names by default, as in the `hubspot` preset: `createdate`,
//! `hs_lifecyclestage_<stage>_date`, `hs_first_outreach_date`,
//! `hs_is_closed_won`, ...; `columns` and `deal_columns` map others), written
//! as NDJSON under `.revalign/cache/<source>/` beside the alignment, and read
//! from there by the file source, so values are read, typed and checked
//! exactly as in an export.
//!
//! Paging: by keyset, `hs_object_id` ascending, every page asking for the ids
//! after the last one seen (never the `after` offset, which shifts when
//! records are deleted meanwhile and stops at the search's 10,000-result
//! cap). A page that does not parse, ids that do not rise, an empty page that
//! says more follow, a search that ends short of the total it reported: an
//! error, never part of a result.
//! Rate: 5 requests a second (the search API's documented limit) until the
//! `X-HubSpot-RateLimit-*` headers say otherwise; a 429 is retried after its
//! `Retry-After` or a backoff, except a `DAILY` one, which is reported.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::file::{FileSource, Kind, preset_columns};
use super::http::{Answer, Http, Limiter, header_u32};
use super::{DataSource, DealSink, LeadSink, SourceError, Streamed};
use crate::model::manifest::{Preset, Source, SourceKind};
use crate::model::record::Need;

/// The API's base when the manifest names none.
pub const BASE: &str = "https://api.hubapi.com";
/// Results per search page (the API's maximum).
const PAGE: usize = 200;

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
            base: s
                .base_url
                .clone()
                .unwrap_or_else(|| BASE.to_string())
                .trim_end_matches('/')
                .to_string(),
            columns: s.columns.clone(),
            deal_columns: s.deal_columns.clone(),
            time_zone: s.time_zone.clone(),
            org_tz: org_tz.to_string(),
            timeout,
            cache: dir.join(".revalign").join("cache").join(id),
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

    /// Every record of a kind, by id, written as NDJSON; returns how many.
    fn fetch(
        &self,
        http: &mut Http,
        token: &str,
        kind: Kind,
        need: &Need,
        out: &Path,
    ) -> Result<u64, SourceError> {
        let (object, what) = match kind {
            Kind::Leads => ("contacts", "the contacts search"),
            Kind::Deals => ("deals", "the deals search"),
        };
        let properties = self.properties(kind, need);
        let url = format!("{}/crm/v3/objects/{object}/search", self.base);
        // Written beside and renamed when whole: a failed run leaves the
        // previous cache, never half of one.
        let partial = out.with_extension("ndjson.partial");
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(&partial).map_err(|e| self.cache_error(&partial, &e))?,
        );
        // Keyset paging: every page asks for the records after the last id
        // seen, so records deleted or merged meanwhile cannot shift a page
        // (as an `after` offset would) and the search's 10,000-result cap
        // never applies.
        let mut last: Option<u64> = None;
        let mut records = 0u64;
        loop {
            let mut body = json!({
                "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                "properties": properties,
                "limit": PAGE,
            });
            if let Some(l) = last {
                body["filterGroups"] = json!([{"filters": [
                    {"propertyName": "hs_object_id", "operator": "GT", "value": l.to_string()}
                ]}]);
            }
            let bytes = serde_json::to_vec(&body).unwrap_or_default();
            let answer = http.send(
                what,
                |c| {
                    c.post(&url)
                        .bearer_auth(token)
                        .header("content-type", "application/json")
                        .body(bytes.clone())
                },
                // A daily quota does not come back in seconds.
                |a| !String::from_utf8_lossy(&a.body).contains("\"DAILY\""),
            )?;
            http.limiter.observe(
                header_u32(&answer.headers, "x-hubspot-ratelimit-max"),
                header_u32(&answer.headers, "x-hubspot-ratelimit-interval-milliseconds")
                    .map(|ms| Duration::from_millis(u64::from(ms))),
                header_u32(&answer.headers, "x-hubspot-ratelimit-remaining"),
            );
            if answer.status != 200 {
                return Err(self.refused(what, &answer));
            }
            let page: Value = serde_json::from_slice(&answer.body).map_err(|e| {
                SourceError::new(
                    format!("HubSpot: a page of {what} is not JSON ({e})"),
                    "run again; if it persists, HubSpot's API is answering wrongly",
                )
            })?;
            let Some(results) = page["results"].as_array() else {
                return Err(SourceError::new(
                    format!("HubSpot: a page of {what} has no `results`"),
                    "check base_url: it must be HubSpot's API (https://api.hubapi.com)",
                ));
            };
            for r in results {
                let id = r["id"]
                    .as_str()
                    .and_then(|i| i.parse::<u64>().ok())
                    .ok_or_else(|| {
                        SourceError::new(
                            format!("HubSpot: a record of {what} has no numeric id"),
                            "report this as a bug",
                        )
                    })?;
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
                let mut row = Map::new();
                row.insert(self.property(kind, "id", false), json!(id.to_string()));
                if let Some(props) = r["properties"].as_object() {
                    for (k, v) in props {
                        if k != "hs_object_id" {
                            row.insert(k.clone(), v.clone());
                        }
                    }
                }
                serde_json::to_writer(&mut file, &Value::Object(row))
                    .map_err(|e| self.cache_error(out, &e.into()))?;
                file.write_all(b"\n")
                    .map_err(|e| self.cache_error(out, &e))?;
                records += 1;
            }
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
        file.flush().map_err(|e| self.cache_error(&partial, &e))?;
        drop(file);
        std::fs::rename(&partial, out).map_err(|e| self.cache_error(out, &e))?;
        Ok(records)
    }

    fn cache_error(&self, path: &Path, e: &std::io::Error) -> SourceError {
        SourceError::new(
            format!(
                "source `{}`: cannot write the cache `{}`: {e}",
                self.id,
                path.display()
            ),
            "make the alignment directory writable (the cache is .revalign/cache/ in it)",
        )
    }

    /// Fetches both kinds (each only if needed) and opens the cache as files.
    fn fetch_all(&self, need: &Need) -> Result<FileSource, SourceError> {
        let token = self.token()?;
        std::fs::create_dir_all(&self.cache).map_err(|e| self.cache_error(&self.cache, &e))?;
        // The cache folder ignores itself in git.
        if let Some(root) = self.cache.parent().and_then(Path::parent) {
            let ignore = root.join(".gitignore");
            if !ignore.exists() {
                std::fs::write(&ignore, "# revalign's cache of CRM records\n*\n")
                    .map_err(|e| self.cache_error(&ignore, &e))?;
            }
        }
        let mut http = Http::new(
            "HubSpot",
            self.timeout,
            Limiter::new(5, Duration::from_secs(1)).floor(Duration::from_millis(200)),
        )?;
        let mut source = Source::empty(SourceKind::Ndjson);
        source.preset = Some(Preset::Hubspot);
        source.columns = self.columns.clone();
        source.deal_columns = self.deal_columns.clone();
        source.time_zone = self.time_zone.clone();
        if need.leads {
            let leads = self.cache.join("contacts.ndjson");
            self.fetch(&mut http, &token, Kind::Leads, need, &leads)?;
            source.leads = Some(leads.display().to_string());
        }
        if need.deals {
            let deals = self.cache.join("deals.ndjson");
            self.fetch(&mut http, &token, Kind::Deals, need, &deals)?;
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
