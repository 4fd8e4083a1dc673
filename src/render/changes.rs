//! Semantic changes (diff and history) as human text, markdown for a pull-request
//! comment, JSON and CSV.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::diff::{Change, Class, EntityKind, counts};
use crate::git::{CommitInfo, History};

/// GitHub's limit on a comment's length, in characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

/// A value as a short text: strings bare, lists joined, tables inline.
pub fn value_text(v: &Option<Value>) -> String {
    match v {
        None => "(none)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        Some(v) => inline(v),
    }
}

/// A JSON value written the way it would be in TOML, on one line.
fn inline(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k} = {}", inline(v)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(inline).collect::<Vec<_>>().join(", ")),
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

/// One line about a whole entity that was added or removed.
fn entity_summary(v: &Option<Value>) -> String {
    let Some(Value::Object(m)) = v else {
        return String::new();
    };
    let s = |k: &str| m.get(k).and_then(Value::as_str);
    let mut parts = Vec::new();
    if let Some(t) = s("title").or(s("name")).or(s("description")) {
        let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
        let t = match t.char_indices().nth(80) {
            Some((i, _)) => format!("{}…", &t[..i]),
            None => t,
        };
        parts.push(format!("\"{t}\""));
    }
    if let Some(metric) = s("metric") {
        parts.push(format!("metric {metric}"));
    }
    if let Some(t) = s("target") {
        parts.push(format!("target {t}"));
    }
    parts.join(", ")
}

/// A change in words: `added: ...`, `target: >= 600 → >= 700`.
pub fn describe(c: &Change) -> String {
    let with = |word: &str, v: &Option<Value>| match entity_summary(v) {
        s if s.is_empty() => word.to_string(),
        s => format!("{word}: {s}"),
    };
    match (&c.field, &c.old, &c.new) {
        (None, None, new) => with("added", new),
        (None, old, None) => with("removed", old),
        (None, ..) => "changed".into(),
        (Some(f), old, new) => format!("{f}: {} → {}", value_text(old), value_text(new)),
    }
}

