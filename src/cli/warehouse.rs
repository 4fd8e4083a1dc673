//! `revalign warehouse`: helpers for warehouse sources.

use std::path::PathBuf;

use super::{Ctx, Exit, Format, Output};
use crate::engine::{DriftSpec, Engine, Request};
use crate::load::{default_dir, load_dir};
use crate::model::manifest::SourceKind;
use crate::source::postgres::PostgresSource;

/// Helpers for warehouse (postgres) sources.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  revalign warehouse init-sql > layout.sql      # review it, then: psql -f layout.sql\n  revalign warehouse init-sql --source warehouse examples/acme"
)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Sub,
}

/// The warehouse commands.
#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// Print the DDL of the documented layout for a postgres source: a table
    /// of leads (a time column per lifecycle stage, a typed column per field
    /// the metrics and the stages' entry criteria read, the recycle and
    /// disqualify reasons, the owner) and one of deals, with indexes on the time columns,
    /// under the source's table and column names. It only prints; it creates
    /// tables only if they do not exist and never drops or alters anything.
    InitSql {
        /// The alignment directory [default: ./alignment if it exists, else .]
        dir: Option<PathBuf>,
        /// The postgres source [default: the only one].
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
    },
}

/// Runs `warehouse`.
pub fn run(ctx: &Ctx, args: Args) -> Output {
    if let Err(out) = ctx.formats("warehouse", &[Format::Human]) {
        return out;
    }
    let Sub::InitSql { dir, source } = args.command;
    let shown = dir.unwrap_or_else(|| default_dir(&ctx.base));
    let loaded = match load_dir(&ctx.path(&shown), &shown) {
        Ok(l) => l,
        Err(e) => {
            return Output::error(
                Exit::Usage,
                e.to_string(),
                "pass the directory that holds revalign.toml",
            );
        }
    };
    let a = &loaded.alignment;
    let warehouses: Vec<_> = a
        .sources
        .iter()
        .filter(|s| {
            s.value
                .as_ref()
                .is_some_and(|v| v.kind == SourceKind::Postgres)
        })
        .collect();
    let chosen = match &source {
        Some(id) => warehouses.iter().find(|s| &s.id == id),
        None if warehouses.len() == 1 => warehouses.first(),
        None => None,
    };
    let Some(s) = chosen.and_then(|s| Some((s.id.as_str(), s.value.as_ref()?))) else {
        let names: Vec<&str> = warehouses.iter().map(|s| s.id.as_str()).collect();
        return Output::error(
            Exit::Usage,
            match (&source, names.len()) {
                (Some(id), _) => format!("no postgres source `{id}` in revalign.toml"),
                (None, 0) => "revalign.toml declares no postgres source".to_string(),
                (None, _) => format!("several postgres sources: {}", names.join(", ")),
            },
            "declare one: [source.warehouse] kind = \"postgres\", url_env = \"WAREHOUSE_URL\"; pick one with --source",
        );
    };
    let tz = a
        .organization
        .as_ref()
        .and_then(|o| o.value.as_ref())
        .map_or("UTC".to_string(), |o| o.time_zone.clone());
    let pg = match PostgresSource::new(s.0, s.1, &tz) {
        Ok(p) => p,
        Err(e) => return Output::error(Exit::Usage, e.message, e.help),
    };
    // The fields every metric reads, typed by their use, as the engine reads them.
    let requests: Vec<Request> = a
        .metrics
        .iter()
        .filter_map(|m| m.value.clone())
        .map(|metric| Request {
            metric,
            windows: Vec::new(),
        })
        .collect();
    // And what judging the lead definitions reads: the entry criteria's
    // fields, the recycle and disqualify reasons, the owner.
    let stages: Vec<String> = a.stages.iter().map(|s| s.id.clone()).collect();
    let spec = DriftSpec {
        funnel: stages.clone(),
        checks: a
            .stages
            .iter()
            .filter_map(|s| Some((s.id.clone(), s.value.as_ref()?.entry.clone()?)))
            .collect(),
        start: 0,
        end: 0,
    };
    let engine = Engine::new(&requests, None, None, 0).with_drift(&spec);
    let need = engine.need();
    let mut out = format!(
        "-- The warehouse layout revalign reads for source `{}` ({}).\n\
         -- Review it and run it yourself (psql -f); revalign never runs DDL.\n\
         -- Times: timestamptz (timestamp and date work too, read in {tz}).\n\
         -- Existing tables? Map their columns instead: [source.{}.columns] / deal_columns,\n\
         -- or point `leads` / `deals` at views such as\n\
         --   CREATE VIEW crm_leads AS SELECT contact_id AS id, createdate AS created_at, ... FROM crm.contacts;\n\n",
        s.0,
        a.organization
            .as_ref()
            .and_then(|o| o.value.as_ref())
            .map_or(String::new(), |o| o.name.clone()),
        s.0,
    );
    out.push_str(&crate::engine::sql::layout_ddl(
        &pg,
        &stages,
        &need.lead_fields,
        &need.deal_fields,
    ));
    Output::ok(out)
}
