//! What the CRM API sources share: the declaration (the token's variable,
//! the base URL, the timeout, the field mapping), the cache kept up to date
//! (every record fetched, or only what changed since the last sync: see
//! [`super::cache`]) and the file source over it, so values are read, typed
//! and checked exactly as in an export. Each vendor ([`Api`]) says how to
//! list every record, the records changed since a time, and the records
//! removed since.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use super::cache::{self, Expect, Key, Meta, State, Writer};
use super::file::{FileSource, Kind, preset_columns};
use super::http::{Auth, Http, OAuth};
use super::{DataSource, DealSink, Fetch, LeadSink, SourceError, Streamed};
use crate::model::manifest::{Preset, Source, SourceKind};
use crate::model::record::Need;

/// A cache last fetched whole longer ago is fetched whole again: the safety
/// net for records deleted without trace (past the archive, the recycle bin).
pub const FULL_EVERY_DAYS: i64 = 7;
/// Changes are fetched from this long before the last sync began: records
/// an API's search index had not yet seen ("a few moments" after a write).
/// The sync's start is read by the earlier of this machine's clock and the
/// API's (its `Date` header), so a clock running ahead loses nothing.
pub const OVERLAP_MINUTES: i64 = 5;

/// The field `owner_teams` gives records.
pub const OWNER_TEAM: &str = "owner_team";

/// What is fixed about a vendor.
#[derive(Debug, Clone, Copy)]
pub struct Vendor {
    /// The kind in the manifest (`hubspot`).
    pub kind: &'static str,
    /// The name in messages (`HubSpot`).
    pub name: &'static str,
    /// The API base when the manifest names none.
    pub base: &'static str,
    /// Field names when not mapped.
    pub preset: Preset,
    /// The variable suggested for the token, and what to put in it.
    pub token_help: &'static str,
    /// The OAuth token endpoint: a path under the base URL, or a URL.
    pub token_url: &'static str,
    /// OAuth client credentials go in a Basic header, not the form.
    pub oauth_basic: bool,
    /// OAuth without a refresh token: the client credentials grant.
    pub client_credentials: bool,
    /// The field holding a record's owner id.
    pub owner: &'static str,
    /// The objects `leads` may name as the leads; the first is the default.
    pub lead_objects: &'static [&'static str],
}

/// Where an API source's access comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// The variable holding an access token.
    Token(String),
    /// OAuth 2: the variables holding the client id, the secret and the
    /// refresh token (none: the client credentials grant), and the token
    /// endpoint.
    OAuth {
        /// `client_id_env`.
        client_id: String,
        /// `client_secret_env`.
        client_secret: String,
        /// `refresh_token_env`.
        refresh_token: Option<String>,
        /// The token endpoint.
        url: String,
    },
}

/// One declared API source.
#[derive(Clone)]
pub struct Account {
    /// The source id.
    pub id: String,
    /// The vendor.
    pub vendor: Vendor,
    /// Where access comes from.
    pub credentials: Credentials,
    /// The API base, without a trailing slash.
    pub base: String,
    columns: BTreeMap<String, String>,
    deal_columns: BTreeMap<String, String>,
    /// Owner id -> team id.
    owner_teams: BTreeMap<String, String>,
    time_zone: Option<String>,
    org_tz: String,
    /// How long each answer may take.
    pub timeout: Duration,
    /// `.revalign/cache/<id>/`.
    pub cache: PathBuf,
    /// `--refresh`, and where progress goes.
    pub fetch: Fetch,
    /// `fetch = "periods"`: only the records modified since the checked
    /// periods began.
    pub periods: bool,
    /// The object the leads are (`leads`, else the vendor's first).
    pub lead_object: &'static str,
}

