//! The JSON Schemas of the alignment files, generated from the model's types so
//! the two cannot drift apart. They use only draft-07 keywords, which editors
//! (taplo, Even Better TOML) understand.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::Value;

use crate::model::FileKind;
use crate::model::goal::{GoalsFile, SlaFile};
use crate::model::lead::LeadsFile;
use crate::model::manifest::ManifestFile;
use crate::model::metric::MetricsFile;

/// The base of the schemas' `$id`s.
pub const ID_BASE: &str = "https://revalign.dev/schemas/";

fn generate<T: JsonSchema>(kind: FileKind) -> Value {
    let schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<T>();
    let mut value = schema.to_value();
    drop_null(&mut value);
    consts_to_enum(&mut value);
    if let Value::Object(map) = &mut value {
        map.insert(
            "$id".into(),
            Value::String(format!("{ID_BASE}{}", kind.schema_file())),
        );
    }
    value
}

/// TOML has no null: optional keys are simply absent. Removes the `null`
/// alternatives schemars adds for `Option` fields, so editors and error
/// messages speak of the one type a key takes.
fn drop_null(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(any)) = map.get("anyOf") {
                let rest: Vec<Value> = any
                    .iter()
                    .filter(|s| s.get("type").and_then(Value::as_str) != Some("null"))
                    .cloned()
                    .collect();
                if rest.len() == 1 && any.len() == 2 {
                    map.remove("anyOf");
                    if let Value::Object(inner) = &rest[0] {
                        for (k, v) in inner {
                            map.entry(k.clone()).or_insert_with(|| v.clone());
                        }
                    }
                }
            }
            map.values_mut().for_each(drop_null);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null),
        _ => {}
    }
}

/// Enums with documented variants come out as `oneOf` a list of `const`s, which
/// validators report as "not valid under any of the schemas". Rewrites them as
/// one `enum`, keeping each value's documentation in the description.
fn consts_to_enum(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let consts: Option<Vec<(Value, Option<String>)>> = map
                .get("oneOf")
                .and_then(Value::as_array)
                .and_then(|items| {
                    items
                        .iter()
                        .map(|i| {
                            let c = i.get("const")?.clone();
                            let d = i
                                .get("description")
                                .and_then(Value::as_str)
                                .map(String::from);
                            Some((c, d))
                        })
                        .collect()
                });
            if let Some(consts) = consts {
                map.remove("oneOf");
                let mut description = map
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                for (c, d) in &consts {
                    if let (Some(c), Some(d)) = (c.as_str(), d) {
                        description.push_str(&format!("\n- `{c}`: {d}"));
                    }
                }
                map.insert("type".into(), Value::String("string".into()));
                map.insert(
                    "enum".into(),
                    Value::Array(consts.into_iter().map(|(c, _)| c).collect()),
                );
                map.insert(
                    "description".into(),
                    Value::String(description.trim().to_string()),
                );
            }
            map.values_mut().for_each(consts_to_enum);
        }
        Value::Array(items) => items.iter_mut().for_each(consts_to_enum),
        _ => {}
    }
}

/// The JSON Schema of one kind of file.
pub fn schema_for(kind: FileKind) -> Value {
    match kind {
        FileKind::Manifest => generate::<ManifestFile>(kind),
        FileKind::Metrics => generate::<MetricsFile>(kind),
        FileKind::Goals => generate::<GoalsFile>(kind),
        FileKind::Sla => generate::<SlaFile>(kind),
        FileKind::Leads => generate::<LeadsFile>(kind),
    }
}

/// The schema as the text written to `schemas/<kind>.schema.json`.
pub fn schema_text(kind: FileKind) -> String {
    let mut text = serde_json::to_string_pretty(&schema_for(kind)).unwrap_or_default();
    text.push('\n');
    text
}

/// Follows a schema keyword location (`/properties/goal/items/$ref/properties`)
/// through `$ref`s to the sub-schema it names.
pub fn resolve<'a>(root: &'a Value, keyword_path: &[&str]) -> Option<&'a Value> {
    let mut node = root;
    for token in keyword_path {
        node = if *token == "$ref" {
            let target = node.get("$ref")?.as_str()?;
            root.pointer(target.strip_prefix('#')?)?
        } else {
            match node {
                Value::Object(m) => m.get(*token)?,
                Value::Array(a) => a.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            }
        };
    }
    // A node that is itself only a reference stands for its target.
    while let Some(target) = node.get("$ref").and_then(Value::as_str) {
        node = root.pointer(target.strip_prefix('#')?)?;
    }
    Some(node)
}

