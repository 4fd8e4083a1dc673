//! Loading an alignment directory: finding its files, parsing TOML with spans,
//! validating each file against its JSON Schema, and collecting the typed entities.
//!
//! Every problem becomes a [`Finding`]; loading goes on past each one so a single
//! run reports them all. Only a directory that cannot be read at all is an `Err`.

mod nesting;
mod schema_errors;
pub mod span;

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value;
use toml::de::DeTable;

use crate::model::{Alignment, Code, Entity, FileId, FileKind, Finding, Place};
use span::SpanIndex;

/// One text revalign read, with what is needed to point into it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The name shown to the user: the path as given on the command line joined
    /// with the file's path in the alignment directory.
    pub name: String,
    /// The path relative to the alignment directory, `/`-separated.
    pub rel: String,
    /// The file's kind, if it is an alignment file.
    pub kind: Option<FileKind>,
    /// The text (empty when it could not be read).
    pub text: String,
    line_starts: Vec<usize>,
    spans: SpanIndex,
}

impl SourceFile {
    /// A source from its text.
    pub fn new(name: String, rel: String, kind: Option<FileKind>, text: String) -> SourceFile {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            name,
            rel,
            kind,
            text,
            line_starts,
            spans: SpanIndex::default(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|s| *s <= offset) - 1;
        let start = self.line_starts[line];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }

    /// The byte offset where a 0-based line starts (the end of the text past the last line).
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len())
    }

    /// The span a JSON pointer names in this file.
    pub fn locate(&self, pointer: &str, key: bool) -> Range<usize> {
        self.spans.locate(pointer, key)
    }
}

/// Every text read in one run, indexed by [`FileId`].
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The files, in the order they were read.
    pub files: Vec<SourceFile>,
}

impl Sources {
    /// The file with this id.
    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id)
    }
}

/// The outcome of loading a directory.
#[derive(Debug)]
pub struct Loaded {
    /// The texts read.
    pub sources: Sources,
    /// The entities found.
    pub alignment: Alignment,
    /// What was wrong with the files as files: syntax, schema.
    pub findings: Vec<Finding>,
}

/// Loading could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The directory does not exist or is not a directory.
    #[error("alignment directory `{0}` does not exist")]
    NotFound(String),
    /// The directory could not be listed.
    #[error("cannot read alignment directory `{path}`: {source}")]
    Io {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// The directory `validate` and friends work on when none is given: `./alignment`
/// when it exists, else `.`.
pub fn default_dir(cwd: &Path) -> PathBuf {
    let candidate = cwd.join("alignment");
    if candidate.is_dir() {
        PathBuf::from("alignment")
    } else {
        PathBuf::from(".")
    }
}

/// Lists the `.toml` files of an alignment directory: at the top level, and
/// anywhere below a folder named after a file kind (`goals/`, `sla/`, ...).
/// Hidden files and folders are skipped. Paths are relative, `/`-separated, sorted.
pub fn discover(dir: &Path) -> Result<Vec<String>, LoadError> {
    let display = dir.display().to_string();
    if !dir.is_dir() {
        return Err(LoadError::NotFound(display));
    }
    let mut out = Vec::new();
    let mut stack: Vec<(PathBuf, String, usize)> = vec![(dir.to_path_buf(), String::new(), 0)];
    while let Some((path, rel, depth)) = stack.pop() {
        let entries = std::fs::read_dir(&path).map_err(|source| LoadError::Io {
            path: path.display().to_string(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| LoadError::Io {
                path: path.display().to_string(),
                source,
            })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let child = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let file_type = std::fs::metadata(entry.path()).map(|m| m.file_type());
            match file_type {
                Ok(t) if t.is_dir() => {
                    let kind_dir = if depth == 0 {
                        FileKind::from_name(&name).is_some_and(|k| k != FileKind::Manifest)
                    } else {
                        true
                    };
                    if kind_dir && depth < 8 {
                        stack.push((entry.path(), child, depth + 1));
                    }
                }
                _ if name.ends_with(".toml") => out.push(child),
                _ => {}
            }
        }
    }
    out.sort();
    Ok(out)
}

fn display_name(shown: &Path, rel: &str) -> String {
    let dir = shown.to_string_lossy();
    let dir = dir.trim_end_matches('/');
    if dir.is_empty() || dir == "." {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    }
}

/// Loads an alignment directory. `dir` is where it is; `shown` how the user wrote
/// it, which file names in findings start with.
pub fn load_dir(dir: &Path, shown: &Path) -> Result<Loaded, LoadError> {
    let files = discover(dir).map_err(|e| match e {
        LoadError::NotFound(_) => LoadError::NotFound(shown.display().to_string()),
        e => e,
    })?;
    let mut sources = Sources::default();
    let mut findings = Vec::new();
    for rel in files {
        let name = display_name(shown, &rel);
        let kind = FileKind::of_path(&rel);
        let text = match std::fs::read(dir.join(&rel)) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(e) => {
                    let id = sources.files.len();
                    sources
                        .files
                        .push(SourceFile::new(name.clone(), rel, kind, String::new()));
                    findings.push(
                        Finding::new(
                            Code::UnreadableFile,
                            format!(
                                "`{name}` is not UTF-8 text (invalid byte at offset {})",
                                e.utf8_error().valid_up_to()
                            ),
                        )
                        .help("save the file as UTF-8")
                        .at(Place::new(id, "")),
                    );
                    continue;
                }
            },
            Err(e) => {
                let id = sources.files.len();
                sources
                    .files
                    .push(SourceFile::new(name.clone(), rel, kind, String::new()));
                findings.push(
                    Finding::new(Code::UnreadableFile, format!("cannot read `{name}`: {e}"))
                        .help("check that the file exists and is readable")
                        .at(Place::new(id, "")),
                );
                continue;
            }
        };
        sources.files.push(SourceFile::new(name, rel, kind, text));
    }
    let (alignment, mut more) = load_sources(&mut sources);
    findings.append(&mut more);
    Ok(Loaded {
        sources,
        alignment,
        findings,
    })
}