impl std::fmt::Debug for Account {
    // The token stays out: only the variable that holds it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("vendor", &self.vendor.kind)
            .field("credentials", &self.credentials)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Account {
    /// Reads the declaration of source `id` in the alignment at `dir`.
    pub fn new(
        id: &str,
        s: &Source,
        dir: &Path,
        org_tz: &str,
        fetch: Fetch,
        vendor: Vendor,
    ) -> Result<Account, SourceError> {
        let base = super::http::base_url(id, s.base_url.as_deref(), vendor.base)?;
        let credentials = match (&s.token_env, &s.client_id_env, &s.client_secret_env) {
            (Some(t), None, None) => Credentials::Token(t.clone()),
            (None, Some(client_id), Some(client_secret)) => {
                if s.refresh_token_env.is_none() && !vendor.client_credentials {
                    return Err(SourceError::new(
                        format!(
                            "source `{id}` ({}): OAuth needs a refresh token",
                            vendor.kind
                        ),
                        format!(
                            "set [source.{id}] refresh_token_env to the variable holding the refresh token your app was given"
                        ),
                    ));
                }
                let url = match s.token_url.as_deref() {
                    Some(u) => super::http::base_url(id, Some(u), u)?,
                    None if vendor.token_url.starts_with('/') => {
                        format!("{base}{}", vendor.token_url)
                    }
                    None => vendor.token_url.to_string(),
                };
                Credentials::OAuth {
                    client_id: client_id.clone(),
                    client_secret: client_secret.clone(),
                    refresh_token: s.refresh_token_env.clone(),
                    url,
                }
            }
            (None, None, None) => {
                return Err(SourceError::new(
                    format!("source `{id}` ({}) names no token", vendor.kind),
                    format!("set [source.{id}] token_env = {}", vendor.token_help),
                ));
            }
            _ => {
                return Err(SourceError::new(
                    format!(
                        "source `{id}` ({}) mixes its credentials: token_env, or client_id_env with client_secret_env",
                        vendor.kind
                    ),
                    "keep token_env for a token that does not expire, or client_id_env, client_secret_env (and refresh_token_env) for OAuth",
                ));
            }
        };
        let lead_object = match s.leads.as_deref() {
            None => vendor.lead_objects[0],
            Some(o) => match vendor.lead_objects.iter().find(|l| **l == o) {
                Some(l) => l,
                None => {
                    return Err(SourceError::new(
                        format!(
                            "source `{id}` reads its leads from `{o}`, which {} does not have",
                            vendor.name
                        ),
                        format!("write leads = \"{}\"", vendor.lead_objects.join("\" or \"")),
                    ));
                }
            },
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
        Ok(Account {
            id: id.to_string(),
            vendor,
            credentials,
            base,
            columns: s.columns.clone(),
            deal_columns: s.deal_columns.clone(),
            owner_teams: s.owner_teams.clone(),
            time_zone: s.time_zone.clone(),
            org_tz: org_tz.to_string(),
            timeout,
            cache: dir.join(".revalign").join("cache").join(id),
            fetch,
            periods: s.fetch == Some(crate::model::manifest::FetchScope::Periods),
            lead_object,
        })
    }

    /// The API field holding a field: the mapping, else the vendor's name.
    pub fn property(&self, kind: Kind, field: &str, stage: bool) -> String {
        let map = match kind {
            Kind::Leads => &self.columns,
            Kind::Deals => &self.deal_columns,
        };
        if let Some(c) = map.get(field) {
            return c.clone();
        }
        if field == OWNER_TEAM && !self.owner_teams.is_empty() {
            return self.vendor.owner.to_string();
        }
        if !self.preset_object(kind) {
            // The preset names another object's fields: only the id and the
            // creation time keep a default (HubSpot's Lead records have
            // `hs_createdate`); any other field is looked for by its own
            // name, and found missing unless mapped.
            return match field {
                "created" if self.vendor.kind == "hubspot" => "hs_createdate".into(),
                "id" | "created" => preset_columns(self.vendor.preset, kind, field, stage)
                    .pop()
                    .unwrap_or_else(|| field.to_string()),
                _ => field.to_string(),
            };
        }
        map.get(field).cloned().unwrap_or_else(|| {
            preset_columns(self.vendor.preset, kind, field, stage)
                .pop()
                .unwrap_or_else(|| field.to_string())
        })
    }

    /// Whether records of a kind are the object the preset names (the
    /// vendor's default leads, and deals).
    pub fn preset_object(&self, kind: Kind) -> bool {
        kind == Kind::Deals || self.lead_object == self.vendor.lead_objects[0]
    }

    /// The API fields a kind of record is fetched with.
    pub fn properties(&self, kind: Kind, need: &Need) -> Vec<String> {
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

    /// What holds the access, for messages: `the token in HUBSPOT_TOKEN`,
    /// `the OAuth access of HUBSPOT_CLIENT_ID`.
    pub fn access(&self) -> String {
        match &self.credentials {
            Credentials::Token(env) => format!("the token in {env}"),
            Credentials::OAuth { client_id, .. } => format!("the OAuth access of {client_id}"),
        }
    }

    /// Whether access is by OAuth (a bearer token, wherever the vendor
    /// takes its own tokens).
    pub fn oauth(&self) -> bool {
        matches!(self.credentials, Credentials::OAuth { .. })
    }

    /// The credentials, read from their variables.
    pub fn auth(&self) -> Result<Auth, SourceError> {
        let var = |env: &str, what: &str| {
            std::env::var(env)
                .ok()
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| {
                    SourceError::new(
                        format!(
                            "source `{}`: the environment variable {env} is not set",
                            self.id
                        ),
                        format!("export {env} with {what}"),
                    )
                })
        };
        match &self.credentials {
            Credentials::Token(env) => Ok(Auth::Token(var(env, self.vendor.token_help)?)),
            Credentials::OAuth {
                client_id,
                client_secret,
                refresh_token,
                url,
            } => {
                let id = var(client_id, "your app's client id")?;
                let secret = var(client_secret, "your app's client secret")?;
                let mut names = format!("{client_id}, {client_secret}");
                let mut form = match refresh_token {
                    Some(env) => {
                        names.push_str(&format!(" and {env}"));
                        vec![
                            ("grant_type", "refresh_token".to_string()),
                            (
                                "refresh_token",
                                var(env, "the refresh token your app was given")?,
                            ),
                        ]
                    }
                    None => vec![("grant_type", "client_credentials".to_string())],
                };
                let basic = if self.vendor.oauth_basic {
                    Some((id, secret))
                } else {
                    form.push(("client_id", id));
                    form.push(("client_secret", secret));
                    None
                };
                Ok(Auth::OAuth(Box::new(OAuth::new(
                    url.clone(),
                    form,
                    basic,
                    names,
                ))))
            }
        }
    }

    /// Counts the records of `what` as they are fetched (`crm: contacts`,
    /// `total` of them when known), on standard error.
    pub fn bar(&self, what: &str, total: Option<u64>) -> super::progress::Bar {
        self.fetch
            .progress
            .start(&format!("{}: {what}", self.id), total)
    }

    /// A line on standard error (what a sync decided, and why).
    pub fn progress_line(&self, text: &str) {
        self.fetch.progress.line(text);
    }
}

/// One vendor's API.
pub trait Api: Send + Sync {
    /// The declaration.
    fn account(&self) -> &Account;
    /// The API's name for a kind of record (`contacts`, `Lead`).
    fn object(&self, kind: Kind) -> &'static str;
    /// The field holding the vendor's own id of each cached row
    /// (`hs_object_id`, `Id`, `id`): the cache's key, whatever `columns`
    /// maps `id` to.
    fn id_field(&self) -> &'static str;
    /// A client with the vendor's limits, authorized by `auth`.
    fn client(&self, auth: Auth) -> Result<Http, SourceError>;
    /// Every record of a kind, with `fields`, into `out`.
    fn everything(
        &self,
        http: &mut Http,
        kind: Kind,
        fields: &[String],
        out: &mut Writer,
    ) -> Result<(), SourceError>;
    /// The records of a kind modified since `since` (epoch milliseconds).
    fn changed(
        &self,
        http: &mut Http,
        kind: Kind,
        fields: &[String],
        since: i64,
    ) -> Result<BTreeMap<Key, Value>, SourceError>;
    /// The account the credentials reach (HubSpot's portal id, Salesforce's
    /// org id, Pipedrive's company id): a cache of another is not used.
    fn account_id(&self, http: &mut Http) -> Result<String, SourceError>;
    /// Columns of a kind whose cached values outlast the vendor's: a fetch
    /// keeps them over what the API now gives (Salesforce's stage times
    /// from field history, which it deletes after 18 to 24 months).
    fn lasting(&self, kind: Kind) -> Vec<String> {
        let _ = kind;
        Vec::new()
    }
    /// How many records of a kind the account holds (those modified since
    /// `floor`, when given), where the API can say in a request; `None`
    /// where it cannot. A cache holding more is missing deletions.
    fn count(
        &self,
        http: &mut Http,
        kind: Kind,
        floor: Option<i64>,
    ) -> Result<Option<u64>, SourceError> {
        let _ = (http, kind, floor);
        Ok(None)
    }
    /// The ids of records of a kind removed (deleted, merged) since `since`.
    fn removed(
        &self,
        http: &mut Http,
        kind: Kind,
        since: i64,
    ) -> Result<BTreeSet<Key>, SourceError>;
}

/// A synced cache: the file source over it, and the floor of the leads'
/// and of the deals' (`fetch = "periods"`).
struct Synced {
    files: FileSource,
    floors: [Option<i64>; 2],
}

/// An API source read through its cache.
pub struct Cached<A: Api> {
    api: A,
    /// The file source over the cache once synced, or why it could not be:
    /// synced once per check, a failure reported for leads and deals alike.
    synced: Mutex<Option<Result<Synced, SourceError>>>,
}

impl<A: Api> std::fmt::Debug for Cached<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cached")
            .field("account", self.api.account())
            .finish_non_exhaustive()
    }
}

