//! The manifest, `revalign.toml`: the organisation, its teams, its data sources, defaults.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Id, Period};

/// The manifest (`revalign.toml`): who the organisation is, its teams and their
/// heads, the data sources the check reads, and defaults for the other files.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// The schema this file follows, for editors that read a `$schema` key.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The organisation.
    pub organization: Organization,
    /// The teams, keyed by id (`[team.sales]`). At least two: the point is the
    /// agreement between them (typically `sales` and `marketing`; SDR, RevOps or
    /// customer success may join).
    #[schemars(extend("minProperties" = 2, "propertyNames" = {"pattern": super::ID_PATTERN}))]
    pub team: BTreeMap<Id, Team>,
    /// The data sources, keyed by id (`[source.crm_export]`).
    #[serde(default)]
    #[schemars(extend("propertyNames" = {"pattern": super::ID_PATTERN}))]
    pub source: BTreeMap<Id, Source>,
    /// Defaults for goals and commitments that do not say otherwise.
    #[serde(default)]
    pub defaults: Option<Defaults>,
}

/// The organisation whose agreement this is.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    /// The organisation's name, as shown in reports.
    #[schemars(length(min = 1))]
    pub name: String,
    /// The IANA time zone in which periods start and end (`America/New_York`, `Europe/Berlin`, `UTC`).
    pub time_zone: String,
    /// The month the fiscal year starts in; fiscal quarters follow from it.
    #[serde(default = "Month::january")]
    pub fiscal_year_start: Month,
    /// The day calendar weeks start on.
    #[serde(default = "Weekday::monday")]
    pub week_start: Weekday,
}

/// A month of the year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Month {
    January,
    February,
    March,
    April,
    May,
    June,
    July,
    August,
    September,
    October,
    November,
    December,
}

impl Month {
    fn january() -> Month {
        Month::January
    }

    /// The month's number, 1 to 12.
    pub fn number(self) -> u8 {
        self as u8 + 1
    }
}

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    fn monday() -> Weekday {
        Weekday::Monday
    }
}

/// A team (department) party to the agreement.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Team {
    /// The team's display name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// The department head: the person with authority over the team's side of the agreement.
    pub head: Head,
    /// What the team does, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A department head.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Head {
    /// Full name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// E-mail address.
    #[schemars(email)]
    pub email: String,
    /// Version-control handle (GitHub user or `org/team`), used for CODEOWNERS; with or without `@`.
    #[schemars(pattern(r"^@?[A-Za-z0-9][A-Za-z0-9-]*(/[A-Za-z0-9._-]+)?$"))]
    pub handle: String,
}

/// The kind of a data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// CSV exports of the CRM (leads and deals files).
    Csv,
    /// Newline-delimited JSON exports of the CRM.
    Ndjson,
    /// HubSpot CRM v3 API.
    Hubspot,
    /// Salesforce REST API (SOQL).
    Salesforce,
    /// Pipedrive API.
    Pipedrive,
    /// A PostgreSQL warehouse; metrics run as SQL.
    Postgres,
}

impl SourceKind {
    /// The name used in the files.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Csv => "csv",
            SourceKind::Ndjson => "ndjson",
            SourceKind::Hubspot => "hubspot",
            SourceKind::Salesforce => "salesforce",
            SourceKind::Pipedrive => "pipedrive",
            SourceKind::Postgres => "postgres",
        }
    }
}

