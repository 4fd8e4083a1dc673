//! The semantic checks: what JSON Schema cannot say about one file, judged over
//! the whole alignment (references across files, duplicate ids, units, stage order).
//!
//! Pure functions over [`Alignment`]; every problem is pushed as a [`Finding`]
//! placed by JSON pointer, which the loader resolves to a span.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use crate::model::duration::{Duration, DurationError};
use crate::model::lead::Stage;
use crate::model::manifest::SourceKind;
use crate::model::metric::{EVENTS, Metric, MetricKind};
use crate::model::predicate::{Predicate, ShapeError};
use crate::model::target::{Target, WarnError};
use crate::model::{Alignment, Code, Entity, FileKind, Finding, Place};

/// Runs every semantic check.
pub fn check(a: &Alignment, out: &mut Vec<Finding>) {
    if a.kinds_present.is_empty() {
        out.push(
            Finding::new(Code::EmptyAlignment, "the alignment directory holds no alignment files")
                .help("run `revalign init` to create a starter alignment, or pass the directory that holds `revalign.toml`"),
        );
        return;
    }
    if !a.kinds_present.contains(&FileKind::Manifest) {
        out.push(
            Finding::new(Code::MissingManifest, "there is no `revalign.toml` manifest")
                .help("create `revalign.toml` with `[organization]` and `[team.*]` tables (`revalign init` writes one)"),
        );
    }
    let ctx = Ctx::new(a);
    ctx.organization(out);
    ctx.duplicates(out);
    ctx.sources(out);
    ctx.metrics(out);
    ctx.targets(out);
    ctx.goals(out);
    ctx.commitments(out);
    ctx.stages(out);
    ctx.handoffs(out);
    ctx.reviews(out);
}

/// A value `factor` times as far as the target: the example in a warn-threshold help.
fn stricter(value: crate::model::target::TargetValue, factor: f64) -> String {
    use crate::model::target::TargetValue;
    let scaled = match value {
        TargetValue::Number(v) => TargetValue::Number((v * factor).round()),
        TargetValue::Percent(v) => TargetValue::Percent(if factor > 1.0 {
            (v + (100.0 - v) / 2.0).round()
        } else {
            (v / 2.0).round()
        }),
        TargetValue::Duration(d) => {
            TargetValue::Duration(Duration::from_secs((d.as_secs() as f64 * factor) as u64))
        }
        TargetValue::Relative(v) => {
            let step = (v.abs() / 2.0).round().max(1.0);
            TargetValue::Relative(if factor > 1.0 { v + step } else { v - step })
        }
    };
    scaled.to_string()
}

struct Ctx<'a> {
    a: &'a Alignment,
    teams: Option<BTreeSet<&'a str>>,
    metrics: Option<HashMap<&'a str, &'a Entity<Metric>>>,
    stages: Option<Vec<&'a str>>,
    sources: Option<BTreeSet<&'a str>>,
}

fn ids<T>(list: &[Entity<T>]) -> impl Iterator<Item = &str> {
    list.iter()
        .map(|e| e.id.as_str())
        .filter(|id| !id.is_empty())
}