impl<A: Api> Cached<A> {
    /// The source; nothing is fetched until records are first needed.
    pub fn new(api: A) -> Cached<A> {
        Cached {
            api,
            synced: Mutex::new(None),
        }
    }

    /// The vendor's API.
    pub fn api(&self) -> &A {
        &self.api
    }

    /// Brings the cache of one kind of record up to date; returns its file
    /// and, when it holds only the records modified since some time (its
    /// floor, `fetch = "periods"`), that time.
    fn sync(
        &self,
        http: &mut Http,
        account: &str,
        kind: Kind,
        need: &Need,
    ) -> Result<(PathBuf, Option<i64>), SourceError> {
        let a = self.api.account();
        let object = self.api.object(kind);
        let fields = a.properties(kind, need);
        let cache = cache::Object::new(&a.cache, object, self.api.id_field());
        let started = jiff::Timestamp::now();
        http.server_time = None;
        // The records needed: those modified since the checked periods
        // began, or every one.
        let wanted = if a.periods { need.since } else { None };
        let expect = Expect {
            vendor: a.vendor.kind,
            origin: &a.base,
            source: &a.id,
            account,
            fields: &fields,
        };
        let lasting = self.api.lasting(kind);
        let state = if a.fetch.refresh {
            State::Rebuild("--refresh was given".into())
        } else {
            cache.state(&expect)
        };
        let stale = |m: &Meta| {
            m.full_at.parse::<jiff::Timestamp>().map_or(true, |t| {
                started.as_second() - t.as_second() > FULL_EVERY_DAYS * 86_400
            })
        };
        let floor_of = |m: &Meta| m.floor.as_deref().map(millis_of);
        let meta = Meta {
            format: cache::FORMAT,
            vendor: a.vendor.kind.into(),
            origin: a.base.clone(),
            source: a.id.clone(),
            account: account.into(),
            object: object.into(),
            fields: fields.clone(),
            synced_at: String::new(),
            full_at: String::new(),
            floor: None,
            records: 0,
            bytes: 0,
            sha256: String::new(),
        };
        // A cache from a later floor than needed lacks the records modified
        // in between: with a floor wanted, they are fetched with the
        // changes; with every record wanted, everything is fetched.
        let state = match state {
            State::Usable(old) if !stale(&old) => match (floor_of(&old), wanted) {
                (Some(Some(f)), None) => State::Rebuild(format!(
                    "it holds only the records modified since {}, and every record is needed now",
                    stamp(f)
                )),
                (Some(None), _) => State::Rebuild("its floor is not a time".into()),
                _ => State::Usable(old),
            },
            State::Usable(_) => State::Rebuild(format!(
                "it was last fetched whole over {FULL_EVERY_DAYS} days ago"
            )),
            other => other,
        };
        let why = match state {
            State::Usable(old) => {
                let mut since = old
                    .synced_at
                    .parse::<jiff::Timestamp>()
                    .map(|t| t.as_millisecond() - OVERLAP_MINUTES * 60_000)
                    .unwrap_or(0);
                let mut floor = floor_of(&old).flatten();
                if let (Some(f), Some(w)) = (floor, wanted)
                    && w < f
                {
                    a.progress_line(&format!(
                        "{}: {object}: fetching the records modified since {} (the checked periods' start; the cache begins at {})",
                        a.id,
                        stamp(w),
                        stamp(f)
                    ));
                    since = since.min(w);
                    floor = Some(w);
                }
                let changed = self.api.changed(http, kind, &fields, since)?;
                let removed = self.api.removed(http, kind, since)?;
                let n = changed.len();
                let next = Meta {
                    synced_at: began(started, http),
                    full_at: old.full_at.clone(),
                    floor: floor.map(stamp),
                    ..meta.clone()
                };
                let (merged, dropped) = cache.merge(changed, &removed, &lasting, next, &old)?;
                a.progress_line(&format!(
                    "{}: {object}: {n} changed since {}, {dropped} removed; {} cached",
                    a.id,
                    stamp(since),
                    merged.records
                ));
                // Records deleted without trace (past the archive or the
                // recycle bin) show as more cached than the API counts;
                // records created since the changes were asked for only
                // the other way.
                match self.api.count(http, kind, floor)? {
                    Some(live) if merged.records > live => Some(format!(
                        "{} of its {} records are no longer in {} ({live} there: deleted past its archive or recycle bin)",
                        merged.records - live,
                        merged.records,
                        a.vendor.name
                    )),
                    _ => return Ok((cache.data, floor)),
                }
            }
            State::Rebuild(why) => Some(why),
            State::Empty => None,
        };
        let whom = match wanted {
            Some(w) => format!(
                "fetching the records modified since {} (the checked periods' start)",
                stamp(w)
            ),
            None => "fetching every record".to_string(),
        };
        match &why {
            Some(why) => a.progress_line(&format!("{}: {object}: {whom} again: {why}", a.id)),
            None if wanted.is_some() => {
                a.progress_line(&format!("{}: {object}: {whom}", a.id));
            }
            None => {}
        }
        let started = jiff::Timestamp::now();
        http.server_time = None;
        let earlier = cache.lasting(&expect, &lasting);
        let mut out = cache.writer()?;
        out.carry(earlier);
        match wanted {
            Some(w) => {
                for (id, row) in self.api.changed(http, kind, &fields, w)? {
                    out.push(&id, &row)?;
                }
            }
            None => self.api.everything(http, kind, &fields, &mut out)?,
        }
        let began = began(started, http);
        out.finish(Meta {
            synced_at: began.clone(),
            full_at: began,
            floor: wanted.map(stamp),
            ..meta
        })?;
        Ok((cache.data, wanted))
    }