/// A data source that `revalign check` reads CRM records from.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// What kind of source this is.
    pub kind: SourceKind,
    /// What the source holds, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// File sources: the leads/contacts export, relative to the alignment
    /// directory. Warehouse sources: the table or view of leads (`leads`
    /// when not set; `schema.table` allowed). API sources: the object the
    /// leads are: HubSpot `contacts` (the default) or `leads` (Lead
    /// records); Salesforce `Lead` (the default) or `Contact`; Pipedrive
    /// `persons` (API v2, the default) or `leads` (the Leads Inbox, API v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leads: Option<String>,
    /// File sources: the deals/opportunities export, relative to the
    /// alignment directory. Warehouse sources: the table or view of deals
    /// (`deals` when not set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deals: Option<String>,
    /// API sources: the environment variable holding the access token (never the token itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub token_env: Option<String>,
    /// API sources with OAuth instead of `token_env`: the environment
    /// variable holding the app's client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub client_id_env: Option<String>,
    /// API sources with OAuth: the environment variable holding the app's
    /// client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub client_secret_env: Option<String>,
    /// API sources with OAuth: the environment variable holding the refresh
    /// token (Salesforce without it uses the client credentials flow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub refresh_token_env: Option<String>,
    /// API sources with OAuth: the token endpoint, to override the vendor's
    /// (`<base_url>/oauth/v1/token` for HubSpot,
    /// `<base_url>/services/oauth2/token` for Salesforce,
    /// `https://oauth.pipedrive.com/oauth/token` for Pipedrive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(url)]
    pub token_url: Option<String>,
    /// API sources: the base URL, to override the vendor's (EU hosts, sandboxes, proxies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(url)]
    pub base_url: Option<String>,
    /// Warehouse sources: the environment variable holding the connection URL
    /// (`postgres://user@host:5432/db`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub url_env: Option<String>,
    /// Warehouse sources: the environment variable holding the password, when
    /// the URL has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub password_env: Option<String>,
    /// File and warehouse sources: whose export the column names follow by default
    /// (`revalign`, the default: `id`, `created_at`, `first_touch_at`, `<stage>_at`;
    /// `hubspot`; `salesforce`). `columns` and `deal_columns` override single columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    /// File, warehouse and API sources: lead field -> column (an API's
    /// property name), overriding the preset
    /// (`id`, `created`, `first_touch`, a stage id, or any field a filter or
    /// entry criterion uses): `mql = "MQL Date"`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, String>,
    /// File, warehouse and API sources: deal field -> column (an API's
    /// property name), overriding the preset
    /// (`id`, `created`, `closed`, `is_closed`, `won`, `currency`, or any field).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deal_columns: BTreeMap<String, String>,
    /// File, warehouse and API sources: the IANA time zone of timestamps written without one
    /// (`2026-10-01 09:00:00`, `2026-10-01`); default the organisation's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// File sources: how many rows with a bad value (an unreadable timestamp,
    /// number or boolean, or a repeated id) to skip before the source counts as
    /// unreadable; default 0: any bad value is an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bad_rows: Option<u64>,
    /// API sources: the team of each record owner, by the CRM's owner id
    /// (`"12345678" = "sdr"`): records get the field `owner_team`, read from
    /// the owner field (HubSpot `hubspot_owner_id`, Salesforce `OwnerId`,
    /// Pipedrive `owner_id`; `columns.owner_team` names another). A record
    /// whose owner is not listed has no `owner_team`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub owner_teams: BTreeMap<String, String>,
    /// Salesforce sources: stages whose time is when a lead first entered a
    /// Lead Status, read from `LeadHistory` (field history tracking on
    /// Status): stage id -> Status value (`mql = "Marketing Qualified"`),
    /// instead of a date field in `columns`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stage_status: BTreeMap<String, String>,
    /// API sources: which records to fetch: `all` (the default) or
    /// `periods`, only those modified since the earliest checked period (or
    /// drift span) began; a record not modified since has no event in it.
    /// A later check of earlier periods fetches the records in between.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch: Option<FetchScope>,
    /// API sources: how long to wait for each answer (`30s`, the default;
    /// `2m`); a request that takes longer is retried a few times, then the
    /// source is an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

impl Source {
    /// A source of this kind with nothing else set.
    pub fn empty(kind: SourceKind) -> Source {
        Source {
            kind,
            description: None,
            leads: None,
            deals: None,
            token_env: None,
            client_id_env: None,
            client_secret_env: None,
            refresh_token_env: None,
            token_url: None,
            base_url: None,
            url_env: None,
            password_env: None,
            preset: None,
            columns: BTreeMap::new(),
            deal_columns: BTreeMap::new(),
            time_zone: None,
            max_bad_rows: None,
            owner_teams: BTreeMap::new(),
            stage_status: BTreeMap::new(),
            fetch: None,
            timeout: None,
        }
    }
}

/// Which records an API source fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FetchScope {
    /// Every record (the default).
    All,
    /// The records modified since the earliest checked period began.
    Periods,
}

/// The export a file source's column names follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// revalign's own names: `id`, `created_at`, `first_touch_at`, `<stage>_at`;
    /// deals `id`, `created_at`, `closed_at`, `won`, `currency`, `amount`.
    Revalign,
    /// HubSpot's CSV export labels: `Record ID`, `Create Date`,
    /// `Became a Marketing Qualified Lead Date`, ...; deals `Close Date`,
    /// `Is Closed Won`, `Amount`, `Currency`.
    Hubspot,
    /// Salesforce API field names (Data Loader, Data Export): `Id`,
    /// `CreatedDate`; opportunities `CloseDate`, `IsClosed`, `IsWon`, `Amount`,
    /// `CurrencyIsoCode`. Stage dates are custom fields: map them in `columns`.
    Salesforce,
    /// Pipedrive API v2 field names: persons `id`, `add_time`; deals `id`,
    /// `add_time`, `close_time`, `value`, `currency`, and `won` and
    /// `is_closed` (read from `status`). Custom fields by their key.
    Pipedrive,
}

/// Defaults for the other files.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// The period of goals and commitments that name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// The data source that metrics read when a goal or commitment names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Id>,
    /// ISO 4217 currency code of currency metrics (`USD`, `EUR`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[A-Z]{3}$"))]
    pub currency: Option<String>,
}
