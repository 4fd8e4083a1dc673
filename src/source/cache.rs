//! The local cache of records fetched from a CRM API.
//!
//! Each object (HubSpot `contacts`, `deals`) is one NDJSON file of rows,
//! sorted by record id, under `.revalign/cache/<source>/`, with a
//! `<object>.meta.json` beside it: which vendor and API base it came from,
//! the fields fetched, when it was last synced (and last fetched whole), how
//! many records and bytes, and the SHA-256 of the file. A cache is used only
//! when all of that matches; otherwise it is rebuilt, and the reason said:
//! a cache from another source, API base or version of revalign (foreign),
//! a file whose size or checksum differs (corrupt, or edited), fields the
//! metrics now need that it lacks.
//!
//! Both files are written beside their place and renamed into it when whole,
//! the data before the meta: a run that stops half-way leaves the previous
//! cache, or a meta that no longer matches its data, never half of one that
//! is trusted. The `.revalign` folder ignores itself in git.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::SourceError;

/// The layout version; a cache of another is rebuilt. (2: `floor`.)
pub const FORMAT: u32 = 2;

/// A record id, ordered as numbers when both are digits (HubSpot's and
/// Pipedrive's ids), else as text (Salesforce's). The cache is keyed on the
/// vendor's own ids, all of one kind in an object, so the order is total.
#[derive(Debug, Clone)]
pub struct Key(pub String);

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Key {}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> Ordering {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if digits(&self.0) && digits(&other.0) {
            let (a, b) = (
                self.0.trim_start_matches('0'),
                other.0.trim_start_matches('0'),
            );
            a.len().cmp(&b.len()).then_with(|| a.cmp(b))
        } else {
            self.0.cmp(&other.0)
        }
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// What a cache file says of itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// [`FORMAT`].
    pub format: u32,
    /// `hubspot`.
    pub vendor: String,
    /// The API base the records came from.
    pub origin: String,
    /// The source id in the manifest.
    pub source: String,
    /// The account the records belong to (HubSpot portal, Salesforce org,
    /// Pipedrive company), as the API names it.
    pub account: String,
    /// The object (`contacts`).
    pub object: String,
    /// The fields fetched for each record.
    pub fields: Vec<String>,
    /// When the last fetch began (UTC, RFC 3339): records changed since are
    /// fetched next time.
    pub synced_at: String,
    /// When the last fetch of every record began.
    pub full_at: String,
    /// `fetch = "periods"`: the cache holds the records modified since this
    /// time (UTC, RFC 3339), and no others; absent: every record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<String>,
    /// Rows in the file.
    pub records: u64,
    /// Bytes in the file.
    pub bytes: u64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
}

/// Who a cache must belong to, and what it must hold.
#[derive(Debug, Clone)]
pub struct Expect<'a> {
    /// `hubspot`.
    pub vendor: &'a str,
    /// The API base.
    pub origin: &'a str,
    /// The source id.
    pub source: &'a str,
    /// The account the token reaches.
    pub account: &'a str,
    /// The fields the metrics need now.
    pub fields: &'a [String],
}

/// Whether a cache can be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Nothing cached yet.
    Empty,
    /// Trusted: fetch what changed since it was synced.
    Usable(Box<Meta>),
    /// Not trusted, and why: fetch everything.
    Rebuild(String),
}

/// One object's cache file.
#[derive(Debug, Clone)]
pub struct Object {
    /// The NDJSON file.
    pub data: PathBuf,
    meta: PathBuf,
    /// The field holding each row's id.
    id_field: String,
}

impl Object {
    /// The cache of `object` in `dir`, whose rows carry their id in `id_field`.
    pub fn new(dir: &Path, object: &str, id_field: &str) -> Object {
        Object {
            data: dir.join(format!("{object}.ndjson")),
            meta: dir.join(format!("{object}.meta.json")),
            id_field: id_field.to_string(),
        }
    }

