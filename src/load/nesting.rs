//! A guard against input nested so deeply that parsing it would exhaust the stack.
//!
//! The TOML parser and the converters after it recurse once per level of nested
//! arrays and inline tables; a few thousand levels would overflow the stack. This
//! scan finds the deepest bracket nesting outside strings and comments without
//! recursing, so such files are reported instead of crashing the program.

/// The deepest nesting of arrays and inline tables revalign reads. Real files
/// need a handful of levels; predicates nest a few more.
pub const MAX_DEPTH: usize = 64;

/// Returns the byte offset of the first bracket that opens a level deeper than
/// `max`, if any.
pub fn too_deep(text: &str, max: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            q @ (b'"' | b'\'') => {
                let triple = bytes.get(i..i + 3) == Some(&[q, q, q][..]);
                if triple {
                    i += 3;
                    while i < bytes.len() && bytes.get(i..i + 3) != Some(&[q, q, q][..]) {
                        i += if q == b'"' && bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    i += 2;
                } else {
                    i += 1;
                    while i < bytes.len() && bytes[i] != q && bytes[i] != b'\n' {
                        i += if q == b'"' && bytes[i] == b'\\' { 2 } else { 1 };
                    }
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_deep_nesting_outside_strings() {
        assert_eq!(too_deep("a = [[1]]", 2), None);
        assert_eq!(too_deep("a = [[[1]]]", 2), Some(6));
        assert_eq!(too_deep("a = \"[[[[[\"", 2), None);
        assert_eq!(too_deep("a = '[[[[['", 2), None);
        assert_eq!(too_deep("# [[[[[[\na = 1", 2), None);
        assert_eq!(too_deep("a = \"\"\"\n[[[[\n\"\"\"", 2), None);
        assert_eq!(too_deep("a = \"\\\"[[[\"", 2), None);
        assert_eq!(too_deep("[[goal]]\n[[goal]]\n", 2), None);
        assert_eq!(too_deep("p = {a={b={c=1}}}", 2), Some(10));
        let deep = format!("a = {}1{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(too_deep(&deep, MAX_DEPTH), Some(4 + MAX_DEPTH));
    }
}