/// Parses, schema-checks and collects the entities of sources already read.
/// Also used for files read from git revisions.
pub fn load_sources(sources: &mut Sources) -> (Alignment, Vec<Finding>) {
    let mut alignment = Alignment::default();
    let mut findings = Vec::new();
    let validators = schema_errors::Validators::new();
    let mut kinds = BTreeSet::new();
    for id in 0..sources.files.len() {
        let file = &sources.files[id];
        let Some(kind) = file.kind else {
            findings.push(
                Finding::new(
                    Code::UnknownFile,
                    format!("`{}` is not an alignment file, so it is not read", file.name),
                )
                .help(
                    "name it `revalign.toml`, `metrics.toml`, `goals.toml`, `sla.toml` or `leads.toml`, \
                     or put it in a folder of that name (`goals/q3.toml`)",
                )
                .at(Place::new(id, "")),
            );
            continue;
        };
        kinds.insert(kind);
        if file.text.is_empty()
            && findings.iter().any(|f: &Finding| {
                f.code == Code::UnreadableFile && f.place.as_ref().is_some_and(|p| p.file == id)
            })
        {
            alignment.incomplete.insert(kind);
            continue;
        }
        if let Some(offset) = nesting::too_deep(&file.text, nesting::MAX_DEPTH) {
            let mut place = Place::new(id, "");
            place.span = Some(offset..offset + 1);
            findings.push(
                Finding::new(
                    Code::TooDeep,
                    format!(
                        "arrays or tables are nested more than {} levels deep",
                        nesting::MAX_DEPTH
                    ),
                )
                .help("flatten the structure; alignment files need only a few levels")
                .label("too deep from here")
                .at(place),
            );
            alignment.incomplete.insert(kind);
            continue;
        }
        let (root, errors) = DeTable::parse_recoverable(&file.text);
        if !errors.is_empty() {
            // One finding per line: the parser's later complaints on a line are
            // usually echoes of the first.
            let mut lines_seen = BTreeSet::new();
            for e in &errors {
                let span = e.span().unwrap_or(0..0);
                let line = file.line_col(span.start).0;
                if !lines_seen.insert(line) {
                    continue;
                }
                let line_text = file.text.lines().nth(line - 1).unwrap_or_default();
                let help = if line_text.contains(['“', '”', '‘', '’']) {
                    "replace the curly quotes (“ ” ‘ ’, often pasted from a document) with straight ones: \"...\""
                } else {
                    "fix the TOML syntax here; the file's content is not checked further until it parses"
                };
                let mut place = Place::new(id, "");
                place.span = Some(span);
                findings.push(
                    Finding::new(Code::TomlSyntax, first_line(e.message()))
                        .help(help)
                        .at(place),
                );
            }
            alignment.incomplete.insert(kind);
            continue;
        }
        let json = span::table_to_json(root.get_ref());
        let index = SpanIndex::new(&root);
        drop(root);
        let broken = validators.check(kind, &json, id, &mut findings);
        sources.files[id].spans = index;
        // Read the entities from what passed: values already reported are pruned,
        // so an entity with an optional bad value is still checked for the rest,
        // and one missing a required key is kept by id only.
        let mut json = json;
        for pointer in broken.iter().rev() {
            prune(&mut json, pointer);
        }
        collect(kind, id, &json, &mut alignment);
    }
    alignment.kinds_present = kinds.into_iter().collect();
    crate::rules::check(&alignment, &mut findings);
    for f in &mut findings {
        resolve(sources, f);
    }
    (alignment, findings)
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_string()
}