fn paint(text: &str, class: Class, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    let code = match class {
        Class::Breaking => "1;31",
        Class::Tightened => "32",
        Class::Loosened => "33",
        Class::Ownership => "35",
        Class::Added => "36",
        Class::Removed => "31",
        Class::Changed => "0",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// `+` added, `-` removed, `~` changed.
pub fn sign(c: &Change) -> char {
    match (&c.old, &c.new, &c.field) {
        (None, Some(_), None) => '+',
        (Some(_), None, None) => '-',
        _ => '~',
    }
}

/// The summary line: `5 changes: 1 breaking, 2 tightened, ...`.
pub fn summary(changes: &[Change]) -> String {
    if changes.is_empty() {
        return "no changes to the agreement".into();
    }
    let counts = counts(changes);
    let parts: Vec<String> = Class::ALL
        .iter()
        .filter_map(|c| counts.get(c).map(|n| format!("{n} {}", c.as_str())))
        .collect();
    format!(
        "{} {}: {}",
        changes.len(),
        if changes.len() == 1 {
            "change"
        } else {
            "changes"
        },
        parts.join(", ")
    )
}

fn grouped(changes: &[Change]) -> BTreeMap<EntityKind, Vec<&Change>> {
    let mut m: BTreeMap<EntityKind, Vec<&Change>> = BTreeMap::new();
    for c in changes {
        m.entry(c.kind).or_default().push(c);
    }
    m
}

/// Changes for a person, grouped by kind of entity.
pub fn human(changes: &[Change], warnings: &[String], color: bool, indent: &str) -> String {
    let mut out = String::new();
    for w in warnings {
        out.push_str(&format!("{indent}warning: {w}\n"));
    }
    for (kind, list) in grouped(changes) {
        out.push_str(&format!("{indent}{}\n", kind.plural()));
        // A whole new set (the first commit of an alignment): one line, not fifty.
        if list.len() > 5
            && list
                .iter()
                .all(|c| c.class == Class::Added && c.field.is_none())
        {
            let ids: Vec<&str> = list.iter().map(|c| c.id.as_str()).collect();
            let tag = paint("[added]", Class::Added, color);
            out.push_str(&format!(
                "{indent}  + {} added: {}  {tag}\n",
                list.len(),
                ids.join(", ")
            ));
            continue;
        }
        for c in list {
            let tag = paint(&format!("[{}]", c.class.as_str()), c.class, color);
            out.push_str(&format!(
                "{indent}  {} {} {}  {tag}\n",
                sign(c),
                c.id,
                describe(c)
            ));
            if let Some(note) = &c.note {
                out.push_str(&format!("{indent}      {note}\n"));
            }
        }
    }
    out
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The class with its emoji, for markdown.
pub fn mark(class: Class) -> &'static str {
    match class {
        Class::Breaking => "⛔ **breaking**",
        Class::Tightened => "🔒 **tightened**",
        Class::Loosened => "⚠️ **loosened**",
        Class::Ownership => "👥 ownership",
        Class::Added => "➕ added",
        Class::Removed => "➖ removed",
        Class::Changed => "✏️ changed",
    }
}

/// Markdown for a pull-request comment: a summary line, a table per kind of
/// entity, notes in a collapsible section; cut to stay under GitHub's comment
/// limit, with a note saying so.
pub fn markdown(changes: &[Change], warnings: &[String], title: &str) -> String {
    let budget = GITHUB_COMMENT_LIMIT - 600;
    let mut out = format!("### {title}\n\n**{}**\n\n", summary(changes));
    let mut shown = 0;
    'kinds: for (kind, list) in grouped(changes) {
        let head = format!(
            "#### {}\n\n| | id | change | |\n|---|---|---|---|\n",
            kind.plural()
        );
        if out.len() + head.len() > budget {
            break;
        }
        out.push_str(&head);
        let mut notes = String::new();
        for c in list {
            let row = format!(
                "| {} | `{}` | {} | {} |\n",
                sign(c),
                md_escape(&c.id),
                md_escape(&describe(c)),
                mark(c.class)
            );
            if out.len() + row.len() + notes.len() + 400 > budget {
                if !notes.is_empty() {
                    out.push_str(&format!(
                        "\n<details><summary>Why</summary>\n\n{notes}\n</details>\n"
                    ));
                }
                break 'kinds;
            }
            out.push_str(&row);
            shown += 1;
            if let Some(n) = &c.note {
                let n: String = if n.chars().count() > 300 {
                    format!("{}…", n.chars().take(300).collect::<String>())
                } else {
                    n.clone()
                };
                notes.push_str(&format!(
                    "- `{}`{}: {}\n",
                    c.id,
                    c.field
                        .as_deref()
                        .map(|f| format!(" {f}"))
                        .unwrap_or_default(),
                    md_escape(&n)
                ));
            }
        }
        if !notes.is_empty() {
            out.push_str(&format!(
                "\n<details><summary>Why</summary>\n\n{notes}\n</details>\n"
            ));
        }
        out.push('\n');
    }
    if shown < changes.len() {
        out.push_str(&format!(
            "\n> {} more changes are not shown: the comment would pass GitHub's {GITHUB_COMMENT_LIMIT}-character limit. Run `revalign diff` for all of them.\n",
            changes.len() - shown
        ));
    }
    if out.len() > GITHUB_COMMENT_LIMIT - 200 {
        // A backstop: never hand GitHub a comment it would refuse.
        let mut cut = GITHUB_COMMENT_LIMIT - 200;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("\n\n> Cut at GitHub's comment limit. Run `revalign diff` for everything.\n");
    }
    if !warnings.is_empty() {
        out.push_str("\n<details><summary>Files that could not be read</summary>\n\n");
        for w in warnings {
            let line = format!("- {}\n", md_escape(w));
            if out.len() + line.len() > GITHUB_COMMENT_LIMIT - 100 {
                break;
            }
            out.push_str(&line);
        }
        out.push_str("\n</details>\n");
    }
    out
}

/// The diff as one JSON document.
pub fn diff_json(changes: &[Change], warnings: &[String], base: &Value, head: &Value) -> String {
    let counts: BTreeMap<&str, usize> = counts(changes)
        .into_iter()
        .map(|(c, n)| (c.as_str(), n))
        .collect();
    let doc = json!({
        "version": 1,
        "base": base,
        "head": head,
        "summary": counts,
        "changes": changes,
        "warnings": warnings,
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

fn commit_line(c: &CommitInfo) -> String {
    let pr = c
        .pull_request
        .map(|n| format!(" (PR #{n})"))
        .unwrap_or_default();
    format!(
        "{} {} {} <{}>{pr}\n    {}\n",
        c.short, c.date, c.author, c.email, c.subject
    )
}

/// The audit log for a person.
pub fn history_human(h: &History, color: bool) -> String {
    let mut out = String::new();
    for e in &h.entries {
        out.push_str(&commit_line(&e.commit));
        out.push_str(&human(&e.changes, &e.warnings, color, "    "));
        out.push('\n');
    }
    if h.entries.is_empty() {
        out.push_str("no commit changed the agreement\n");
    }
    if let Some(b) = &h.shallow_boundary {
        out.push_str(&format!(
            "history stops at {}: this is a shallow clone; `git fetch --unshallow` (or fetch-depth: 0) for all of it\n",
            &b[..7.min(b.len())]
        ));
    }
    out
}

/// The audit log as markdown.
pub fn history_markdown(h: &History) -> String {
    let mut out = String::from("## Changes to the agreement\n\n");
    for e in &h.entries {
        let c = &e.commit;
        let pr = c
            .pull_request
            .map(|n| format!(" · #{n}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "### `{}` {} · {}{pr}\n\n{} · **{}**\n\n| | entity | id | change | |\n|---|---|---|---|---|\n",
            c.short,
            md_escape(&c.subject),
            c.date,
            md_escape(&c.author),
            summary(&e.changes)
        ));
        for ch in &e.changes {
            out.push_str(&format!(
                "| {} | {} | `{}` | {} | {} |\n",
                sign(ch),
                ch.kind.as_str(),
                md_escape(&ch.id),
                md_escape(&describe(ch)),
                mark(ch.class)
            ));
        }
        for w in &e.warnings {
            out.push_str(&format!("\n> warning: {}\n", md_escape(w)));
        }
        out.push('\n');
    }
    if let Some(b) = &h.shallow_boundary {
        out.push_str(&format!(
            "> History stops at `{}`: shallow clone.\n",
            &b[..7.min(b.len())]
        ));
    }
    out
}

/// The audit log as JSON.
pub fn history_json(h: &History) -> String {
    let mut s =
        serde_json::to_string_pretty(&json!({ "version": 1, "history": h })).unwrap_or_default();
    s.push('\n');
    s
}

/// A CSV cell a spreadsheet will not evaluate.
fn inert(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// The audit log as CSV: one row per change, and one per warning (a file that
/// could not be read at that commit: `kind` is `warning`, the message in
/// `note`), so a commit that only broke a file is in the log too. Cells that a
/// spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab
/// or a carriage return, like the target `+5%`) are prefixed with `'`, as
/// OWASP advises for CSV injection.
pub fn history_csv(h: &History) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "commit",
        "date",
        "author",
        "email",
        "pull_request",
        "subject",
        "kind",
        "id",
        "field",
        "old",
        "new",
        "class",
        "note",
    ]);
    let text = |v: &Option<serde_json::Value>| {
        v.as_ref()
            .map(|v| value_text(&Some(v.clone())))
            .unwrap_or_default()
    };
    for e in &h.entries {
        let c = &e.commit;
        let commit = [
            c.id.clone(),
            c.date.clone(),
            c.author.clone(),
            c.email.clone(),
            c.pull_request.map(|n| n.to_string()).unwrap_or_default(),
            c.subject.clone(),
        ];
        let rows = e
            .changes
            .iter()
            .map(|ch| {
                [
                    ch.kind.as_str().to_string(),
                    ch.id.clone(),
                    ch.field.clone().unwrap_or_default(),
                    text(&ch.old),
                    text(&ch.new),
                    ch.class.as_str().to_string(),
                    ch.note.clone().unwrap_or_default(),
                ]
            })
            .chain(e.warnings.iter().map(|warning| {
                let mut row: [String; 7] = Default::default();
                row[0] = "warning".into();
                row[6] = warning.clone();
                row
            }));
        for row in rows {
            let _ = w.write_record(
                commit
                    .iter()
                    .chain(&row)
                    .map(|cell| inert(cell).into_owned()),
            );
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
