//! The bridge between TOML with spans and JSON: converting parsed TOML to JSON for
//! schema validation, and walking a JSON pointer back to the TOML span it names.

use std::collections::HashMap;
use std::ops::Range;

use serde_json::{Map, Number, Value};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Converts a parsed TOML table to JSON. Datetimes become their TOML text
/// (`2026-01-01`); integers that do not fit and non-finite floats become strings,
/// so the schema reports them as wrong types.
pub fn table_to_json(table: &DeTable<'_>) -> Value {
    let mut map = Map::new();
    for (k, v) in table.iter() {
        map.insert(k.get_ref().to_string(), to_json(v.get_ref()));
    }
    Value::Object(map)
}

fn to_json(value: &DeValue<'_>) -> Value {
    match value {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Integer(i) => {
            let digits: String = i.as_str().chars().filter(|c| *c != '_').collect();
            let (sign, body) = match digits.strip_prefix('-') {
                Some(b) => (-1i128, b.to_string()),
                None => (1, digits.trim_start_matches('+').to_string()),
            };
            let body = body.trim_start_matches('0');
            let body = if body.is_empty() { "0" } else { body };
            match i128::from_str_radix(body, i.radix()) {
                Ok(n) => match i64::try_from(sign * n) {
                    Ok(n) => Value::Number(n.into()),
                    Err(_) => Value::String(i.as_str().to_string()),
                },
                Err(_) => Value::String(i.as_str().to_string()),
            }
        }
        DeValue::Float(f) => {
            let text: String = f.as_str().chars().filter(|c| *c != '_').collect();
            text.parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map_or_else(|| Value::String(text), Value::Number)
        }
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(d) => Value::String(d.to_string()),
        DeValue::Array(a) => Value::Array(a.iter().map(|v| to_json(v.get_ref())).collect()),
        DeValue::Table(t) => table_to_json(t),
    }
}

/// Splits an RFC 6901 pointer into unescaped tokens.
pub fn pointer_tokens(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Every pointer of a parsed file with the spans of its key and its value, so
/// findings can be placed after the parse tree is gone.
#[derive(Debug, Default, Clone)]
pub struct SpanIndex {
    spans: HashMap<String, (Option<Range<usize>>, Range<usize>)>,
}

impl SpanIndex {
    /// Indexes a parsed file.
    pub fn new(root: &Spanned<DeTable<'_>>) -> SpanIndex {
        let mut index = SpanIndex::default();
        index.spans.insert(String::new(), (None, root.span()));
        index.table(root.get_ref(), "");
        index
    }

    fn table(&mut self, table: &DeTable<'_>, prefix: &str) {
        for (k, v) in table.iter() {
            let pointer = format!("{prefix}/{}", crate::model::file::escape_token(k.get_ref()));
            self.value(v, &pointer, Some(k.span()));
        }
    }

    fn value(&mut self, v: &Spanned<DeValue<'_>>, pointer: &str, key: Option<Range<usize>>) {
        self.spans
            .insert(pointer.to_string(), (key.clone(), v.span()));
        match v.get_ref() {
            DeValue::Table(t) => self.table(t, pointer),
            DeValue::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    self.value(item, &format!("{pointer}/{i}"), key.clone());
                }
            }
            _ => {}
        }
    }

    /// The span named by a JSON pointer: of the value, or with `key` of the key that
    /// holds it (the key of an array item is its array's key). The longest prefix
    /// that exists is used when the pointer goes further than the data, so a
    /// finding about a missing key lands on the table that lacks it.
    pub fn locate(&self, pointer: &str, key: bool) -> Range<usize> {
        let mut p = pointer;
        loop {
            if let Some((k, v)) = self.spans.get(p) {
                return match (key && p.len() == pointer.len(), k) {
                    (true, Some(k)) => k.clone(),
                    _ => v.clone(),
                };
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return 0..0,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span_text<'a>(text: &'a str, pointer: &str, key: bool) -> &'a str {
        let root = match DeTable::parse(text) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        &text[SpanIndex::new(&root).locate(pointer, key)]
    }

    const DOC: &str = r#"
title = "x"
point = { x = 1, y = [10, 20] }
a.b.c = "dotted"

[organization]
name = "Acme"

[[goal]]
id = "one"
target = ">= 4"

[[goal]]
id = "two"
owners = ["sales", "marketing"]

[goal.extra]
k = 1
"#;

    #[test]
    fn plain_keys_and_values() {
        assert_eq!(span_text(DOC, "/title", false), "\"x\"");
        assert_eq!(span_text(DOC, "/title", true), "title");
    }

    #[test]
    fn inline_tables_and_arrays() {
        assert_eq!(span_text(DOC, "/point/x", false), "1");
        assert_eq!(span_text(DOC, "/point/y/1", false), "20");
        assert_eq!(span_text(DOC, "/point/y/1", true), "y");
        assert_eq!(span_text(DOC, "/point", false), "{ x = 1, y = [10, 20] }");
    }

    #[test]
    fn dotted_keys() {
        assert_eq!(span_text(DOC, "/a/b/c", false), "\"dotted\"");
        assert_eq!(span_text(DOC, "/a/b/c", true), "c");
    }

    #[test]
    fn arrays_of_tables() {
        assert_eq!(span_text(DOC, "/goal/0/target", false), "\">= 4\"");
        assert_eq!(span_text(DOC, "/goal/1/id", false), "\"two\"");
        assert_eq!(span_text(DOC, "/goal/1/owners/1", false), "\"marketing\"");
        assert_eq!(span_text(DOC, "/goal/1/extra/k", true), "k");
    }

    #[test]
    fn missing_parts_land_on_the_nearest_parent() {
        assert_eq!(
            span_text(DOC, "/goal/0/nope", false),
            span_text(DOC, "/goal/0", false)
        );
        assert_eq!(span_text(DOC, "/title/deeper", false), "\"x\"");
    }

    #[test]
    fn escaped_pointer_tokens() {
        assert_eq!(pointer_tokens("/a~1b/c~0d"), vec!["a/b", "c~d"]);
        let text = "\"a/b\" = 1\n";
        assert_eq!(span_text(text, "/a~1b", true), "\"a/b\"");
    }

    #[test]
    fn converts_to_json() {
        let text = "i = 0x1F\nh = 0xb0\nf = 1.5\nd = 2026-01-01\nbig = 9_223_372_036_854_775_807\nn = -3\nnan = nan\n";
        let root = match DeTable::parse(text) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        let json = table_to_json(root.get_ref());
        assert_eq!(json["i"], 31);
        assert_eq!(json["h"], 176);
        assert_eq!(json["f"], 1.5);
        assert_eq!(json["d"], "2026-01-01");
        assert_eq!(json["big"], i64::MAX);
        assert_eq!(json["n"], -3);
        assert_eq!(json["nan"], "nan");
    }
}