impl<'a> Ctx<'a> {
    fn new(a: &'a Alignment) -> Ctx<'a> {
        let known =
            |kind: FileKind| a.kinds_present.contains(&kind) && !a.incomplete.contains(&kind);
        let manifest = known(FileKind::Manifest);
        Ctx {
            a,
            teams: manifest.then(|| ids(&a.teams).collect()),
            sources: manifest.then(|| ids(&a.sources).collect()),
            metrics: (!a.incomplete.contains(&FileKind::Metrics))
                .then(|| a.metrics.iter().map(|m| (m.id.as_str(), m)).collect()),
            stages: (!a.incomplete.contains(&FileKind::Leads)).then(|| ids(&a.stages).collect()),
        }
    }

    fn unknown(
        &self,
        code: Code,
        what: &str,
        id: &str,
        known: &BTreeSet<&str>,
        place: Place,
        define: &str,
    ) -> Finding {
        let help = match crate::load::suggest(id, known.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if known.is_empty() => define.to_string(),
            None => format!(
                "use one of: {}; or {define}",
                known.iter().copied().collect::<Vec<_>>().join(", ")
            ),
        };
        Finding::new(code, format!("unknown {what} `{id}`"))
            .help(help)
            .label(format!("no {what} with this id"))
            .at(place)
    }

    fn team_ref(&self, id: &str, place: Place, out: &mut Vec<Finding>) {
        if let Some(teams) = &self.teams
            && !teams.contains(id)
        {
            out.push(self.unknown(
                Code::UnknownTeam,
                "team",
                id,
                teams,
                place,
                "declare it in revalign.toml as `[team.<id>]`",
            ));
        }
    }

    fn stage_ref(&self, id: &str, events: bool, place: Place, out: &mut Vec<Finding>) {
        if events && EVENTS.contains(&id) {
            return;
        }
        if let Some(stages) = &self.stages
            && !stages.contains(&id)
        {
            let mut known: BTreeSet<&str> = stages.iter().copied().collect();
            if events {
                known.extend(EVENTS);
            }
            out.push(self.unknown(
                Code::UnknownStage,
                "stage",
                id,
                &known,
                place,
                "define the stage as a `[[stage]]` in leads.toml",
            ));
        }
    }

    fn source_ref(&self, id: &str, place: Place, out: &mut Vec<Finding>) {
        if let Some(sources) = &self.sources
            && !sources.contains(id)
        {
            out.push(self.unknown(
                Code::UnknownSource,
                "source",
                id,
                sources,
                place,
                "declare it in revalign.toml as `[source.<id>]`",
            ));
        }
    }

    fn organization(&self, out: &mut Vec<Finding>) {
        let Some(org) = &self.a.organization else {
            return;
        };
        let Some(value) = &org.value else { return };
        time_zone(&value.time_zone, org.place.field("time_zone"), out);
    }

    fn duplicates(&self, out: &mut Vec<Finding>) {
        fn dups<'e, T>(
            what: &str,
            list: impl IntoIterator<Item = &'e Entity<T>>,
            field: Option<&str>,
            out: &mut Vec<Finding>,
        ) where
            T: 'e,
        {
            let mut first: HashMap<&str, &Place> = HashMap::new();
            for e in list {
                if e.id.is_empty() {
                    continue;
                }
                let at = |p: &Place| match field {
                    Some(f) => p.field(f),
                    None => p.clone(),
                };
                match first.get(e.id.as_str()) {
                    Some(prev) => out.push(
                        Finding::new(Code::DuplicateId, format!("{what} `{}` is defined twice", e.id))
                            .help(format!("rename one of them or merge the two definitions; ids name one {what} across all files"))
                            .label("defined again here")
                            .at(at(&e.place))
                            .related(at(prev), "first defined here"),
                    ),
                    None => {
                        first.insert(&e.id, &e.place);
                    }
                }
            }
        }
        let a = self.a;
        dups("metric", &a.metrics, Some("id"), out);
        dups("stage", &a.stages, Some("id"), out);
        dups("commitment", &a.commitments, Some("id"), out);
        dups("recycle reason", &a.recycle_reasons, None, out);
        dups("disqualify reason", &a.disqualify_reasons, None, out);
        // Goals and commitments share one namespace (`check --goal ID`); a goal id
        // may repeat across effective periods, which `goals` checks.
        let goal_ids: HashMap<&str, &Place> =
            a.goals.iter().map(|g| (g.id.as_str(), &g.place)).collect();
        for c in &a.commitments {
            if let Some(g) = goal_ids.get(c.id.as_str()) {
                out.push(
                    Finding::new(Code::DuplicateId, format!("`{}` is both a goal and a commitment", c.id))
                        .help("goals and commitments share one set of ids (`revalign check --goal ID`); rename one")
                        .label("commitment id")
                        .at(c.place.field("id"))
                        .related(g.field("id"), "goal with the same id"),
                );
            }
        }
        for review in a.reviews.iter().skip(1) {
            out.push(
                Finding::new(
                    Code::DuplicateDefinition,
                    "the review cadence is defined more than once",
                )
                .help("keep one `[review]` table across all SLA files")
                .label("second `[review]`")
                .at(review.place.clone().at_key())
                .related(a.reviews[0].place.clone().at_key(), "first defined here"),
            );
        }
    }

