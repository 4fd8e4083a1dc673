//! The committed schemas and format reference are exactly what the code generates:
//! the types, the schemas and the docs cannot drift apart. Regenerate with
//! `REVALIGN_BLESS=1 cargo test --test generated`.

use std::path::Path;

use revalign::model::FileKind;
use revalign::schema::{reference_markdown, schema_text};

fn check(path: &Path, expected: &str) {
    if std::env::var_os("REVALIGN_BLESS").is_some() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create folder");
        }
        std::fs::write(path, expected).expect("write generated file");
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == expected,
        "{} is out of date with the Rust types; run `REVALIGN_BLESS=1 cargo test --test generated` and commit the result",
        path.display()
    );
}

#[test]
fn committed_schemas_match_the_types() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for kind in FileKind::ALL {
        check(
            &root.join("schemas").join(kind.schema_file()),
            &schema_text(kind),
        );
    }
}

#[test]
fn committed_format_reference_matches_the_types() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    check(&root.join("docs/format.md"), &reference_markdown());
}