fn type_of(root: &Value, node: &Value) -> String {
    if let Some([only]) = node
        .get("allOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        return type_of(root, only);
    }
    if let Some(target) = node.get("$ref").and_then(Value::as_str) {
        let name = target.rsplit('/').next().unwrap_or(target);
        let resolved = root.pointer(target.strip_prefix('#').unwrap_or(target));
        return match resolved
            .and_then(|r| r.get("enum"))
            .and_then(Value::as_array)
        {
            Some(values) => values
                .iter()
                .filter_map(Value::as_str)
                .map(|v| format!("`\"{v}\"`"))
                .collect::<Vec<_>>()
                .join(" \\| "),
            None => format!("[{name}](#{})", name.to_lowercase()),
        };
    }
    if let Some(values) = node.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .filter_map(Value::as_str)
            .map(|v| format!("`\"{v}\"`"))
            .collect::<Vec<_>>()
            .join(" \\| ");
    }
    match node.get("type").and_then(Value::as_str) {
        Some("array") => format!(
            "array of {}",
            node.get("items")
                .map_or("values".into(), |i| type_of(root, i))
        ),
        Some("object") => match node.get("additionalProperties") {
            Some(v) if v.is_object() => format!("table of {}", type_of(root, v)),
            _ => "table".into(),
        },
        Some("string") if node.get("format").is_some() => {
            format!("{} (string)", node["format"].as_str().unwrap_or_default())
        }
        Some(t) => t.to_string(),
        None if node.get("anyOf").is_some() => "string, number or boolean".into(),
        None => "any".into(),
    }
}

fn table(root: &Value, node: &Value, out: &mut String) {
    let Some(props) = node.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required: Vec<&str> = node
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    out.push_str("| key | type | required | description |\n|---|---|---|---|\n");
    for (key, prop) in props {
        if key.starts_with('$') {
            continue;
        }
        let description = prop
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .replace("\n- ", "<br>• ")
            .replace('\n', " ")
            .replace('|', "\\|");
        out.push_str(&format!(
            "| `{key}` | {} | {} | {description} |\n",
            type_of(root, prop),
            if required.contains(&key.as_str()) {
                "yes"
            } else {
                "no"
            },
        ));
    }
    out.push('\n');
}

/// The reference page of the file format (`docs/format.md`), generated from the
/// same schemas, so the documentation cannot drift from the code either.
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "# The alignment file format\n\n\
         <!-- Generated from the Rust types by `REVALIGN_BLESS=1 cargo test`; do not edit by hand. -->\n\n\
         An alignment directory holds `revalign.toml` (the manifest) and any number of \
         `metrics`, `goals`, `sla` and `leads` files: `<kind>.toml`, or any `.toml` file \
         under a folder named after the kind (`goals/fy2026.toml`). Entities are \
         identified by id across files, so moving one to another file changes nothing. \
         The JSON Schema of each kind is in `schemas/<kind>.schema.json` \
         (`revalign schema --out schemas` writes them); a first line \
         `#:schema ../schemas/goals.schema.json` makes editors that use taplo \
         (Even Better TOML) check the file while you type.\n\n\
         Targets are a comparison and a value in the metric's unit: `>= 400`, `>= 1.2M`, \
         `>= 95%`, `<= 24h`; or a change against the previous period: `+5%`, `-10%`, \
         `>= -5%`. Durations are `30s`, `5m`, `24h`, `7d`, `2w` or combinations like \
         `1h 30m` (days are 24 hours). Predicates are `{ field = \"segment\", eq = \"smb\" }` \
         (operators `eq`, `ne`, `in`, `not_in`, `gt`, `gte`, `lt`, `lte`, `exists`) combined \
         with `{ all = [...] }`, `{ any = [...] }` and `{ not = {...} }`.\n\n",
    );
    for kind in FileKind::ALL {
        let schema = schema_for(kind);
        let file = match kind {
            FileKind::Manifest => "revalign.toml".to_string(),
            k => format!("{k}.toml, {k}/*.toml"),
        };
        out.push_str(&format!("## {} (`{file}`)\n\n", kind.name()));
        if let Some(d) = schema.get("description").and_then(Value::as_str) {
            out.push_str(d);
            out.push_str("\n\n");
        }
        table(&schema, &schema, &mut out);
        if let Some(defs) = schema.get("definitions").and_then(Value::as_object) {
            for (name, def) in defs {
                if def.get("properties").is_none() {
                    continue;
                }
                out.push_str(&format!("### {name}\n\n"));
                if let Some(d) = def.get("description").and_then(Value::as_str) {
                    out.push_str(&d.replace("\n- ", "\n\n- "));
                    out.push_str("\n\n");
                }
                table(&schema, def, &mut out);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_stay_within_draft_07() {
        fn walk(v: &Value, path: &str) {
            const LATER: [&str; 6] = [
                "unevaluatedProperties",
                "prefixItems",
                "$dynamicRef",
                "$defs",
                "dependentRequired",
                "$anchor",
            ];
            match v {
                Value::Object(m) => {
                    for (k, v) in m {
                        assert!(!LATER.contains(&k.as_str()), "{path}/{k} is not draft-07");
                        walk(v, &format!("{path}/{k}"));
                    }
                }
                Value::Array(a) => a.iter().for_each(|v| walk(v, path)),
                _ => {}
            }
        }
        for kind in FileKind::ALL {
            let schema = schema_for(kind);
            assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
            walk(&schema, kind.name());
        }
    }
}