    fn sources(&self, out: &mut Vec<Finding>) {
        for s in &self.a.sources {
            let Some(v) = &s.value else { continue };
            let (needs, has) = match v.kind {
                SourceKind::Csv | SourceKind::Ndjson => ("leads", v.leads.is_some()),
                SourceKind::Hubspot | SourceKind::Salesforce | SourceKind::Pipedrive => (
                    "token_env",
                    v.token_env.is_some() || v.client_id_env.is_some(),
                ),
                SourceKind::Postgres => ("url_env", v.url_env.is_some()),
            };
            // Keys of file and warehouse sources (where the records are and
            // how their columns are named), of file sources only, of APIs,
            // and of warehouses.
            let table_keys = [
                ("leads", v.leads.is_some()),
                ("deals", v.deals.is_some()),
                ("preset", v.preset.is_some()),
            ];
            // (columns, deal_columns and time_zone serve every kind.)
            let file_keys = [("max_bad_rows", v.max_bad_rows.is_some())];
            // Salesforce's alone.
            let salesforce_keys = [("stage_status", !v.stage_status.is_empty())];
            let api_keys = [
                ("token_env", v.token_env.is_some()),
                ("client_id_env", v.client_id_env.is_some()),
                ("client_secret_env", v.client_secret_env.is_some()),
                ("refresh_token_env", v.refresh_token_env.is_some()),
                ("token_url", v.token_url.is_some()),
                ("owner_teams", !v.owner_teams.is_empty()),
                ("fetch", v.fetch.is_some()),
                ("base_url", v.base_url.is_some()),
                ("timeout", v.timeout.is_some()),
            ];
            let warehouse_keys = [
                ("url_env", v.url_env.is_some()),
                ("password_env", v.password_env.is_some()),
            ];
            let foreign: Vec<&(&str, bool)> = match v.kind {
                SourceKind::Csv | SourceKind::Ndjson => api_keys
                    .iter()
                    .chain(&warehouse_keys)
                    .chain(&salesforce_keys)
                    .collect::<Vec<_>>(),
                SourceKind::Salesforce => table_keys
                    .iter()
                    .filter(|(k, _)| *k != "leads")
                    .chain(&file_keys)
                    .chain(&warehouse_keys)
                    .collect(),
                // An API source's `leads` names the object its leads are.
                SourceKind::Hubspot | SourceKind::Pipedrive => table_keys
                    .iter()
                    .filter(|(k, _)| *k != "leads")
                    .chain(&file_keys)
                    .chain(&warehouse_keys)
                    .chain(&salesforce_keys)
                    .collect(),
                SourceKind::Postgres => file_keys
                    .iter()
                    .chain(&api_keys)
                    .chain(&salesforce_keys)
                    .collect(),
            };
            let foreign: Vec<&str> = foreign
                .into_iter()
                .filter(|(_, set)| *set)
                .map(|(k, _)| *k)
                .collect();
            for key in foreign {
                out.push(
                    Finding::new(
                        Code::SourceSetting,
                        format!(
                            "`{key}` does nothing for source `{}` of kind `{}`",
                            s.id,
                            v.kind.as_str()
                        ),
                    )
                    .help("remove it (a leftover from another kind of source?), or fix `kind`")
                    .label(format!("not a `{}` setting", v.kind.as_str()))
                    .at(s.place.field(key).at_key()),
                );
            }
            if let Some(tz) = &v.time_zone {
                time_zone(tz, s.place.field("time_zone"), out);
            }
            for (owner, team) in &v.owner_teams {
                self.team_ref(team, s.place.field("owner_teams").field(owner), out);
            }
            for stage in v.stage_status.keys() {
                let place = s.place.field("stage_status").field(stage);
                self.stage_ref(stage, false, place.clone(), out);
                if v.columns.contains_key(stage) {
                    out.push(
                        Finding::new(
                            Code::SourceSetting,
                            format!(
                                "source `{}` reads stage `{stage}` both from a field (`columns`) and from the Lead Status history (`stage_status`)",
                                s.id
                            ),
                        )
                        .help(format!("keep one: remove `{stage}` from `columns` or from `stage_status`"))
                        .label("read twice")
                        .at(place.at_key())
                        .related(s.place.field("columns").field(stage).at_key(), "also mapped here"),
                    );
                }
            }
            if !has {
                let example = match needs {
                    "leads" => "leads = \"data/leads.csv\"",
                    "token_env" => "token_env = \"CRM_TOKEN\"",
                    _ => "url_env = \"WAREHOUSE_URL\"",
                };
                out.push(
                    Finding::new(
                        Code::SourceSetting,
                        format!(
                            "source `{}` of kind `{}` has no `{needs}`",
                            s.id,
                            v.kind.as_str()
                        ),
                    )
                    .help(format!("add `{example}`"))
                    .label(format!("`{needs}` missing"))
                    .at(s.place.clone()),
                );
            }
            // One way in: a token, or OAuth with both halves of the client.
            let oauth = [&v.client_id_env, &v.client_secret_env];
            let halves = oauth.iter().filter(|o| o.is_some()).count();
            if (v.token_env.is_some() && halves > 0) || halves == 1 {
                out.push(
                    Finding::new(
                        Code::SourceSetting,
                        format!(
                            "source `{}` mixes its credentials: token_env, or client_id_env with client_secret_env",
                            s.id
                        ),
                    )
                    .help("keep token_env for a token that does not expire, or client_id_env, client_secret_env (and refresh_token_env) for OAuth")
                    .label("credentials")
                    .at(s.place.clone()),
                );
            }
            // An API source's `leads` names the object its leads are.
            let vendor = match v.kind {
                SourceKind::Hubspot => Some(crate::source::hubspot::HUBSPOT),
                SourceKind::Salesforce => Some(crate::source::salesforce::SALESFORCE),
                SourceKind::Pipedrive => Some(crate::source::pipedrive::PIPEDRIVE),
                _ => None,
            };
            if let (Some(vendor), Some(object)) = (vendor, &v.leads)
                && !vendor.lead_objects.contains(&object.as_str())
            {
                out.push(
                    Finding::new(
                        Code::SourceSetting,
                        format!(
                            "source `{}` reads its leads from `{object}`, which {} does not have",
                            s.id, vendor.name
                        ),
                    )
                    .help(format!(
                        "write leads = \"{}\", the object the leads are (a file of leads is a csv or ndjson source's)",
                        vendor.lead_objects.join("\" or \"")
                    ))
                    .label(format!("not a {} object", vendor.name))
                    .at(s.place.field("leads")),
                );
            }
            if v.kind == SourceKind::Salesforce
                && !v.stage_status.is_empty()
                && v.leads.as_deref().is_some_and(|o| o != "Lead")
            {
                out.push(
                    Finding::new(
                        Code::SourceSetting,
                        format!(
                            "source `{}` reads stage times from the Lead Status history, but its leads are {}",
                            s.id,
                            v.leads.as_deref().unwrap_or("")
                        ),
                    )
                    .help("remove stage_status (map stage date fields in columns), or read leads from Lead")
                    .label("no Lead Status here")
                    .at(s.place.field("stage_status").at_key()),
                );
            }
            // Salesforce has no one API host: each org has its own instance.
            if v.kind == SourceKind::Salesforce && v.base_url.is_none() {
                out.push(
                    Finding::new(
                        Code::SourceSetting,
                        format!("source `{}` of kind `salesforce` has no `base_url`", s.id),
                    )
                    .help("add `base_url = \"https://<my-domain>.my.salesforce.com\"` (the instance_url of your token)")
                    .label("`base_url` missing")
                    .at(s.place.clone()),
                );
            }
        }
        if let Some(d) = &self.a.defaults
            && let Some(v) = &d.value
            && let Some(src) = &v.source
        {
            self.source_ref(src, d.place.field("source"), out);
        }
    }

