//! JSON Schema validation of each file, and the translation of schema errors into
//! findings that speak TOML: the key, the table, what to write instead.

use std::collections::BTreeSet;

use jsonschema::Validator;
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use super::span::pointer_tokens;
use crate::model::duration::{Duration, DurationError};
use crate::model::target::Target;
use crate::model::{Code, FileId, FileKind, Finding, Place};
use crate::schema::{resolve, schema_for};

/// The compiled schema of every file kind.
pub struct Validators {
    compiled: Vec<(FileKind, Value, Option<Validator>)>,
}

impl Validators {
    /// Generates and compiles every schema.
    pub fn new() -> Validators {
        let compiled = FileKind::ALL
            .into_iter()
            .map(|kind| {
                let schema = schema_for(kind);
                // The `regex` engine: linear time on any input, and our patterns
                // need no look-around.
                let validator = jsonschema::draft7::options()
                    .should_validate_formats(true)
                    .with_pattern_options(jsonschema::PatternOptions::regex())
                    .build(&schema)
                    .ok();
                (kind, schema, validator)
            })
            .collect();
        Validators { compiled }
    }

    /// Validates one file's data, pushing a finding per problem. Returns the
    /// pointers of the values that had problems (not of tables missing a key),
    /// so they can be pruned before the entities are read.
    pub fn check(
        &self,
        kind: FileKind,
        json: &Value,
        file: FileId,
        findings: &mut Vec<Finding>,
    ) -> BTreeSet<String> {
        let mut broken = BTreeSet::new();
        let Some((_, schema, Some(validator))) = self.compiled.iter().find(|(k, _, _)| *k == kind)
        else {
            return broken;
        };
        let mut seen = BTreeSet::new();
        for error in validator.iter_errors(json) {
            let pointer = error.instance_path().as_str().to_string();
            let schema_path = error.schema_path().as_str().to_string();
            let keyword_path: Vec<&str> = schema_path.split('/').skip(1).collect();
            let parent = resolve(
                schema,
                &keyword_path[..keyword_path.len().saturating_sub(1)],
            );
            // For a conditional requirement (`allOf/N/then/required`) the keys'
            // documentation is on the object the condition belongs to.
            let object = match keyword_path.iter().rposition(|t| *t == "allOf") {
                Some(i) => resolve(schema, &keyword_path[..i]),
                None => parent,
            };
            let ctx = Context {
                json,
                file,
                pointer: &pointer,
                parent,
                object,
            };
            for finding in ctx.translate(error.kind(), &error.to_string()) {
                let key = (
                    finding.place.as_ref().map(|p| p.pointer.clone()),
                    finding.code,
                );
                if seen.insert(key) {
                    if let Some(p) = &finding.place
                        && finding.code != Code::MissingKey
                    {
                        broken.insert(p.pointer.clone());
                    }
                    findings.push(finding);
                }
            }
        }
        broken
    }
}

impl Default for Validators {
    fn default() -> Self {
        Validators::new()
    }
}

struct Context<'a> {
    json: &'a Value,
    file: FileId,
    pointer: &'a str,
    parent: Option<&'a Value>,
    object: Option<&'a Value>,
}

/// How a value of JSON type looks in TOML terms.
fn toml_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a float",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a table",
    }
}

fn schema_type_name(t: &str) -> &'static str {
    match t {
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "a boolean (`true` or `false`)",
        "array" => "an array",
        "object" => "a table",
        _ => "another type",
    }
}

/// The closest of `candidates` to `word`, if close enough to be a likely typo.
pub fn suggest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Describes where a pointer is, by entity: `in goal `more-mqls``, `in [organization]`.
pub fn describe(json: &Value, pointer: &str) -> String {
    let tokens = pointer_tokens(pointer);
    let mut out = String::new();
    let mut node = json;
    let mut path = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let next = match node {
            Value::Object(m) => m.get(t.as_str()),
            Value::Array(a) => t.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        };
        let Some(next) = next else { break };
        if let (Value::Array(_), Some(id)) = (node, next.get("id").and_then(Value::as_str)) {
            let kind = tokens
                .get(i.wrapping_sub(1))
                .map_or("entry", String::as_str);
            out = format!("{kind} `{id}`");
            path.clear();
        } else if matches!(node, Value::Array(_)) {
            path.push(format!("[{t}]"));
        } else if path.is_empty()
            && out.is_empty()
            && matches!(tokens.first().map(String::as_str), Some("team" | "source"))
            && i == 1
        {
            out = format!("{} `{t}`", tokens[0]);
            path.clear();
            node = next;
            continue;
        } else {
            path.push(if path.is_empty() {
                t.clone()
            } else {
                format!(".{t}")
            });
        }
        node = next;
    }
    let path = path.concat();
    match (out.is_empty(), path.is_empty()) {
        (true, true) => "at the top of the file".to_string(),
        (true, false) => format!("in `{path}`"),
        (false, true) => format!("in {out}"),
        (false, false) => format!("in `{path}` of {out}"),
    }
}