    /// Whether the cache can be trusted for `expect`; reads and checksums it.
    pub fn state(&self, expect: &Expect<'_>) -> State {
        if !self.meta.exists() && !self.data.exists() {
            return State::Empty;
        }
        let meta: Meta = match std::fs::read(&self.meta)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
        {
            Some(m) => m,
            None => return State::Rebuild("its description is missing or unreadable".into()),
        };
        if meta.format != FORMAT {
            return State::Rebuild(format!(
                "it was written in layout {} (this revalign writes {FORMAT})",
                meta.format
            ));
        }
        if meta.vendor != expect.vendor
            || meta.origin != expect.origin
            || meta.source != expect.source
        {
            return State::Rebuild(format!(
                "it holds records of {} at {} for source `{}`",
                meta.vendor, meta.origin, meta.source
            ));
        }
        if meta.account != expect.account {
            return State::Rebuild(format!(
                "it holds records of account {}, and the credentials now reach account {}",
                meta.account, expect.account
            ));
        }
        if let Some(f) = expect.fields.iter().find(|f| !meta.fields.contains(f)) {
            return State::Rebuild(format!("the metrics now need `{f}`, which it lacks"));
        }
        if meta.synced_at.parse::<jiff::Timestamp>().is_err()
            || meta.full_at.parse::<jiff::Timestamp>().is_err()
        {
            return State::Rebuild("its sync time is unreadable".into());
        }
        match digest(&self.data) {
            Ok((bytes, sha)) if bytes == meta.bytes && sha == meta.sha256 => {
                State::Usable(Box::new(meta))
            }
            Ok(_) => {
                State::Rebuild("its records differ from what was written (size or checksum)".into())
            }
            Err(_) => State::Rebuild("its records file is missing or unreadable".into()),
        }
    }

    /// Starts writing every record afresh.
    pub fn writer(&self) -> Result<Writer, SourceError> {
        Writer::new(self)
    }

    /// Rewrites the cache with `changed` rows replacing (or adding to) the
    /// cached ones of the same id and the `removed` ids dropped (a record
    /// both changed and removed is removed: deleted between the two
    /// requests); one pass over the file, which stays sorted by id. A
    /// changed row with no value in a `lasting` column takes the cached one
    /// (see [`Writer::carry`]). Returns the description and how many cached rows
    /// were dropped.
    pub fn merge(
        &self,
        mut changed: BTreeMap<Key, Value>,
        removed: &BTreeSet<Key>,
        lasting: &[String],
        meta: Meta,
        old: &Meta,
    ) -> Result<(Meta, u64), SourceError> {
        changed.retain(|k, _| !removed.contains(k));
        if changed.is_empty() && removed.is_empty() {
            // Nothing to rewrite: the records stay, the sync time moves.
            let meta = Meta {
                records: old.records,
                bytes: old.bytes,
                sha256: old.sha256.clone(),
                ..meta
            };
            self.write_meta(&meta)?;
            return Ok((meta, 0));
        }
        let file = std::fs::File::open(&self.data).map_err(|e| write_error(&self.data, &e))?;
        let mut out = self.writer()?;
        let mut changed = changed.into_iter().peekable();
        let mut dropped = 0u64;
        for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| write_error(&self.data, &e))?;
            // Only the id is read; the row is copied as it is.
            let key = Key(row_id(&line, &self.id_field).ok_or_else(|| {
                SourceError::new(
                    format!(
                        "the cache `{}` line {} is not a record with `{}`",
                        self.data.display(),
                        n + 1,
                        self.id_field
                    ),
                    "run with --refresh to fetch every record again",
                )
            })?);
            while let Some((k, _)) = changed.peek()
                && *k < key
            {
                if let Some((k, v)) = changed.next() {
                    out.push(&k, &v)?;
                }
            }
            if let Some((k, v)) = changed.peek_mut()
                && *k == key
            {
                if !lasting.is_empty()
                    && let Ok(was) = serde_json::from_str::<Value>(&line)
                {
                    keep(v, &was, lasting);
                }
                continue;
            }
            if removed.contains(&key) {
                dropped += 1;
            } else {
                out.push_line(&key, &line)?;
            }
        }
        for (k, v) in changed {
            out.push(&k, &v)?;
        }
        Ok((out.finish(meta)?, dropped))
    }

    /// The `lasting` columns of the rows of this cache, by id, when it is
    /// whole and holds `expect`'s records (whatever its fields): what a
    /// fetch of every record carries over ([`Writer::carry`]).
    pub fn lasting(&self, expect: &Expect<'_>, lasting: &[String]) -> HashMap<String, Value> {
        let mut out = HashMap::new();
        if lasting.is_empty() {
            return out;
        }
        let any = Expect {
            fields: &[],
            ..expect.clone()
        };
        let State::Usable(_) = self.state(&any) else {
            return out;
        };
        let Ok(file) = std::fs::File::open(&self.data) else {
            return out;
        };
        for line in std::io::BufReader::new(file).lines().map_while(Result::ok) {
            let Ok(row) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            let id = id_of(&row, &self.id_field);
            let kept: serde_json::Map<String, Value> = lasting
                .iter()
                .filter(|c| !row[c.as_str()].is_null())
                .map(|c| (c.clone(), row[c.as_str()].clone()))
                .collect();
            if !kept.is_empty() {
                out.insert(id, Value::Object(kept));
            }
        }
        out
    }

    /// Writes the description beside its place and renames it in.
    fn write_meta(&self, meta: &Meta) -> Result<(), SourceError> {
        let partial = self.meta.with_extension("json.partial");
        let text = serde_json::to_vec_pretty(meta).map_err(|e| write_error(&partial, &e.into()))?;
        std::fs::write(&partial, text).map_err(|e| write_error(&partial, &e))?;
        std::fs::rename(&partial, &self.meta).map_err(|e| write_error(&self.meta, &e))
    }
}