    fn predicate(&self, p: &Predicate, place: Place, out: &mut Vec<Finding>) {
        let mut stack = vec![(p, place)];
        while let Some((p, place)) = stack.pop() {
            if let Err(e) = p.shape() {
                let (message, help) = match e {
                    ShapeError::Empty => (
                        "this predicate is empty".to_string(),
                        "write `{ field = \"segment\", eq = \"smb\" }`, or combine predicates with `all`, `any`, `not`".to_string(),
                    ),
                    ShapeError::Several(keys) => (
                        format!("this predicate mixes `{}`", keys.join("` and `")),
                        "use one shape per table; nest them: `{ all = [ { field = ... }, { any = [...] } ] }`".to_string(),
                    ),
                    ShapeError::NoOperator => (
                        format!("the comparison on `{}` has no operator", p.field.as_deref().unwrap_or("")),
                        "add one of eq, ne, in, not_in, gt, gte, lt, lte, exists".to_string(),
                    ),
                    ShapeError::SeveralOperators(ops) => (
                        format!("the comparison on `{}` has several operators: {}", p.field.as_deref().unwrap_or(""), ops.join(", ")),
                        "one operator per comparison; combine comparisons with `all = [...]`".to_string(),
                    ),
                    ShapeError::OperatorWithoutField(op) => (
                        format!("`{op}` compares nothing: the predicate has no `field`"),
                        format!("add `field = \"...\"` beside `{op}`"),
                    ),
                };
                out.push(
                    Finding::new(Code::InvalidPredicate, message)
                        .help(help)
                        .label("this predicate")
                        .at(place.clone()),
                );
            }
            for (suffix, child) in p.children() {
                stack.push((
                    child,
                    Place::new(place.file, format!("{}{suffix}", place.pointer)),
                ));
            }
        }
    }

    fn duration(&self, text: &str, place: Place, out: &mut Vec<Finding>) -> Option<Duration> {
        match text.parse::<Duration>() {
            Ok(d) => Some(d),
            Err(e) => {
                out.push(
                    Finding::new(Code::InvalidDuration, e.to_string())
                        .help(DurationError::HELP)
                        .label("not a duration")
                        .at(place),
                );
                None
            }
        }
    }