/// Fills in the spans of a finding's places from their pointers.
pub fn resolve(sources: &Sources, finding: &mut Finding) {
    let places = finding
        .place
        .iter_mut()
        .chain(finding.related.iter_mut().map(|(p, _)| p));
    for place in places {
        if place.span.is_none()
            && let Some(file) = sources.get(place.file)
        {
            place.span = Some(file.locate(&place.pointer, place.key));
        }
    }
}

/// Removes the value a pointer names. An array item is not removed (that would
/// shift its siblings' pointers): the key holding the array goes instead.
fn prune(json: &mut Value, pointer: &str) {
    let mut tokens = span::pointer_tokens(pointer);
    while tokens.last().is_some_and(|t| t.parse::<usize>().is_ok()) {
        tokens.pop();
    }
    let Some(last) = tokens.pop() else { return };
    let mut node = json;
    for t in &tokens {
        node = match node {
            Value::Object(m) => match m.get_mut(t.as_str()) {
                Some(n) => n,
                None => return,
            },
            Value::Array(a) => match t.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(n) => n,
                None => return,
            },
            _ => return,
        };
    }
    if let Value::Object(m) = node {
        m.remove(&last);
    }
}

fn entity<T: DeserializeOwned>(
    id: String,
    value: &Value,
    file: FileId,
    pointer: String,
) -> Entity<T> {
    let value = serde_json::from_value(value.clone()).ok();
    Entity {
        id,
        place: Place::new(file, pointer),
        value,
    }
}

fn id_of(value: &Value) -> String {
    value
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn items<'a>(json: &'a Value, key: &str) -> impl Iterator<Item = (usize, &'a Value)> + 'a {
    json.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
}

fn collect(kind: FileKind, file: FileId, json: &Value, a: &mut Alignment) {
    let array = |key: &str, i: usize| format!("/{key}/{i}");
    match kind {
        FileKind::Manifest => {
            if let Some(org) = json.get("organization") {
                a.organization = Some(entity(String::new(), org, file, "/organization".into()));
            }
            if let Some(d) = json.get("defaults") {
                a.defaults = Some(entity(String::new(), d, file, "/defaults".into()));
            }
            let keyed = |key: &str| -> Vec<(String, &Value, String)> {
                json.get(key)
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v,
                            format!("/{key}/{}", crate::model::file::escape_token(k)),
                        )
                    })
                    .collect()
            };
            for (id, v, p) in keyed("team") {
                a.teams.push(entity(id, v, file, p));
            }
            for (id, v, p) in keyed("source") {
                a.sources.push(entity(id, v, file, p));
            }
        }
        FileKind::Metrics => {
            for (i, v) in items(json, "metric") {
                a.metrics
                    .push(entity(id_of(v), v, file, array("metric", i)));
            }
        }
        FileKind::Goals => {
            for (i, v) in items(json, "goal") {
                a.goals.push(entity(id_of(v), v, file, array("goal", i)));
            }
        }
        FileKind::Sla => {
            if let Some(r) = json.get("review") {
                a.reviews
                    .push(entity(String::new(), r, file, "/review".into()));
            }
            for (i, v) in items(json, "commitment") {
                a.commitments
                    .push(entity(id_of(v), v, file, array("commitment", i)));
            }
        }
        FileKind::Leads => {
            for (i, v) in items(json, "stage") {
                a.stages.push(entity(id_of(v), v, file, array("stage", i)));
            }
            for (i, v) in items(json, "handoff") {
                let id = v
                    .get("stage")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                a.handoffs.push(entity(id, v, file, array("handoff", i)));
            }
            for (key, list) in [
                ("recycle_reasons", &mut a.recycle_reasons),
                ("disqualify_reasons", &mut a.disqualify_reasons),
            ] {
                for (i, v) in items(json, key) {
                    if let Some(code) = v.as_str() {
                        list.push(Entity {
                            id: code.to_string(),
                            place: Place::new(file, array(key, i)),
                            value: Some(()),
                        });
                    }
                }
            }
        }
    }
}

pub use schema_errors::{is_id, suggest};