/// The id of a cached row, read without building the row: every other
/// value is skipped. `None` when the line is not a JSON object.
fn row_id(line: &str, field: &str) -> Option<String> {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
    struct IdOf<'f>(&'f str);
    /// Whether a key is the id field, without allocating it.
    struct IsField<'f>(&'f str);
    impl<'de> DeserializeSeed<'de> for IsField<'_> {
        type Value = bool;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            d.deserialize_str(self)
        }
    }
    impl Visitor<'_> for IsField<'_> {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a property name")
        }
        fn visit_str<E>(self, v: &str) -> Result<bool, E> {
            Ok(v == self.0)
        }
    }
    impl<'de> Visitor<'de> for IdOf<'_> {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a record")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
            let mut id = None;
            while let Some(is_id) = map.next_key_seed(IsField(self.0))? {
                if is_id {
                    id = Some(map.next_value::<Value>()?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(id.map(|v| id_text(&v)))
        }
    }
    let mut de = serde_json::Deserializer::from_str(line);
    let id = (&mut de).deserialize_map(IdOf(field)).ok()??;
    de.end().ok()?;
    Some(id)
}

/// A row's id as text (numbers written as they are).
pub fn id_of(row: &Value, field: &str) -> String {
    id_text(&row[field])
}

fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        v => v.to_string(),
    }
}

