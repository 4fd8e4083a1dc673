//! The `postgres` source: each metric runs as one SQL query in the warehouse
//! (compiled by [`crate::engine::sql`]), and only the numbers come back.
//!
//! Connection: `url_env` names the environment variable holding a
//! `postgres://user@host:port/db` URL (libpq's key=value form works too);
//! `password_env`, if set, names the one holding the password. Neither value
//! ever appears in output or errors. `leads` and `deals` name the tables or
//! views (default `leads`, `deals`; `schema.table` allowed); the columns
//! follow the same vocabulary as the file sources (`preset`, `columns`,
//! `deal_columns`). Timestamps without a zone are read in `time_zone` (else
//! the organisation's): the session's `TimeZone`.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use std::sync::Arc;

use postgres::config::SslMode;
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, Config, NoTls};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::file::{Kind, preset_columns};
use super::{DataSource, DealSink, LeadSink, SourceError, Stream, Streamed};
use crate::engine::sql::{self, Layout, Optional, Param, Query, qualified};
use crate::engine::{
    DriftExample, DriftSpec, Engine, Explained, Measured, Pushdown, Request, Results, StageDrift,
};
use crate::model::calendar::Millis;
use crate::model::manifest::{Preset, Source, SourceKind};
use crate::model::record::{Compiled, FieldType, Need, Value};

/// A PostgreSQL warehouse.
pub struct PostgresSource {
    id: String,
    url_env: String,
    password_env: Option<String>,
    leads: String,
    deals: String,
    preset: Preset,
    columns: BTreeMap<String, String>,
    deal_columns: BTreeMap<String, String>,
    time_zone: String,
}

impl std::fmt::Debug for PostgresSource {
    // No URL, no password: only where they come from.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSource")
            .field("id", &self.id)
            .field("url_env", &self.url_env)
            .field("leads", &self.leads)
            .field("deals", &self.deals)
            .finish_non_exhaustive()
    }
}

impl Layout for PostgresSource {
    fn table(&self, deals: bool) -> String {
        qualified(if deals { &self.deals } else { &self.leads })
    }

    fn column(&self, deals: bool, field: &str, stage: bool) -> String {
        let (kind, map) = if deals {
            (Kind::Deals, &self.deal_columns)
        } else {
            (Kind::Leads, &self.columns)
        };
        map.get(field).cloned().unwrap_or_else(|| {
            preset_columns(self.preset, kind, field, stage)
                .into_iter()
                .next()
                .unwrap_or_else(|| field.to_string())
        })
    }
}

impl PostgresSource {
    /// Reads the declaration; connects only when measuring.
    pub fn new(id: &str, s: &Source, org_tz: &str) -> Result<PostgresSource, SourceError> {
        debug_assert_eq!(s.kind, SourceKind::Postgres);
        let Some(url_env) = s.url_env.clone() else {
            return Err(SourceError::new(
                format!("source `{id}` (postgres) names no connection"),
                format!(
                    "set [source.{id}] url_env = \"WAREHOUSE_URL\" and export WAREHOUSE_URL=postgres://user@host:5432/db"
                ),
            ));
        };
        Ok(PostgresSource {
            id: id.to_string(),
            url_env,
            password_env: s.password_env.clone(),
            leads: s.leads.clone().unwrap_or_else(|| "leads".into()),
            deals: s.deals.clone().unwrap_or_else(|| "deals".into()),
            preset: s.preset.unwrap_or(Preset::Revalign),
            columns: s.columns.clone(),
            deal_columns: s.deal_columns.clone(),
            time_zone: s.time_zone.clone().unwrap_or_else(|| org_tz.to_string()),
        })
    }