    fn metrics(&self, out: &mut Vec<Finding>) {
        for m in &self.a.metrics {
            let Some(v) = &m.value else { continue };
            for (i, owner) in v.owners.iter().enumerate() {
                self.team_ref(owner, m.place.field("owners").index(i), out);
            }
            if !v.kind.units().contains(&v.unit) {
                let units: Vec<&str> = v.kind.units().iter().map(|u| u.as_str()).collect();
                out.push(
                    Finding::new(
                        Code::UnitMismatch,
                        format!(
                            "a `{}` metric is not measured in `{}`",
                            v.kind.as_str(),
                            v.unit.as_str()
                        ),
                    )
                    .help(format!(
                        "set `unit = \"{}\"`",
                        units.join("\"` or `unit = \"")
                    ))
                    .label("wrong unit for this kind")
                    .at(m.place.field("unit")),
                );
            }
            let allowed = v.kind.keys();
            for key in v.set_keys() {
                if !allowed.contains(&key) {
                    out.push(
                        Finding::new(
                            Code::UnknownKey,
                            format!("`{key}` has no meaning for a `{}` metric", v.kind.as_str()),
                        )
                        .help(if allowed.is_empty() {
                            format!(
                                "remove it; `{}` metrics take no keys of their own",
                                v.kind.as_str()
                            )
                        } else {
                            format!(
                                "remove it; `{}` metrics take: {}",
                                v.kind.as_str(),
                                allowed.join(", ")
                            )
                        })
                        .label("not used by this kind")
                        .at(m.place.field(key).at_key()),
                    );
                }
            }
            let events = matches!(v.kind, MetricKind::Duration | MetricKind::Share);
            if let Some(s) = &v.stage {
                self.stage_ref(s, false, m.place.field("stage"), out);
            }
            for (key, value) in [("from", &v.from), ("to", &v.to)] {
                if let Some(s) = value {
                    self.stage_ref(s, events, m.place.field(key), out);
                }
            }
            if let Some(w) = &v.within {
                self.duration(w, m.place.field("within"), out);
            }
            if v.kind == MetricKind::Share
                && v.condition.is_none()
                && (v.to.is_none() || v.within.is_none())
            {
                out.push(
                    Finding::new(
                        Code::MissingKey,
                        format!("share metric `{}` says neither what a record must meet nor by when", m.id),
                    )
                    .help("add `condition = { ... }`, or `to = \"first_touch\"` with `within = \"24h\"`")
                    .label("needs `condition`, or `to` and `within`")
                    .at(m.place.clone()),
                );
            }
            for (key, p) in [("filter", &v.filter), ("condition", &v.condition)] {
                if let Some(p) = p {
                    self.predicate(p, m.place.field(key), out);
                }
            }
        }
    }