    /// Brings both kinds (each only if needed) up to date and opens the
    /// cache as files.
    fn sync_all(&self, need: &Need) -> Result<Synced, SourceError> {
        let a = self.api.account();
        let mut http = self.api.client(a.auth()?)?;
        let synced = self.sync_with(&mut http, need);
        // Said whether the fetch went through or not: the user must hear of
        // a refresh token replaced either way.
        if http.rotated
            && let Credentials::OAuth {
                refresh_token: Some(env),
                ..
            } = &a.credentials
        {
            a.progress_line(&format!(
                "{}: {} gave a new refresh token; it served this run and is kept nowhere. If {} stops being accepted, authorize the app again and export the new one in {env}",
                a.id, a.vendor.name, env
            ));
        }
        synced
    }

    /// [`Self::sync_all`] with a client.
    fn sync_with(&self, http: &mut Http, need: &Need) -> Result<Synced, SourceError> {
        let a = self.api.account();
        let account = self.api.account_id(http)?;
        let mut source = Source::empty(SourceKind::Ndjson);
        source.preset = Some(a.vendor.preset);
        source.columns = a.columns.clone();
        source.deal_columns = a.deal_columns.clone();
        if !a.owner_teams.is_empty() {
            // The owner id is read into `owner_team`, then given its team.
            for (kind, map) in [
                (Kind::Leads, &mut source.columns),
                (Kind::Deals, &mut source.deal_columns),
            ] {
                map.insert(OWNER_TEAM.into(), a.property(kind, OWNER_TEAM, false));
            }
        }
        if !a.preset_object(Kind::Leads) {
            // The cache's keys are the fields' own names: the file source
            // reads them so, not by the preset.
            let fields = ["id", "created", "first_touch"]
                .map(|f| (f.to_string(), false))
                .into_iter()
                .chain(need.stages.iter().map(|s| (s.clone(), true)))
                .chain(
                    need.lead_fields
                        .list
                        .iter()
                        .map(|(f, _)| (f.clone(), false)),
                );
            for (field, stage) in fields {
                let column = a.property(Kind::Leads, &field, stage);
                source.columns.entry(field).or_insert(column);
            }
        }
        source.time_zone = a.time_zone.clone();
        let mut floors = [None, None];
        if need.leads {
            let (leads, floor) = self.sync(http, &account, Kind::Leads, need)?;
            source.leads = Some(leads.display().to_string());
            floors[0] = floor;
        }
        if need.deals {
            let (deals, floor) = self.sync(http, &account, Kind::Deals, need)?;
            source.deals = Some(deals.display().to_string());
            floors[1] = floor;
        }
        Ok(Synced {
            files: FileSource::new(&a.id, &source, Path::new(""), &a.org_tz)?,
            floors,
        })
    }