    /// The connection settings and the CA file to trust (`sslrootcert` in
    /// the URL, else `PGSSLROOTCERT`), if any.
    fn config(&self) -> Result<(Config, Option<String>), SourceError> {
        let url = std::env::var(&self.url_env).map_err(|_| {
            SourceError::new(
                format!(
                    "source `{}`: the environment variable {} is not set",
                    self.id, self.url_env
                ),
                format!(
                    "export {}=postgres://user@host:5432/db (the password in the URL or in password_env)",
                    self.url_env
                ),
            )
        })?;
        let (url, root) = split_root_cert(&url);
        let root = root.or_else(|| {
            std::env::var("PGSSLROOTCERT")
                .ok()
                .filter(|r| !r.is_empty())
        });
        let mut config = Config::from_str(&url).map_err(|_| {
            // The parser's message may quote the URL: not shown.
            SourceError::new(
                format!(
                    "source `{}`: {} does not hold a PostgreSQL connection URL",
                    self.id, self.url_env
                ),
                "write it as postgres://user@host:5432/db or host=... user=... dbname=...",
            )
        })?;
        if let Some(env) = &self.password_env {
            let password = std::env::var(env).map_err(|_| {
                SourceError::new(
                    format!(
                        "source `{}`: the environment variable {env} (password_env) is not set",
                        self.id
                    ),
                    format!("export {env} with the database password, or remove password_env"),
                )
            })?;
            config.password(password);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        Ok((config, root))
    }

    /// TLS that verifies the server: its certificate must chain to the CA in
    /// `root` (a PEM file), else to one of Mozilla's roots, and name the host.
    fn tls(&self, root: Option<&str>) -> Result<MakeRustlsConnect, SourceError> {
        let mut roots = rustls::RootCertStore::empty();
        match root {
            Some(path) => {
                let bad = |why: String| {
                    SourceError::new(
                        format!(
                            "source `{}`: the CA file `{path}` (sslrootcert): {why}",
                            self.id
                        ),
                        "give a PEM file with the certificate of the CA that signed the server's",
                    )
                };
                let certs = CertificateDer::pem_file_iter(path)
                    .map_err(|e| bad(e.to_string()))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| bad(e.to_string()))?;
                if certs.is_empty() {
                    return Err(bad("no certificate in it".into()));
                }
                for c in certs {
                    roots.add(c).map_err(|e| bad(e.to_string()))?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| SourceError::new(format!("TLS: {e}"), "report this as a bug"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }

    fn place(&self, config: &Config) -> String {
        let host = config
            .get_hosts()
            .first()
            .map(|h| match h {
                postgres::config::Host::Tcp(h) => h.clone(),
                #[cfg(unix)]
                postgres::config::Host::Unix(p) => p.display().to_string(),
            })
            .unwrap_or_else(|| "localhost".into());
        let port = config.get_ports().first().copied().unwrap_or(5432);
        format!("{host}:{port}/{}", config.get_dbname().unwrap_or_default())
    }

    /// A session in the source's time zone, and where it is (host:port/db).
    fn connect(&self) -> Result<(Client, String), SourceError> {
        let (config, root) = self.config()?;
        let place = self.place(&config);
        // prefer (the default) and require use TLS when the server offers it,
        // verified; prefer falls back to plain text only where it does not.
        let connected = if config.get_ssl_mode() == SslMode::Disable {
            config.connect(NoTls)
        } else {
            config.connect(self.tls(root.as_deref())?)
        };
        let mut client = connected.map_err(|e| self.error(&e, &place, None))?;
        client
            .query(
                "SELECT set_config('TimeZone', $1, false)",
                &[&self.time_zone],
            )
            .map_err(|e| self.error(&e, &place, None))?;
        Ok((client, place))
    }

    /// A database error in words, with the fix; never the URL or password.
    fn error(&self, e: &postgres::Error, place: &str, metric: Option<&str>) -> SourceError {
        let what = metric
            .map(|m| format!("metric `{m}`"))
            .unwrap_or_else(|| format!("source `{}`", self.id));
        if let Some(db) = e.as_db_error() {
            let code = db.code();
            if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
                // pg_hba.conf has no rule for this user, host or encryption.
                return SourceError::new(
                    format!(
                        "{what}: PostgreSQL at {place} refused the connection: {}",
                        db.message()
                    ),
                    format!(
                        "check the user in {}, and whether the server takes only TLS connections (sslmode=require)",
                        self.url_env
                    ),
                );
            }
            if *code == SqlState::INVALID_PASSWORD {
                return SourceError::new(
                    format!("{what}: PostgreSQL at {place} refused the credentials"),
                    format!(
                        "check the user and password in {}{}",
                        self.url_env,
                        self.password_env
                            .as_deref()
                            .map(|p| format!(" and {p}"))
                            .unwrap_or_default()
                    ),
                );
            }
            if *code == SqlState::QUERY_CANCELED {
                return SourceError::new(
                    format!("{what}: the query was cancelled (statement timeout) at {place}"),
                    "raise statement_timeout for this user, or index the time columns",
                );
            }
            if *code == SqlState::UNDEFINED_TABLE {
                return SourceError::new(
                    format!("{what}: {} at {place}", db.message()),
                    format!(
                        "create it (`revalign warehouse init-sql` prints the layout) or name it: [source.{}] leads = \"schema.table\", deals = \"schema.table\"",
                        self.id
                    ),
                );
            }
            return SourceError::new(
                format!("{what}: PostgreSQL at {place} says: {}", db.message()),
                "check the column types against `revalign warehouse init-sql` (times: timestamp, timestamptz or date)",
            );
        }
        let text = e.to_string();
        if text.contains("TLS") || text.contains("certificate") {
            return SourceError::new(
                format!("{what}: no trusted TLS connection to PostgreSQL at {place}: {text}"),
                format!(
                    "if the server's certificate is signed by a private CA, name it: add sslrootcert=/path/ca.pem to {} (or set PGSSLROOTCERT); sslmode=disable connects without TLS",
                    self.url_env
                ),
            );
        }
        SourceError::new(
            format!("{what}: cannot reach PostgreSQL at {place}: {e}"),
            format!(
                "is the server running and reachable? check the host and port in {}",
                self.url_env
            ),
        )
    }

    /// The columns a table (or view) has; `None` when there is no such table.
    fn table_columns(
        &self,
        client: &mut Client,
        deals: bool,
    ) -> Result<Option<BTreeSet<String>>, postgres::Error> {
        // Resolved as the queries resolve it (search_path, quoting).
        let rows = client.query(
            "SELECT to_regclass($1) IS NOT NULL, a.attname::text FROM (SELECT to_regclass($1) AS t) r \
             LEFT JOIN pg_attribute a ON a.attrelid = r.t AND a.attnum > 0 AND NOT a.attisdropped",
            &[&self.table(deals)],
        )?;
        if !rows.first().is_some_and(|r| r.get::<_, bool>(0)) {
            return Ok(None);
        }
        Ok(Some(
            rows.iter()
                .filter_map(|r| r.get::<_, Option<String>>(1))
                .collect(),
        ))
    }

    fn missing_column(&self, deals: bool, field: &str, column: &str) -> SourceError {
        let (table, key) = if deals {
            (&self.deals, "deal_columns")
        } else {
            (&self.leads, "columns")
        };
        let explicit = if deals {
            self.deal_columns.contains_key(field)
        } else {
            self.columns.contains_key(field)
        };
        SourceError::new(
            format!("table `{table}` has no column `{column}` for `{field}`"),
            if explicit {
                format!(
                    "fix `{field}` in [source.{}.{key}]: the table has no such column",
                    self.id
                )
            } else {
                format!(
                    "add the column, or map it: [source.{}.{key}] {field} = \"<column>\"",
                    self.id
                )
            },
        )
    }

    /// The queries for these requests, with what each needs checked first.
    /// The metric queries. `need` types the fields as the engine does for
    /// the same check (with drift and `--explain`, which can change a
    /// field's type).
    fn plan(
        &self,
        requests: &[Request],
        need: &Need,
        currency: Option<&str>,
        cutoff: Millis,
        optional: Optional,
    ) -> Vec<Query> {
        requests
            .iter()
            .map(|r| {
                let deals = r.metric.kind.on_deals();
                let fields = if deals {
                    &need.deal_fields
                } else {
                    &need.lead_fields
                };
                let starts: Vec<i64> = r.windows.iter().map(|w| w.start).collect();
                let ends: Vec<i64> = r.windows.iter().map(|w| w.end).collect();
                sql::metric(
                    &r.metric, &starts, &ends, cutoff, currency, self, fields, optional,
                )
            })
            .collect()
    }
}

fn bind(params: &[Param]) -> Vec<Box<dyn ToSql + Sync>> {
    params
        .iter()
        .map(|p| -> Box<dyn ToSql + Sync> {
            match p {
                Param::Int(i) => Box::new(*i),
                Param::Float(x) => Box::new(*x),
                Param::Text(t) => Box::new(t.clone()),
                Param::Bool(b) => Box::new(*b),
                Param::Ints(v) => Box::new(v.clone()),
            }
        })
        .collect()
}

fn run(client: &mut Client, q: &Query) -> Result<Vec<postgres::Row>, postgres::Error> {
    let boxed = bind(&q.params);
    let refs: Vec<&(dyn ToSql + Sync)> = boxed.iter().map(|b| b.as_ref()).collect();
    client.query(q.sql.as_str(), &refs)
}

/// Takes `sslrootcert` (libpq's CA file setting, which rust-postgres does
/// not read) out of a connection string: URL query or `key=value` form.
fn split_root_cert(url: &str) -> (String, Option<String>) {
    let decode = |v: &str| {
        let bytes = v.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match (bytes[i], bytes.get(i + 1..i + 3)) {
                (b'%', Some(hex)) => match u8::from_str_radix(&String::from_utf8_lossy(hex), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                },
                (b, _) => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let Some((base, query)) = url.split_once('?') else {
            return (url.to_string(), None);
        };
        let mut root = None;
        let kept: Vec<&str> = query
            .split('&')
            .filter(|kv| match kv.strip_prefix("sslrootcert=") {
                Some(v) => {
                    root = Some(decode(v));
                    false
                }
                None => true,
            })
            .collect();
        let url = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        return (url, root);
    }
    let mut root = None;
    let kept: Vec<&str> = url
        .split_whitespace()
        .filter(|kv| match kv.strip_prefix("sslrootcert=") {
            Some(v) => {
                root = Some(v.trim_matches('\'').to_string());
                false
            }
            None => true,
        })
        .collect();
    (kept.join(" "), root)
}

impl DataSource for PostgresSource {
    fn leads(&self, _: &Need, _: &mut [&mut LeadSink<'_>]) -> Result<Streamed, SourceError> {
        Err(self.no_records())
    }

    fn deals(&self, _: &Need, _: &mut [&mut DealSink<'_>]) -> Result<Streamed, SourceError> {
        Err(self.no_records())
    }

    fn pushdown(&self) -> Option<&dyn Pushdown> {
        Some(self)
    }
}

impl PostgresSource {
    /// Definition drift, computed in the warehouse.
    #[allow(clippy::too_many_arguments)]
    fn drift(
        &self,
        client: &mut Client,
        place: &str,
        spec: &DriftSpec,
        need: &Need,
        columns: &Option<BTreeSet<String>>,
    ) -> Vec<StageDrift> {
        let stage = |s: &str, e: Option<SourceError>| StageDrift {
            stage: s.to_string(),
            error: e,
            ..StageDrift::default()
        };
        let Some(columns) = columns else {
            let e = SourceError::new(
                format!("table `{}` does not exist at {place}", self.leads),
                format!(
                    "create it (`revalign warehouse init-sql`) or name it in [source.{}] leads",
                    self.id
                ),
            );
            return spec
                .checks
                .iter()
                .map(|(s, _)| stage(s, Some(e.clone())))
                .collect();
        };
        // The fields as the engine types them, for the same comparisons.
        let mut fields = need.lead_fields.clone();
        let has =
            |field: &str, is_stage: bool| columns.contains(&self.column(false, field, is_stage));
        let funnel: Vec<(String, bool)> = spec
            .funnel
            .iter()
            .map(|s| (s.clone(), has(s, true)))
            .collect();
        let mut out: Vec<StageDrift> = Vec::new();
        let mut checks: Vec<(usize, Compiled)> = Vec::new();
        for (s, p) in &spec.checks {
            let Some(rank) = spec.funnel.iter().position(|f| f == s) else {
                continue;
            };
            let Some(c) = Compiled::new(p, &mut fields) else {
                continue;
            };
            let mut used = Vec::new();
            sql::fields_of(&c, &mut used);
            let missing_field = used
                .iter()
                .map(|i| fields.list[*i].0.clone())
                .find(|f| !has(f, false));
            let missing_stage = spec.funnel[rank..].iter().find(|f| !has(f, true)).cloned();
            let error = match (missing_field, missing_stage) {
                (Some(f), _) => {
                    Some(self.missing_column(false, &f, &self.column(false, &f, false)))
                }
                (None, Some(f)) => {
                    Some(self.missing_column(false, &f, &self.column(false, &f, true)))
                }
                (None, None) => None,
            };
            if error.is_none() {
                checks.push((rank, c));
            }
            out.push(stage(s, error));
        }
        if checks.is_empty() {
            return out;
        }
        let reasons: Vec<String> = crate::engine::LEFT_FUNNEL
            .iter()
            .map(|f| self.column(false, f, false))
            .filter(|c| columns.contains(c))
            .collect();
        let owner = columns.contains(&self.column(false, "owner", false));
        let q = sql::drift(
            &funnel, &checks, &reasons, owner, spec.start, spec.end, self, &fields,
        );
        let fail = |out: &mut Vec<StageDrift>, e: SourceError| {
            for d in out.iter_mut().filter(|d| d.error.is_none()) {
                d.error = Some(e.clone());
            }
        };
        let rank_of = |s: &str| spec.funnel.iter().position(|f| f == s);
        match run(client, &q.counts) {
            Ok(rows) => {
                for row in rows {
                    let rk: i32 = row.get(0);
                    if let Some(d) = out
                        .iter_mut()
                        .find(|d| rank_of(&d.stage) == Some(rk as usize) && d.error.is_none())
                    {
                        d.judged = row.get::<_, i64>(1) as u64;
                        d.drifted = row.get::<_, i64>(2) as u64;
                        d.left_funnel = row.get::<_, i64>(3) as u64;
                    }
                }
            }
            Err(e) => {
                fail(&mut out, self.error(&e, place, None));
                return out;
            }
        }
        match run(client, &q.examples) {
            Ok(rows) => {
                for row in rows {
                    let rk: i32 = row.get(0);
                    let Some((_, criteria)) = checks.iter().find(|(r, _)| *r == rk as usize) else {
                        continue;
                    };
                    let mut values = vec![Value::Missing; fields.list.len()];
                    for (k, i) in q.example_fields.iter().enumerate() {
                        values[*i] = match fields.list[*i].1 {
                            FieldType::Text => row
                                .get::<_, Option<String>>(4 + k)
                                .map_or(Value::Missing, Value::Text),
                            FieldType::Number => row
                                .get::<_, Option<f64>>(4 + k)
                                .map_or(Value::Missing, Value::Number),
                            FieldType::Bool => row
                                .get::<_, Option<bool>>(4 + k)
                                .map_or(Value::Missing, Value::Bool),
                        };
                    }
                    if let Some(d) = out
                        .iter_mut()
                        .find(|d| rank_of(&d.stage) == Some(rk as usize))
                    {
                        d.examples.push(DriftExample {
                            id: row.get(1),
                            at: 0,
                            entered: row.get::<_, Option<i64>>(2).unwrap_or_default(),
                            owner: row.get(3),
                            failed: criteria.why_not(&values, &fields),
                        });
                    }
                }
            }
            Err(e) => fail(&mut out, self.error(&e, place, None)),
        }
        out
    }

    fn no_records(&self) -> SourceError {
        SourceError::new(
            format!(
                "source `{}` (postgres) computes metrics in the database; it does not hand records over",
                self.id
            ),
            "this needs a file source: pass --source with a csv or ndjson source",
        )
    }
}

impl Pushdown for PostgresSource {
    fn queries(&self, requests: &[Request], currency: Option<&str>, cutoff: Millis) -> Vec<Query> {
        // Without a connection every column is assumed present.
        let engine = Engine::new(requests, None, currency, cutoff);
        self.plan(requests, engine.need(), currency, cutoff, Optional::all())
    }

    fn measure(
        &self,
        requests: &[Request],
        currency: Option<&str>,
        cutoff: Millis,
        explain: Option<(usize, usize)>,
        drift: Option<&DriftSpec>,
    ) -> Results {
        let fail_all = |e: SourceError| Results {
            values: requests
                .iter()
                .map(|r| r.windows.iter().map(|_| Err(e.clone())).collect())
                .collect(),
            lead_span: None,
            deal_span: None,
            streams: Vec::new(),
            explained: Vec::new(),
            drift: drift
                .map(|d| {
                    d.checks
                        .iter()
                        .map(|(stage, _)| StageDrift {
                            stage: stage.clone(),
                            error: Some(e.clone()),
                            ..StageDrift::default()
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };
        let (mut client, place) = match self.connect() {
            Ok(c) => c,
            Err(e) => return fail_all(e),
        };
        let mut tables: [Option<BTreeSet<String>>; 2] = [None, None];
        for (i, deals) in [false, true].into_iter().enumerate() {
            if requests.iter().any(|r| r.metric.kind.on_deals() == deals)
                || (!deals && drift.is_some())
            {
                match self.table_columns(&mut client, deals) {
                    Ok(t) => tables[i] = t,
                    Err(e) => return fail_all(self.error(&e, &place, None)),
                }
            }
        }
        let has = |deals: bool, col: &str| {
            tables[deals as usize]
                .as_ref()
                .is_some_and(|t| t.contains(col))
        };
        let col = |deals: bool, f: &str| has(deals, &self.column(deals, f, false));
        let optional = Optional {
            is_closed: col(true, "is_closed"),
            currency: col(true, "currency"),
            lead_owner: col(false, "owner"),
            deal_owner: col(true, "owner"),
            lead_created: col(false, "created"),
            deal_created: col(true, "created"),
            deal_closed: col(true, "closed"),
            deal_won: col(true, "won"),
        };
        // The fields typed as the engine types them for this very check.
        let mut engine = Engine::new(requests, explain, currency, cutoff);
        if let Some(d) = drift {
            engine = engine.with_drift(d);
        }
        let need = engine.need().clone();
        let queries = self.plan(requests, &need, currency, cutoff, optional);
        let mut values = Vec::new();
        let mut explained = Vec::new();
        for (ri, (r, q)) in requests.iter().zip(&queries).enumerate() {
            let deals = r.metric.kind.on_deals();
            let fail = |e: SourceError| r.windows.iter().map(|_| Err(e.clone())).collect();
            let table = if deals { &self.deals } else { &self.leads };
            if tables[deals as usize].is_none() {
                values.push(fail(SourceError::new(
                    format!("table `{table}` does not exist at {place}"),
                    format!(
                        "create it (`revalign warehouse init-sql` prints the layout) or name it in [source.{}] {}",
                        self.id,
                        if deals { "deals" } else { "leads" }
                    ),
                )));
                continue;
            }
            if let Some((field, col)) = sql::uses(&r.metric).into_iter().find_map(|(f, stage)| {
                let col = self.column(deals, &f, stage);
                (!has(deals, &col)).then_some((f, col))
            }) {
                values.push(fail(self.missing_column(deals, &field, &col)));
                continue;
            }
            let rows = match run(&mut client, q) {
                Ok(rows) => rows,
                Err(e) => {
                    values.push(fail(self.error(&e, &place, Some(&r.metric.id))));
                    continue;
                }
            };
            let mut out: Vec<Result<Measured, SourceError>> = Vec::new();
            for row in &rows {
                let total: i64 = row.get(1);
                let hits: i64 = row.get(2);
                let left: i64 = row.get(3);
                let value: Option<f64> = row.get(4);
                let currencies: Option<Vec<String>> = row.get(5);
                if let Some(c) = currencies.filter(|c| !c.is_empty()) {
                    out.push(Err(SourceError::new(
                        format!(
                            "deals in {} cannot be added to amounts in the default currency",
                            c.join(", ")
                        ),
                        "convert amounts to one currency in the warehouse and map that column as the summed field",
                    )));
                    continue;
                }
                let why = match r.metric.kind {
                    crate::model::metric::MetricKind::Duration => "without the end event",
                    _ => "closed with no known outcome",
                };
                out.push(Ok(Measured {
                    value,
                    hits: hits as u64,
                    total: total as u64,
                    left_out: (left > 0).then(|| (left as u64, why.to_string())),
                }));
            }
            if out.len() != r.windows.len() {
                values.push(fail(SourceError::new(
                    format!(
                        "metric `{}`: the warehouse returned {} rows for {} periods",
                        r.metric.id,
                        out.len(),
                        r.windows.len()
                    ),
                    "report this as a bug",
                )));
                continue;
            }
            values.push(out);
            if let Some((_, wi)) = explain.filter(|(i, _)| *i == ri)
                && let Some(w) = r.windows.get(wi)
            {
                let fields = if deals {
                    &need.deal_fields
                } else {
                    &need.lead_fields
                };
                let q = sql::explain(&r.metric, w.start, w.end, cutoff, self, fields, optional);
                match run(&mut client, &q) {
                    Ok(rows) => {
                        explained = rows
                            .iter()
                            .map(|row| {
                                let start: Option<i64> = row.get(1);
                                let end: Option<i64> = row.get(2);
                                Explained {
                                    id: row.get(0),
                                    at: 0,
                                    start,
                                    end,
                                    elapsed: start.zip(end).map(|(s, e)| e - s),
                                    hit: row.get::<_, Option<bool>>(3).unwrap_or(false),
                                    amount: row.get(4),
                                    owner: row.get(5),
                                }
                            })
                            .collect();
                    }
                    Err(e) => {
                        let e = self.error(&e, &place, Some(&r.metric.id));
                        if let Some(v) = values.last_mut() {
                            *v = r.windows.iter().map(|_| Err(e.clone())).collect();
                        }
                    }
                }
            }
        }
        // The span of times the data covers, to tell no data from zero.
        let mut spans = [None, None];
        let mut streams = Vec::new();
        for (i, deals) in [false, true].into_iter().enumerate() {
            if tables[i].is_none() {
                continue;
            }
            let stages: Vec<String> = need
                .stages
                .iter()
                .filter(|s| has(false, &self.column(false, s, true)))
                .cloned()
                .collect();
            let q = sql::span(deals, &stages, cutoff, self, optional);
            let rows = match run(&mut client, &q) {
                Ok(rows) => rows,
                Err(e) => {
                    // Without the span, no data and zero cannot be told
                    // apart: the values of this kind of record are errors.
                    let e = self.error(&e, &place, None);
                    for (r, v) in requests.iter().zip(values.iter_mut()) {
                        if r.metric.kind.on_deals() == deals {
                            *v = r.windows.iter().map(|_| Err(e.clone())).collect();
                        }
                    }
                    continue;
                }
            };
            if let Some(row) = rows.first() {
                let n: i64 = row.get(0);
                let lo: Option<i64> = row.get(1);
                let hi: Option<i64> = row.get(2);
                spans[i] = lo.zip(hi);
                streams.push((
                    if deals { "deals" } else { "leads" },
                    Stream {
                        records: n as u64,
                        ..Stream::default()
                    },
                ));
            }
        }
        Results {
            values,
            lead_span: spans[0],
            deal_span: spans[1],
            streams,
            explained,
            drift: match drift {
                Some(spec) => self.drift(&mut client, &place, spec, &need, &tables[0]),
                None => Vec::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_root_cert;

    #[test]
    fn the_ca_file_is_taken_out_of_the_connection_string() {
        assert_eq!(
            split_root_cert(
                "postgres://u@h:5432/db?sslmode=require&sslrootcert=%2Fetc%2Fca.pem&application_name=x"
            ),
            (
                "postgres://u@h:5432/db?sslmode=require&application_name=x".to_string(),
                Some("/etc/ca.pem".to_string())
            )
        );
        assert_eq!(
            split_root_cert("postgresql://u@h/db?sslrootcert=ca.pem"),
            (
                "postgresql://u@h/db".to_string(),
                Some("ca.pem".to_string())
            )
        );
        assert_eq!(
            split_root_cert("host=h user=u sslrootcert='/ca.pem' sslmode=require"),
            (
                "host=h user=u sslmode=require".to_string(),
                Some("/ca.pem".to_string())
            )
        );
        assert_eq!(
            split_root_cert("postgres://u@h/db"),
            ("postgres://u@h/db".to_string(), None)
        );
    }
}
