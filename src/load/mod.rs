//! Loading an alignment directory: finding its files, parsing TOML with spans,
//! validating each file against its JSON Schema, and collecting the typed entities.
//!
//! Every problem becomes a [`Finding`]; loading goes on past each one so a single
//! run reports them all. Only a directory that cannot be read at all is an `Err`.

mod nesting;
pub mod schema_errors;
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
                Ok(t) if t.is_dir() && descend(&name, depth) => {
                    stack.push((entry.path(), child, depth + 1));
                }
                Ok(t) if t.is_dir() => {}
                _ if name.ends_with(".toml") => out.push(child),
                _ => {}
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Whether discovery enters a folder at this depth (0: directly in the
/// alignment directory): only folders named after a file kind, and anything
/// below them, at most 8 levels deep. Shared by the file system and git readers.
pub fn descend(name: &str, depth: usize) -> bool {
    let kind_dir = depth > 0 || FileKind::from_name(name).is_some_and(|k| k != FileKind::Manifest);
    kind_dir && depth < 8
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
    let raw = files
        .into_iter()
        .map(|rel| RawFile {
            name: display_name(shown, &rel),
            bytes: std::fs::read(dir.join(&rel)).map_err(|e| e.to_string()),
            rel,
        })
        .collect();
    Ok(load_files(raw))
}

/// A file as read from disk or from a git blob, before parsing.
#[derive(Debug)]
pub struct RawFile {
    /// The name shown to the user (`alignment/goals.toml`, `a1b2c3d:alignment/goals.toml`).
    pub name: String,
    /// The path relative to the alignment directory, `/`-separated.
    pub rel: String,
    /// The content, or why it could not be read.
    pub bytes: Result<Vec<u8>, String>,
}

/// Loads files already read: decodes, parses, schema-checks, collects the
/// entities and runs the rules.
pub fn load_files(raw: Vec<RawFile>) -> Loaded {
    let validators = schema_errors::Validators::new();
    let mut sources = Sources::default();
    let mut findings = Vec::new();
    let mut parsed = Vec::new();
    for file in raw {
        let id = sources.files.len();
        let (source, p) = parse_file(file, id, &validators, true);
        sources.files.push(source);
        findings.extend(p.findings.iter().cloned());
        parsed.push(p);
    }
    let alignment = assemble(parsed.iter().enumerate());
    crate::rules::check(&alignment, &mut findings);
    for f in &mut findings {
        resolve(&sources, f);
    }
    Loaded {
        sources,
        alignment,
        findings,
    }
}

/// One file after parsing and schema validation: what the entities are read from.
/// Depends only on the file's kind and text, so it can be cached by content
/// (the history walk does, by blob id).
#[derive(Debug, Clone)]
pub struct ParsedFile {
    /// The file's kind, if it is an alignment file.
    pub kind: Option<FileKind>,
    /// The data, with the values the schema rejected pruned; `None` when the
    /// file could not be read or parsed.
    pub data: Option<Value>,
    /// What was wrong with the file itself, placed in the file id it was parsed with.
    pub findings: Vec<Finding>,
}

/// Decodes, parses and schema-checks one file. Returns its source entry (text and
/// span index) and what was parsed; findings are placed in file `id`. With
/// `index_spans` the span index is built even for a clean file, for findings
/// of the rules to come.
pub fn parse_file(
    raw: RawFile,
    id: FileId,
    validators: &schema_errors::Validators,
    index_spans: bool,
) -> (SourceFile, ParsedFile) {
    let kind = FileKind::of_path(&raw.rel);
    let mut findings = Vec::new();
    let unread = |message: String, help: &str| {
        Finding::new(Code::UnreadableFile, message)
            .help(help)
            .at(Place::new(id, ""))
    };
    let text = match raw.bytes {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => Some(t),
            Err(e) => {
                let message = format!(
                    "`{}` is not UTF-8 text (invalid byte at offset {})",
                    raw.name,
                    e.utf8_error().valid_up_to()
                );
                findings.push(unread(message, "save the file as UTF-8"));
                None
            }
        },
        Err(e) => {
            let message = format!("cannot read `{}`: {e}", raw.name);
            findings.push(unread(
                message,
                "check that the file exists and is readable",
            ));
            None
        }
    };
    let mut source = SourceFile::new(raw.name, raw.rel, kind, text.clone().unwrap_or_default());
    let parsed = |data, findings| ParsedFile {
        kind,
        data,
        findings,
    };
    let Some(kind) = kind else {
        findings.push(
            Finding::new(
                Code::UnknownFile,
                format!("`{}` is not an alignment file, so it is not read", source.name),
            )
            .help(
                "name it `revalign.toml`, `metrics.toml`, `goals.toml`, `sla.toml` or `leads.toml`, \
                 or put it in a folder of that name (`goals/q3.toml`)",
            )
            .at(Place::new(id, "")),
        );
        return (source, parsed(None, findings));
    };
    let Some(text) = text else {
        return (source, parsed(None, findings));
    };
    if let Some(offset) = nesting::too_deep(&text, nesting::MAX_DEPTH) {
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
        return (source, parsed(None, findings));
    }
    let (root, errors) = DeTable::parse_recoverable(&text);
    if !errors.is_empty() {
        // One finding per line: the parser's later complaints on a line are
        // usually echoes of the first.
        let mut lines_seen = BTreeSet::new();
        for e in &errors {
            let span = e.span().unwrap_or(0..0);
            let line = source.line_col(span.start).0;
            if !lines_seen.insert(line) {
                continue;
            }
            let line_text = text.lines().nth(line - 1).unwrap_or_default();
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
        return (source, parsed(None, findings));
    }
    let mut json = span::table_to_json(root.get_ref());
    let broken = validators.check(kind, &json, id, &mut findings);
    // The span index serves findings: always when rules will run after, else
    // only when this file has some (the history walk reads thousands of blobs).
    let index = if index_spans || !findings.is_empty() {
        SpanIndex::new(&root)
    } else {
        SpanIndex::default()
    };
    drop(root);
    // Read the entities from what passed: values already reported are pruned,
    // so an entity with an optional bad value is still checked for the rest,
    // and one missing a required key is kept by id only.
    for pointer in broken.iter().rev() {
        prune(&mut json, pointer);
    }
    source.spans = index;
    for f in &mut findings {
        resolve_in(&source, f);
    }
    (source, parsed(Some(json), findings))
}

/// Builds the alignment from parsed files, each with the id its entities' places use.
pub fn assemble<'p>(files: impl IntoIterator<Item = (FileId, &'p ParsedFile)>) -> Alignment {
    let mut alignment = Alignment::default();
    let mut kinds = BTreeSet::new();
    for (id, p) in files {
        let Some(kind) = p.kind else { continue };
        kinds.insert(kind);
        match &p.data {
            Some(data) => collect(kind, id, data, &mut alignment),
            None => {
                alignment.incomplete.insert(kind);
            }
        }
    }
    alignment.kinds_present = kinds.into_iter().collect();
    alignment
}

fn resolve_in(file: &SourceFile, finding: &mut Finding) {
    let places = finding
        .place
        .iter_mut()
        .chain(finding.related.iter_mut().map(|(p, _)| p));
    for place in places {
        if place.span.is_none() {
            place.span = Some(file.locate(&place.pointer, place.key));
        }
    }
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