    /// Targets and warn thresholds of goals and commitments.
    fn targets(&self, out: &mut Vec<Finding>) {
        let goals = self.a.goals.iter().filter_map(|g| {
            g.value
                .as_ref()
                .map(|v| (&g.place, &v.metric, &v.target, &v.warn))
        });
        let commitments = self.a.commitments.iter().filter_map(|c| {
            c.value
                .as_ref()
                .map(|v| (&c.place, &v.metric, &v.target, &v.warn))
        });
        for (place, metric, target, warn) in goals.chain(commitments) {
            let metric_entity = match &self.metrics {
                Some(metrics) => match metrics.get(metric.as_str()) {
                    Some(m) => m.value.as_ref().map(|v| (*m, v)),
                    None => {
                        let known: BTreeSet<&str> =
                            metrics.keys().copied().filter(|k| !k.is_empty()).collect();
                        out.push(self.unknown(
                            Code::UnknownMetric,
                            "metric",
                            metric,
                            &known,
                            place.field("metric"),
                            "define it as a `[[metric]]` in metrics.toml",
                        ));
                        None
                    }
                },
                None => None,
            };
            let parsed =
                |text: &str, key: &str, out: &mut Vec<Finding>| match text.parse::<Target>() {
                    Ok(t) => Some(t),
                    Err(e) => {
                        out.push(
                            Finding::new(Code::InvalidTarget, format!("{e}"))
                                .help(e.help())
                                .label("not a target")
                                .at(place.field(key)),
                        );
                        None
                    }
                };
            let target_parsed = parsed(target, "target", out);
            let warn_parsed = warn.as_deref().and_then(|w| parsed(w, "warn", out));
            if let (Some(t), Some((m, mv))) = (target_parsed, metric_entity) {
                for (key, t) in [("target", Some(t)), ("warn", warn_parsed)] {
                    let Some(t) = t else { continue };
                    if !t.value.fits(mv.unit) {
                        out.push(
                            Finding::new(
                                Code::UnitMismatch,
                                format!(
                                    "`{t}` is {}, but metric `{}` is measured in `{}`",
                                    t.value.kind_name(),
                                    m.id,
                                    mv.unit.as_str()
                                ),
                            )
                            .help(match mv.unit {
                                crate::model::metric::Unit::Count => "write a count: `>= 400`",
                                crate::model::metric::Unit::Currency => {
                                    "write an amount: `>= 250000` or `>= 250k`"
                                }
                                crate::model::metric::Unit::Percent => {
                                    "write a percentage: `>= 95%`"
                                }
                                crate::model::metric::Unit::Duration => {
                                    "write a duration: `<= 24h`"
                                }
                            })
                            .label(format!(
                                "{} on a {} metric",
                                t.value.kind_name(),
                                mv.unit.as_str()
                            ))
                            .at(place.field(key))
                            .related(m.place.field("unit"), "the metric's unit"),
                        );
                    }
                }
            }
            if let (Some(t), Some(w), Some(w_text)) = (target_parsed, warn_parsed, warn.as_deref())
            {
                let (t, w) = (t, w);
                let (t_text, w_text) = (target.trim(), w_text.trim());
                let why = match t.check_warn(&w) {
                    Ok(()) => None,
                    Err(WarnError::Exact) => Some((
                        format!(
                            "target `{t_text}` asks for an exact value, so a warn threshold has no side to be on"
                        ),
                        "remove `warn`, or make the target a bound (`>=`, `<=`)".to_string(),
                    )),
                    Err(WarnError::Comparison) => Some((
                        format!(
                            "warn threshold `{w_text}` compares the other way than target `{t_text}`"
                        ),
                        format!(
                            "use the target's comparison: `warn = \"{} ...\"`",
                            t.comparison.symbol()
                        ),
                    )),
                    Err(WarnError::Kind) => Some((
                        format!(
                            "warn threshold `{w_text}` is {}, target `{t_text}` is {}",
                            w.value.kind_name(),
                            t.value.kind_name()
                        ),
                        "write both in the same unit".to_string(),
                    )),
                    Err(WarnError::NotStricter) => Some((
                        format!(
                            "warn threshold `{w_text}` is not stricter than target `{t_text}`, so it would never warn before the target fails"
                        ),
                        if t.wants_more() {
                            format!(
                                "the warning should come first: set `warn` above the target, e.g. `{} {}`",
                                t.comparison.symbol(),
                                stricter(t.value, 1.1)
                            )
                        } else {
                            format!(
                                "the warning should come first: set `warn` below the target, e.g. `{} {}`",
                                t.comparison.symbol(),
                                stricter(t.value, 0.5)
                            )
                        },
                    )),
                };
                if let Some((message, help)) = why {
                    out.push(
                        Finding::new(Code::WarnThreshold, message)
                            .help(help)
                            .label("warn threshold")
                            .at(place.field("warn"))
                            .related(place.field("target"), "the target"),
                    );
                }
            }
        }
    }

