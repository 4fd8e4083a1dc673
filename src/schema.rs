//! The JSON Schemas of the alignment files, generated from the model's types so
//! the two cannot drift apart. They use only draft-07 keywords, which editors
//! (taplo, Even Better TOML) understand.

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::Value;

use crate::model::goal::{GoalsFile, SlaFile};
use crate::model::lead::LeadsFile;
use crate::model::manifest::ManifestFile;
use crate::model::metric::MetricsFile;
use crate::model::FileKind;

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
                            let d = i.get("description").and_then(Value::as_str).map(String::from);
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
                map.insert("enum".into(), Value::Array(consts.into_iter().map(|(c, _)| c).collect()));
                map.insert("description".into(), Value::String(description.trim().to_string()));
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