    fn with<T>(&self, need: &Need, read: impl FnOnce(&FileSource) -> T) -> Result<T, SourceError> {
        let mut synced = self.synced.lock().map_err(|_| {
            SourceError::new(
                format!(
                    "the {} fetch stopped half-way",
                    self.api.account().vendor.name
                ),
                "run again",
            )
        })?;
        let files = synced.get_or_insert_with(|| self.sync_all(need));
        match files {
            Ok(f) => Ok(read(&f.files)),
            Err(e) => Err(e.clone()),
        }
    }
}

impl<A: Api> Cached<A> {
    /// Gives `owner_team` (read as the owner id) its team, when
    /// `owner_teams` is set and the metrics use it; the owners in no team
    /// are said on standard error.
    fn teams(&self, fields: &crate::model::record::Fields) -> Option<(usize, Teams<'_>)> {
        let a = self.api.account();
        if a.owner_teams.is_empty() {
            return None;
        }
        let at = fields.list.iter().position(|(n, _)| n == OWNER_TEAM)?;
        Some((
            at,
            Teams {
                map: &a.owner_teams,
                unknown: Mutex::new(BTreeSet::new()),
            },
        ))
    }

    fn report(&self, teams: &Teams<'_>) {
        let unknown = teams.unknown.lock().map(|u| u.clone()).unwrap_or_default();
        if !unknown.is_empty() {
            let shown: Vec<&str> = unknown.iter().take(10).map(String::as_str).collect();
            self.api.account().progress_line(&format!(
                "{}: {} owner{} in no team of owner_teams ({}{}): their records have no owner_team",
                self.api.account().id,
                unknown.len(),
                if unknown.len() == 1 { " is" } else { "s are" },
                shown.join(", "),
                if unknown.len() > 10 { ", ..." } else { "" }
            ));
        }
    }
}