    fn goals(&self, out: &mut Vec<Finding>) {
        type Window<'p> = (
            Option<jiff::civil::Date>,
            Option<jiff::civil::Date>,
            &'p Place,
        );
        let mut windows: BTreeMap<&str, Vec<Window<'_>>> = BTreeMap::new();
        for g in &self.a.goals {
            let Some(v) = &g.value else { continue };
            for (i, owner) in v.owners.iter().enumerate() {
                self.team_ref(owner, g.place.field("owners").index(i), out);
            }
            if let Some(src) = &v.source {
                self.source_ref(src, g.place.field("source"), out);
            }
            let distinct: BTreeSet<&str> = v.owners.iter().map(String::as_str).collect();
            if distinct.len() == 1 {
                let only = distinct.iter().next().copied().unwrap_or_default();
                let other = self
                    .teams
                    .as_ref()
                    .and_then(|t| t.iter().copied().find(|t| *t != only))
                    .unwrap_or("the other team");
                out.push(
                    Finding::new(Code::SingleTeamGoal, format!("goal `{}` is owned by `{only}` alone", g.id))
                        .help(format!("joint goals are owned by both departments: add `{other}` to `owners`, or make it a commitment in the SLA"))
                        .label("one team")
                        .at(g.place.field("owners")),
                );
            }
            let date = |s: &Option<String>| {
                s.as_deref()
                    .and_then(|s| s.parse::<jiff::civil::Date>().ok())
            };
            let (from, until) = (date(&v.effective_from), date(&v.effective_until));
            if let (Some(f), Some(u)) = (from, until)
                && u < f
            {
                out.push(
                    Finding::new(
                        Code::EffectiveRange,
                        format!("goal `{}` ends ({u}) before it starts ({f})", g.id),
                    )
                    .help("swap the dates, or fix the one that is wrong")
                    .label("before `effective_from`")
                    .at(g.place.field("effective_until"))
                    .related(g.place.field("effective_from"), "starts here"),
                );
                continue;
            }
            windows
                .entry(g.id.as_str())
                .or_default()
                .push((from, until, &g.place));
        }
        for (id, list) in windows {
            for (j, (f2, u2, p2)) in list.iter().enumerate() {
                if let Some((f1, u1, p1)) = list[..j].iter().find(|(f1, u1, _)| {
                    let starts_before_end = match (f2, u1) {
                        (Some(f2), Some(u1)) => f2 <= u1,
                        _ => true,
                    };
                    let ends_after_start = match (u2, f1) {
                        (Some(u2), Some(f1)) => u2 >= f1,
                        _ => true,
                    };
                    starts_before_end && ends_after_start
                }) {
                    let show = |d: &Option<jiff::civil::Date>, open: &str| {
                        d.map_or(open.to_string(), |d| d.to_string())
                    };
                    out.push(
                        Finding::new(
                            Code::OverlappingEffective,
                            format!(
                                "goal `{id}` is defined twice for the same days: {} to {} overlaps {} to {}",
                                show(f2, "always"),
                                show(u2, "further notice"),
                                show(f1, "always"),
                                show(u1, "further notice"),
                            ),
                        )
                        .help("give each version of the goal its own `effective_from`/`effective_until` days, or rename one")
                        .label("overlapping version")
                        .at(if f2.is_some() { p2.field("effective_from") } else { p2.field("id") })
                        .related(if f1.is_some() { p1.field("effective_from") } else { p1.field("id") }, "the version it overlaps"),
                    );
                }
            }
        }
    }

    fn commitments(&self, out: &mut Vec<Finding>) {
        for c in &self.a.commitments {
            let Some(v) = &c.value else { continue };
            self.team_ref(&v.provider, c.place.field("provider"), out);
            self.team_ref(&v.consumer, c.place.field("consumer"), out);
            if let Some(src) = &v.source {
                self.source_ref(src, c.place.field("source"), out);
            }
            if v.provider == v.consumer {
                out.push(
                    Finding::new(
                        Code::SelfCommitment,
                        format!("commitment `{}` is made by `{}` to itself", c.id, v.provider),
                    )
                    .help("an SLA commitment is made by one team to another: set `consumer` to the team it serves (or make it a goal)")
                    .label("same team as the provider")
                    .at(c.place.field("consumer"))
                    .related(c.place.field("provider"), "provider"),
                );
            }
        }
    }

    fn stages(&self, out: &mut Vec<Finding>) {
        let stages: Vec<(&Entity<Stage>, &Stage)> = self
            .a
            .stages
            .iter()
            .filter_map(|s| s.value.as_ref().map(|v| (s, v)))
            .collect();
        let index: HashMap<&str, usize> = self
            .a
            .stages
            .iter()
            .enumerate()
            .rev()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect();
        for (s, v) in &stages {
            self.team_ref(&v.owner, s.place.field("owner"), out);
            if EVENTS.contains(&v.id.as_str()) {
                out.push(
                    Finding::new(
                        Code::ReservedId,
                        format!("`{}` is an event name, not a stage id", v.id),
                    )
                    .help(format!(
                        "rename the stage; {} are events that metrics measure from and to",
                        EVENTS.join(" and ")
                    ))
                    .label("reserved")
                    .at(s.place.field("id")),
                );
            }
            if let Some(entry) = &v.entry {
                self.predicate(entry, s.place.field("entry"), out);
            }
        }
        // Edges: each stage is entered from the stages in its `from`, else from the one before it.
        let mut entered_from: Vec<Vec<usize>> = vec![Vec::new(); self.a.stages.len()];
        for (i, s) in self.a.stages.iter().enumerate() {
            match s.value.as_ref().and_then(|v| v.from.as_ref()) {
                Some(list) => {
                    for (j, from) in list.iter().enumerate() {
                        let place = s.place.field("from").index(j);
                        match index.get(from.as_str()) {
                            None => self.stage_ref(from, false, place, out),
                            Some(&k) if k >= i => out.push(
                                Finding::new(
                                    Code::StageOrder,
                                    if k == i {
                                        format!("stage `{}` is entered from itself", s.id)
                                    } else {
                                        format!("stage `{}` is entered from `{from}`, which comes after it", s.id)
                                    },
                                )
                                .help("stages are listed in funnel order and entered from earlier ones; move the stage, or fix `from` (recycling back to nurture is not a stage entry)")
                                .label("not an earlier stage")
                                .at(place)
                                .related(self.a.stages[k].place.field("id"), "defined here"),
                            ),
                            Some(&k) => entered_from[i].push(k),
                        }
                    }
                }
                None if i > 0 => entered_from[i].push(i - 1),
                None => {}
            }
        }
        if self.a.stages.is_empty() {
            return;
        }
        let mut reached = vec![false; self.a.stages.len()];
        reached[0] = true;
        let mut queue = VecDeque::from([0usize]);
        while let Some(k) = queue.pop_front() {
            for (i, froms) in entered_from.iter().enumerate() {
                if !reached[i] && froms.contains(&k) {
                    reached[i] = true;
                    queue.push_back(i);
                }
            }
        }
        for (i, s) in self.a.stages.iter().enumerate() {
            if !reached[i] && !s.id.is_empty() && index.get(s.id.as_str()) == Some(&i) {
                let first = &self.a.stages[0].id;
                out.push(
                    Finding::new(
                        Code::UnreachableStage,
                        format!(
                            "no record can reach stage `{}` from the first stage `{first}`",
                            s.id
                        ),
                    )
                    .help("list in `from` an earlier stage that records enter it from")
                    .label("unreachable")
                    .at(s.place.field("id")),
                );
            }
        }
    }

    fn handoffs(&self, out: &mut Vec<Finding>) {
        let position: HashMap<&str, usize> = self
            .a
            .stages
            .iter()
            .enumerate()
            .rev()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect();
        for h in &self.a.handoffs {
            let Some(v) = &h.value else { continue };
            self.duration(&v.accept_within, h.place.field("accept_within"), out);
            self.team_ref(&v.to, h.place.field("to"), out);
            let Some(&at) = position.get(v.stage.as_str()) else {
                self.stage_ref(&v.stage, false, h.place.field("stage"), out);
                continue;
            };
            if let Some(stage) = self.a.stages[at].value.as_ref()
                && stage.owner == v.to
            {
                out.push(
                    Finding::new(
                        Code::HandoffTeam,
                        format!("`{}` already owns stage `{}`, so handing its leads to `{}` hands them to itself", v.to, v.stage, v.to),
                    )
                    .help(format!("a handoff passes leads from the stage's owner to another team: hand off at the last stage `{}` owns before the other team's", stage.owner))
                    .label("the stage's own team")
                    .at(h.place.field("to"))
                    .related(self.a.stages[at].place.field("owner"), "owner of the stage"),
                );
                continue;
            }
            let owns_later = self.a.stages[at + 1..]
                .iter()
                .any(|s| s.value.as_ref().is_none_or(|st| st.owner == v.to));
            let team_known = self
                .teams
                .as_ref()
                .is_none_or(|t| t.contains(v.to.as_str()));
            if !owns_later && team_known {
                out.push(
                    Finding::new(
                        Code::HandoffTeam,
                        format!("leads handed to `{}` at `{}`, but `{}` owns no later stage", v.to, v.stage, v.to),
                    )
                    .help(format!("hand off to the team that owns the stage after `{}`, or set that stage's `owner` to `{}`", v.stage, v.to))
                    .label("owns no later stage")
                    .at(h.place.field("to")),
                );
            }
        }
    }

    fn reviews(&self, out: &mut Vec<Finding>) {
        for r in &self.a.reviews {
            if let Some(v) = &r.value {
                self.duration(&v.length, r.place.field("length"), out);
            }
        }
    }
}

/// Reports a name that is not an IANA time zone, with a near miss when there is one.
fn time_zone(name: &str, place: Place, out: &mut Vec<Finding>) {
    if jiff::tz::TimeZone::get(name).is_ok() {
        return;
    }
    let names: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
    // Only near-misses (a space for an underscore, a slip of case): a zone
    // that merely looks alike is another place.
    let wanted = name.to_lowercase().replace(' ', "_");
    let near = names
        .iter()
        .map(|n| (strsim::levenshtein(&wanted, &n.to_lowercase()), n))
        .filter(|(d, _)| *d <= 1)
        .min();
    let help = match near {
        Some((_, s)) => format!("did you mean `{s}`?"),
        None => {
            "use an IANA time zone name such as `America/New_York`, `Europe/Berlin` or `UTC`".into()
        }
    };
    out.push(
        Finding::new(
            Code::InvalidTimeZone,
            format!("`{name}` is not an IANA time zone"),
        )
        .help(help)
        .label("unknown time zone")
        .at(place),
    );
}