/// Size and SHA-256 of a file.
fn digest(path: &Path) -> std::io::Result<(u64, String)> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((bytes, hex(&hasher.finalize())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn write_error(path: &Path, e: &std::io::Error) -> SourceError {
    SourceError::new(
        format!("cannot write the cache `{}`: {e}", path.display()),
        "make the alignment directory writable (the cache is .revalign/cache/ in it)",
    )
}

/// Writes a cache file beside its place, renamed in when whole.
#[derive(Debug)]
pub struct Writer {
    object: Object,
    partial: PathBuf,
    file: Option<std::io::BufWriter<std::fs::File>>,
    hasher: Sha256,
    /// Renamed into place: nothing to clean up.
    finished: bool,
    records: u64,
    bytes: u64,
    last: Option<Key>,
    /// Rows came out of id order: sorted when finished.
    unsorted: bool,
    /// Values carried over from an earlier cache, by id.
    carried: HashMap<String, Value>,
}

impl Writer {
    fn new(object: &Object) -> Result<Writer, SourceError> {
        if let Some(dir) = object.data.parent() {
            std::fs::create_dir_all(dir).map_err(|e| write_error(dir, &e))?;
            ignore_in_git(dir)?;
        }
        let partial = object.data.with_extension("ndjson.partial");
        let file = std::fs::File::create(&partial).map_err(|e| write_error(&partial, &e))?;
        Ok(Writer {
            object: object.clone(),
            partial,
            file: Some(std::io::BufWriter::new(file)),
            hasher: Sha256::new(),
            finished: false,
            records: 0,
            bytes: 0,
            last: None,
            unsorted: false,
            carried: HashMap::new(),
        })
    }

    /// Rows pushed from now on take these values of an earlier cache (id ->
    /// columns and values) where the API gives none: values it may no
    /// longer have (Salesforce's field history past its retention).
    pub fn carry(&mut self, earlier: HashMap<String, Value>) {
        self.carried = earlier;
    }

    /// Adds a row whose id is `id`.
    pub fn push(&mut self, id: &Key, row: &Value) -> Result<(), SourceError> {
        let kept;
        let row = match self.carried.get(&id.0) {
            Some(was) => {
                let mut r = row.clone();
                let columns: Vec<String> = was
                    .as_object()
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default();
                keep(&mut r, was, &columns);
                kept = r;
                &kept
            }
            None => row,
        };
        let line = serde_json::to_string(row).map_err(|e| write_error(&self.partial, &e.into()))?;
        self.push_line(id, &line)
    }

    /// Adds a row already written as a line of JSON (without its newline).
    pub fn push_line(&mut self, id: &Key, line: &str) -> Result<(), SourceError> {
        if self.last.as_ref().is_some_and(|l| id <= l) {
            self.unsorted = true;
        }
        self.last = Some(id.clone());
        self.write(line.as_bytes())
    }

    fn write(&mut self, line: &[u8]) -> Result<(), SourceError> {
        self.hasher.update(line);
        self.hasher.update(b"\n");
        self.bytes += line.len() as u64 + 1;
        self.records += 1;
        match &mut self.file {
            Some(f) => f
                .write_all(line)
                .and_then(|()| f.write_all(b"\n"))
                .map_err(|e| write_error(&self.partial, &e)),
            None => Ok(()),
        }
    }

    /// Rows written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Sorts if needed (a repeated id is an error), renames the file into
    /// place and writes `meta` with the file's size and checksum.
    pub fn finish(mut self, mut meta: Meta) -> Result<Meta, SourceError> {
        if let Some(mut file) = self.file.take() {
            file.flush().map_err(|e| write_error(&self.partial, &e))?;
        }
        let sha = if self.unsorted {
            sort(&self.partial, &self.object.id_field)?
        } else {
            hex(&std::mem::take(&mut self.hasher).finalize())
        };
        meta.records = self.records;
        meta.bytes = self.bytes;
        meta.sha256 = sha;
        meta.format = FORMAT;
        let object = &self.object;
        std::fs::rename(&self.partial, &object.data).map_err(|e| write_error(&object.data, &e))?;
        self.finished = true;
        object.write_meta(&meta)?;
        Ok(meta)
    }
}

impl Drop for Writer {
    /// A fetch that failed leaves no partial file behind.
    fn drop(&mut self) {
        if !self.finished {
            self.file = None;
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

/// Fills the `lasting` columns `row` has no value in with the values `was`
/// has there.
fn keep(row: &mut Value, was: &Value, lasting: &[String]) {
    for c in lasting {
        let v = &was[c.as_str()];
        if !v.is_null() && row[c.as_str()].is_null() {
            row[c.as_str()] = v.clone();
        }
    }
}

/// Sorts a file of rows by id in place; a repeated id is an error (the API
/// served a record twice: a cursor that went back). Returns the SHA-256.
fn sort(path: &Path, id_field: &str) -> Result<String, SourceError> {
    let text = std::fs::read_to_string(path).map_err(|e| write_error(path, &e))?;
    let mut rows: Vec<(Key, &str)> = Vec::new();
    for line in text.lines() {
        let row: Value = serde_json::from_str(line).map_err(|e| write_error(path, &e.into()))?;
        rows.push((Key(id_of(&row, id_field)), line));
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = rows.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(SourceError::new(
            format!("record {} was served twice", w[0].0.0),
            "run again; a listing that repeats records cannot be trusted",
        ));
    }
    let mut out = String::with_capacity(text.len());
    for (_, line) in rows {
        out.push_str(line);
        out.push('\n');
    }
    std::fs::write(path, &out).map_err(|e| write_error(path, &e))?;
    let mut hasher = Sha256::new();
    hasher.update(out.as_bytes());
    Ok(hex(&hasher.finalize()))
}

/// `.revalign/.gitignore` with `*`, once: the cache folder ignores itself.
fn ignore_in_git(cache_dir: &Path) -> Result<(), SourceError> {
    let Some(root) = cache_dir.ancestors().find(|p| p.ends_with(".revalign")) else {
        return Ok(());
    };
    let ignore = root.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(&ignore, "# revalign's cache of CRM records\n*\n")
            .map_err(|e| write_error(&ignore, &e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expect<'a>(fields: &'a [String]) -> Expect<'a> {
        Expect {
            vendor: "hubspot",
            origin: "https://api.hubapi.com",
            source: "crm",
            account: "1234",
            fields,
        }
    }

    fn meta(fields: &[String]) -> Meta {
        Meta {
            format: FORMAT,
            vendor: "hubspot".into(),
            origin: "https://api.hubapi.com".into(),
            source: "crm".into(),
            account: "1234".into(),
            object: "contacts".into(),
            fields: fields.to_vec(),
            synced_at: "2026-11-01T00:00:00Z".into(),
            full_at: "2026-11-01T00:00:00Z".into(),
            floor: None,
            records: 0,
            bytes: 0,
            sha256: String::new(),
        }
    }

    fn rows(o: &Object) -> Vec<String> {
        std::fs::read_to_string(&o.data)
            .expect("data")
            .lines()
            .map(String::from)
            .collect()
    }

    #[test]
    fn ids_order_as_numbers_when_both_are_digits() {
        let k = |s: &str| Key(s.into());
        assert!(k("9") < k("10"));
        assert!(k("010") == k("010"));
        assert!(k("0010").cmp(&k("10")) == Ordering::Equal);
        assert!(k("00Q5") < k("00Q6"));
        assert!(k("10") < k("9a"));
    }

    #[test]
    fn written_merged_checked_and_rebuilt_when_not_trusted() {
        let dir = tempfile::tempdir().expect("tmp");
        let cache = dir.path().join(".revalign/cache/crm");
        let o = Object::new(&cache, "contacts", "hs_object_id");
        let fields = vec!["createdate".to_string()];
        assert_eq!(o.state(&expect(&fields)), State::Empty);

        // Out of order on the way in, sorted when finished.
        let mut w = o.writer().expect("writer");
        for id in ["10", "2", "33", "4"] {
            w.push(
                &Key(id.into()),
                &json!({"hs_object_id": id, "createdate": "t"}),
            )
            .expect("push");
        }
        let m = w.finish(meta(&fields)).expect("finish");
        assert_eq!(m.records, 4);
        let ids: Vec<String> = rows(&o)
            .iter()
            .map(|l| id_of(&serde_json::from_str(l).expect("json"), "hs_object_id"))
            .collect();
        assert_eq!(ids, ["2", "4", "10", "33"]);
        assert_eq!(
            o.state(&expect(&fields)),
            State::Usable(Box::new(m.clone()))
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".revalign/.gitignore"))
                .expect("ignore")
                .lines()
                .last(),
            Some("*")
        );

        // Merge: 4 changed, 5 and 40 added, 10 removed.
        let mut changed = BTreeMap::new();
        for (id, v) in [("40", "new"), ("4", "changed"), ("5", "new")] {
            changed.insert(Key(id.into()), json!({"hs_object_id": id, "createdate": v}));
        }
        // 33 is changed and removed both: removed.
        changed.insert(
            Key("33".into()),
            json!({"hs_object_id": "33", "createdate": "x"}),
        );
        let removed = BTreeSet::from([Key("10".into()), Key("33".into()), Key("99".into())]);
        let (m2, dropped) = o
            .merge(changed, &removed, &[], m.clone(), &m)
            .expect("merge");
        assert_eq!(dropped, 2);
        assert_eq!(
            rows(&o),
            [
                r#"{"createdate":"t","hs_object_id":"2"}"#,
                r#"{"createdate":"changed","hs_object_id":"4"}"#,
                r#"{"createdate":"new","hs_object_id":"5"}"#,
                r#"{"createdate":"new","hs_object_id":"40"}"#,
            ]
        );
        assert_eq!(m2.records, 4);
        assert_eq!(
            o.state(&expect(&fields)),
            State::Usable(Box::new(m2.clone()))
        );
        // Nothing changed: the records stay as they are, the sync time moves.
        let later = Meta {
            synced_at: "2026-11-02T00:00:00Z".into(),
            ..m2.clone()
        };
        let (m3, _) = o
            .merge(BTreeMap::new(), &BTreeSet::new(), &[], later, &m2)
            .expect("merge nothing");
        assert_eq!((m3.sha256.as_str(), m3.records), (m2.sha256.as_str(), 4));
        assert_eq!(
            o.state(&expect(&fields)),
            State::Usable(Box::new(m3.clone()))
        );

        // Lasting columns (`createdate` here) keep their cached values over
        // what the API gives now, in a merge and in a fetch of everything;
        // a value the cache lacks comes from the API.
        let lasting = ["createdate".to_string()];
        let changed = BTreeMap::from([
            (
                Key("4".into()),
                json!({"hs_object_id": "4", "createdate": null}),
            ),
            (
                Key("5".into()),
                json!({"hs_object_id": "5", "createdate": "api"}),
            ),
            (
                Key("7".into()),
                json!({"hs_object_id": "7", "createdate": "api"}),
            ),
        ]);
        let (m4, _) = o
            .merge(changed, &BTreeSet::new(), &lasting, m3.clone(), &m3)
            .expect("merge lasting");
        assert_eq!(
            rows(&o)[1..3],
            [
                r#"{"createdate":"changed","hs_object_id":"4"}"#,
                r#"{"createdate":"api","hs_object_id":"5"}"#,
            ]
        );
        assert_eq!(rows(&o)[3], r#"{"createdate":"api","hs_object_id":"7"}"#);
        let earlier = o.lasting(&expect(&fields), &lasting);
        assert_eq!(earlier.len(), 5);
        let mut w = o.writer().expect("writer");
        w.carry(earlier);
        for (id, v) in [("2", None), ("4", None), ("5", Some("later")), ("8", None)] {
            w.push(
                &Key(id.into()),
                &json!({"hs_object_id": id, "createdate": v}),
            )
            .expect("push");
        }
        w.finish(m4).expect("finish");
        assert_eq!(
            rows(&o),
            [
                r#"{"createdate":"t","hs_object_id":"2"}"#,
                r#"{"createdate":"changed","hs_object_id":"4"}"#,
                r#"{"createdate":"later","hs_object_id":"5"}"#,
                r#"{"createdate":null,"hs_object_id":"8"}"#,
            ]
        );
        // Another account's cache carries nothing.
        let other = Expect {
            account: "9999",
            ..expect(&fields)
        };
        assert!(o.lasting(&other, &lasting).is_empty());
        assert_eq!(
            row_id(
                r#"{"a":{"b":[1]},"hs_object_id":"7","z":null}"#,
                "hs_object_id"
            ),
            Some("7".into())
        );
        assert_eq!(
            row_id(r#"{"hs_object_id":7}"#, "hs_object_id"),
            Some("7".into())
        );
        assert_eq!(row_id(r#"{"hs_object_id":"7"} x"#, "hs_object_id"), None);
        assert_eq!(row_id("[1]", "hs_object_id"), None);

        // Not trusted: more fields needed, another origin, an edited file,
        // a torn description.
        let more = vec!["createdate".to_string(), "hs_lead_status".to_string()];
        assert!(
            matches!(o.state(&expect(&more)), State::Rebuild(r) if r.contains("hs_lead_status"))
        );
        let mut other = expect(&fields);
        other.origin = "https://api-eu1.hubapi.com";
        assert!(matches!(o.state(&other), State::Rebuild(r) if r.contains("api.hubapi.com")));
        let mut other = expect(&fields);
        other.account = "5678";
        assert!(matches!(o.state(&other), State::Rebuild(r) if r.contains("account 1234")));
        let text = std::fs::read_to_string(&o.data).expect("data");
        std::fs::write(&o.data, text.replace("changed", "chang3d")).expect("edit");
        assert!(matches!(o.state(&expect(&fields)), State::Rebuild(r) if r.contains("checksum")));
        std::fs::write(&o.meta, "{\"format\":").expect("tear");
        assert!(matches!(o.state(&expect(&fields)), State::Rebuild(r) if r.contains("unreadable")));

        // A record served twice cannot be sorted into a cache.
        let mut w = o.writer().expect("writer");
        for id in ["3", "1", "3"] {
            w.push(&Key(id.into()), &json!({"hs_object_id": id}))
                .expect("push");
        }
        let e = w.finish(meta(&fields)).expect_err("twice");
        assert!(e.message.contains("record 3 was served twice"), "{e:?}");
    }
}