/// `owner_teams`, and the owners met that it does not list.
struct Teams<'a> {
    map: &'a BTreeMap<String, String>,
    unknown: Mutex<BTreeSet<String>>,
}

impl Teams<'_> {
    /// The owner id in `v` replaced by its team (missing when none).
    fn give(&self, v: &mut crate::model::record::Value) {
        use crate::model::record::Value;
        let id = match v {
            Value::Text(t) => t.clone(),
            Value::Number(n) if n.fract() == 0.0 => format!("{}", *n as i64),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Missing => return,
        };
        *v = match self.map.get(&id) {
            Some(team) => Value::Text(team.clone()),
            None => {
                if let Ok(mut u) = self.unknown.lock() {
                    u.insert(id);
                }
                Value::Missing
            }
        };
    }
}

impl<A: Api> DataSource for Cached<A> {
    fn complete_from(&self, deals: bool) -> Option<crate::model::calendar::Millis> {
        let synced = self.synced.lock().ok()?;
        match synced.as_ref()? {
            Ok(s) => s.floors[usize::from(deals)],
            Err(_) => None,
        }
    }

    fn leads(&self, need: &Need, sinks: &mut [&mut LeadSink<'_>]) -> Result<Streamed, SourceError> {
        let Some((at, teams)) = self.teams(&need.lead_fields) else {
            return self.with(need, |f| f.leads(need, sinks))?;
        };
        let teams = &teams;
        let mut wrapped: Vec<Box<LeadSink<'_>>> = sinks
            .iter_mut()
            .map(|sink| {
                Box::new(move |l: &mut crate::model::record::Lead| {
                    if let Some(v) = l.fields.get_mut(at) {
                        teams.give(v);
                    }
                    sink(l);
                }) as Box<LeadSink<'_>>
            })
            .collect();
        let mut refs: Vec<&mut LeadSink<'_>> = wrapped.iter_mut().map(|b| &mut **b).collect();
        let out = self.with(need, |f| f.leads(need, &mut refs))?;
        self.report(teams);
        out
    }

    fn deals(&self, need: &Need, sinks: &mut [&mut DealSink<'_>]) -> Result<Streamed, SourceError> {
        let Some((at, teams)) = self.teams(&need.deal_fields) else {
            return self.with(need, |f| f.deals(need, sinks))?;
        };
        let teams = &teams;
        let mut wrapped: Vec<Box<DealSink<'_>>> = sinks
            .iter_mut()
            .map(|sink| {
                Box::new(move |d: &mut crate::model::record::Deal| {
                    if let Some(v) = d.fields.get_mut(at) {
                        teams.give(v);
                    }
                    sink(d);
                }) as Box<DealSink<'_>>
            })
            .collect();
        let mut refs: Vec<&mut DealSink<'_>> = wrapped.iter_mut().map(|b| &mut **b).collect();
        let out = self.with(need, |f| f.deals(need, &mut refs))?;
        self.report(teams);
        out
    }
}

/// A time in epoch milliseconds as RFC 3339 UTC.
fn stamp(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}

/// A time in epoch milliseconds as RFC 3339 UTC in whole seconds, cut
/// down (a filter from it takes in a little more, never less): the form
/// Salesforce's SOQL literals and Pipedrive's `updated_since` take.
pub fn whole_seconds(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// An RFC 3339 time in epoch milliseconds (`None`: not a time).
fn millis_of(t: &str) -> Option<i64> {
    t.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

/// When a sync began: by this machine's clock or the API's, whichever is
/// earlier (an HTTP `Date` has whole seconds).
fn began(local: jiff::Timestamp, http: &Http) -> String {
    let server = http
        .server_time
        .and_then(|t| t.checked_sub(jiff::SignedDuration::from_secs(1)).ok());
    server.map_or(local, |s| s.min(local)).to_string()
}

/// Fails when a listing's cursor comes back: a page that repeats cannot be
/// trusted. `seen` holds the cursors so far.
pub fn fresh_cursor(
    vendor: &str,
    what: &str,
    cursor: &str,
    seen: &mut std::collections::HashSet<String>,
) -> Result<(), SourceError> {
    if seen.insert(cursor.to_string()) {
        Ok(())
    } else {
        Err(SourceError::new(
            format!("{vendor}: {what} repeated the cursor `{cursor}`"),
            "run again; a listing that goes back cannot be trusted",
        ))
    }
}