impl Context<'_> {
    fn place(&self, pointer: &str) -> Place {
        Place::new(self.file, pointer)
    }

    /// The property name the pointer ends in (for an array item, its array's).
    fn property(&self) -> String {
        pointer_tokens(self.pointer)
            .into_iter()
            .rev()
            .find(|t| t.parse::<usize>().is_err())
            .unwrap_or_default()
    }

    fn instance(&self) -> Option<&Value> {
        self.json.pointer(self.pointer)
    }

    fn property_description(&self, name: &str) -> Option<String> {
        let d = self
            .object?
            .get("properties")?
            .get(name)?
            .get("description")?
            .as_str()?;
        Some(d.split(['\n']).next().unwrap_or(d).trim().to_string())
    }

    fn translate(&self, kind: &ValidationErrorKind, fallback: &str) -> Vec<Finding> {
        let here = describe(self.json, self.pointer);
        let property = self.property();
        match kind {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let allowed: Vec<&str> = self
                    .parent
                    .and_then(|p| p.get("properties"))
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.keys()
                            .map(String::as_str)
                            .filter(|k| !k.starts_with('$'))
                            .collect()
                    })
                    .unwrap_or_default();
                unexpected
                    .iter()
                    .map(|key| {
                        let pointer =
                            format!("{}/{}", self.pointer, crate::model::file::escape_token(key));
                        let help = match suggest(key, allowed.iter().copied()) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!(
                                "remove it; the keys allowed here are: {}",
                                allowed.join(", ")
                            ),
                        };
                        Finding::new(Code::UnknownKey, format!("unknown key `{key}` {here}"))
                            .help(help)
                            .label("unknown key")
                            .at(self.place(&pointer).at_key())
                    })
                    .collect()
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                let when = self
                    .instance()
                    .and_then(|i| i.get("kind"))
                    .and_then(Value::as_str)
                    .filter(|_| self.parent.is_some_and(|p| p.get("properties").is_none()))
                    .map(|k| format!(" (kind `{k}` needs it)"))
                    .unwrap_or_default();
                let help = match self.property_description(name) {
                    Some(d) => format!("add `{name} = ...`: {d}"),
                    None => format!("add `{name} = ...`"),
                };
                vec![
                    Finding::new(
                        Code::MissingKey,
                        format!("missing key `{name}` {here}{when}"),
                    )
                    .help(help)
                    .label(format!("`{name}` missing here"))
                    .at(self.place(self.pointer)),
                ]
            }
            ValidationErrorKind::Type { .. } => {
                let expected = self
                    .parent
                    .and_then(|p| p.get("type"))
                    .and_then(Value::as_str)
                    .map_or("another type", schema_type_name);
                let found = self.instance().map_or("nothing", toml_type);
                let help = match expected {
                    "a string" => format!("put the value in quotes: `{property} = \"...\"`"),
                    "an array" => format!("write a list: `{property} = [...]`"),
                    "a table" => {
                        format!("write a table: `[{property}]` or `{property} = {{ ... }}`")
                    }
                    _ => format!("write {expected} here"),
                };
                vec![
                    Finding::new(
                        Code::WrongType,
                        format!("`{property}` must be {expected}, not {found} ({here})"),
                    )
                    .help(help)
                    .label(format!("{found}, expected {expected}"))
                    .at(self.place(self.pointer)),
                ]
            }
            ValidationErrorKind::Enum { options } => {
                let options: Vec<&str> = options
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let value = self.instance().and_then(Value::as_str).unwrap_or_default();
                let help = match suggest(value, options.iter().copied()) {
                    Some(s) => format!(
                        "did you mean `{s}`? The values allowed are: {}",
                        options.join(", ")
                    ),
                    None => format!("use one of: {}", options.join(", ")),
                };
                vec![
                    Finding::new(
                        Code::InvalidValue,
                        format!(
                            "`{property} = \"{value}\"` is not a value `{property}` takes ({here})"
                        ),
                    )
                    .help(help)
                    .label("not allowed")
                    .at(self.place(self.pointer)),
                ]
            }
            ValidationErrorKind::Pattern { .. } => vec![self.pattern(&property, &here)],
            ValidationErrorKind::PropertyNames { .. } => {
                let keys: Vec<String> = self
                    .instance()
                    .and_then(Value::as_object)
                    .map(|m| m.keys().filter(|k| !is_id(k)).cloned().collect())
                    .unwrap_or_default();
                keys.iter()
                    .map(|key| {
                        let pointer =
                            format!("{}/{}", self.pointer, crate::model::file::escape_token(key));
                        Finding::new(
                            Code::InvalidValue,
                            format!("`{key}` is not a valid id {here}"),
                        )
                        .help(ID_HELP)
                        .label("invalid id")
                        .at(self.place(&pointer).at_key())
                    })
                    .collect()
            }
            ValidationErrorKind::Format { format } => {
                let value = self.instance().and_then(Value::as_str).unwrap_or_default();
                let looks_like_date = value.len() == 10
                    && value.bytes().enumerate().all(|(i, b)| {
                        if i == 4 || i == 7 {
                            b == b'-'
                        } else {
                            b.is_ascii_digit()
                        }
                    });
                let (what, help) = match format.as_str() {
                    "date" if looks_like_date => (
                        "a date",
                        "that day does not exist: check the month (1 to 12) and the day of the month",
                    ),
                    "date" => (
                        "a date",
                        "write a date as YYYY-MM-DD, without quotes: `2026-01-01`",
                    ),
                    "email" => (
                        "an e-mail address",
                        "write an address like `jane@example.com`",
                    ),
                    "uri" => (
                        "a URL",
                        "write an absolute URL like `https://api.example.com`",
                    ),
                    _ => ("valid", "fix the value's format"),
                };
                vec![
                    Finding::new(
                        Code::InvalidValue,
                        format!("`{property}` is not {what}: `{value}` ({here})"),
                    )
                    .help(help)
                    .label(format!("not {what}"))
                    .at(self.place(self.pointer)),
                ]
            }
            ValidationErrorKind::MinProperties { limit } if property == "team" => {
                vec![Finding::new(Code::InvalidValue, format!("the manifest declares fewer than {limit} teams"))
                    .help("declare at least two teams (`[team.sales]`, `[team.marketing]`): the agreement is between them")
                    .label("too few teams")
                    .at(self.place(self.pointer).at_key())]
            }
            ValidationErrorKind::MinItems { .. } | ValidationErrorKind::MinLength { .. } => {
                let help = if property == "owners" {
                    "name the owning teams: `owners = [\"marketing\", \"sales\"]`"
                } else {
                    "give it a value, or remove the key if it is optional"
                };
                vec![
                    Finding::new(
                        Code::InvalidValue,
                        format!("`{property}` is empty ({here})"),
                    )
                    .help(help)
                    .label("empty")
                    .at(self.place(self.pointer)),
                ]
            }
            ValidationErrorKind::Minimum { limit } | ValidationErrorKind::Maximum { limit } => {
                let bound = if matches!(kind, ValidationErrorKind::Minimum { .. }) {
                    "at least"
                } else {
                    "at most"
                };
                vec![
                    Finding::new(
                        Code::InvalidValue,
                        format!("`{property}` must be {bound} {limit} ({here})"),
                    )
                    .help(format!("use a value {bound} {limit}"))
                    .label("out of range")
                    .at(self.place(self.pointer)),
                ]
            }
            _ => vec![
                Finding::new(Code::InvalidValue, format!("{fallback} ({here})"))
                    .help("fix the value to match the file format (see docs/format.md)")
                    .at(self.place(self.pointer)),
            ],
        }
    }

    fn pattern(&self, property: &str, here: &str) -> Finding {
        let value = self.instance().and_then(Value::as_str).unwrap_or_default();
        let place = self.place(self.pointer);
        let (code, message, help) = match property {
            "target" | "warn" => {
                let help = match value.parse::<Target>() {
                    Err(e) => e.help(),
                    Ok(_) => crate::model::target::TargetError::Empty.help(),
                };
                (Code::InvalidTarget, format!("`{value}` is not a target ({here})"), help.to_string())
            }
            "within" | "length" | "accept_within" => {
                let message = match value.parse::<Duration>() {
                    Err(e) => format!("{e} ({here})"),
                    Ok(_) => format!("`{value}` is not a duration ({here})"),
                };
                (Code::InvalidDuration, message, DurationError::HELP.to_string())
            }
            "handle" => (
                Code::InvalidValue,
                format!("`{value}` is not a version-control handle ({here})"),
                "write a GitHub user (`jane-doe`, `@jane-doe`) or team (`acme/sales-leads`)".to_string(),
            ),
            "token_env" | "url_env" | "password_env" => (
                Code::InvalidValue,
                format!("`{value}` is not an environment variable name ({here})"),
                "name the variable that holds the secret (`HUBSPOT_TOKEN`), never the secret itself".to_string(),
            ),
            "currency" => (
                Code::InvalidValue,
                format!("`{value}` is not an ISO 4217 currency code ({here})"),
                "write a three-letter code in capitals: `USD`, `EUR`".to_string(),
            ),
            _ => (Code::InvalidValue, format!("`{value}` is not a valid id ({here})"), ID_HELP.to_string()),
        };
        Finding::new(code, message)
            .help(help)
            .label("here")
            .at(place)
    }
}

const ID_HELP: &str = "ids are lower-case letters, digits, `-` and `_`, starting with a letter: `mql-volume`, `speed_to_lead`";

/// Whether a string is a valid id (see [`crate::model::ID_PATTERN`]).
pub fn is_id(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}
