//! The normalized CRM records every data source fills: leads (contacts) and
//! deals (opportunities), carrying only what the metrics at hand need.
//!
//! Sources stream records: they fill one [`Lead`] or [`Deal`] at a time, in
//! place, and hand it to the engine, so memory does not grow with the export.

use super::calendar::Millis;
use super::predicate::{Predicate, Scalar};

/// A field value, typed as the metrics use it.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// Empty, absent or null.
    #[default]
    Missing,
    /// Text, compared exactly.
    Text(String),
    /// A number.
    Number(f64),
    /// A boolean (`true`/`false`, `yes`/`no`, `1`/`0`).
    Bool(bool),
}

/// How a field is read: what the predicates compare it with decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Any text (also for fields only tested with `exists`).
    Text,
    /// A number: compared with `gt`/`gte`/`lt`/`lte` or a number, or summed.
    Number,
    /// A boolean.
    Bool,
}

impl FieldType {
    /// The type two uses of one field agree on: differing uses fall back to text.
    pub fn join(self, other: FieldType) -> FieldType {
        if self == other { self } else { FieldType::Text }
    }

    /// In words, for errors.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Number => "a number",
            FieldType::Bool => "true or false",
        }
    }
}

/// The fields of one kind of record that the metrics need, in a fixed order:
/// records carry their values at the same positions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields {
    /// Name and type of each field.
    pub list: Vec<(String, FieldType)>,
}

impl Fields {
    /// The position of a field, adding it if new.
    pub fn add(&mut self, name: &str, ty: FieldType) -> usize {
        if let Some(i) = self.list.iter().position(|(n, _)| n == name) {
            self.list[i].1 = self.list[i].1.join(ty);
            return i;
        }
        self.list.push((name.to_string(), ty));
        self.list.len() - 1
    }

    /// The position of a field.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.list.iter().position(|(n, _)| n == name)
    }
}

/// What the engine asks a source for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Need {
    /// Read leads at all.
    pub leads: bool,
    /// Read deals at all.
    pub deals: bool,
    /// The stages whose entry times leads carry, in this order.
    pub stages: Vec<String>,
    /// Lead fields used by filters, conditions and entry criteria.
    pub lead_fields: Fields,
    /// Deal fields used by filters, conditions and sums.
    pub deal_fields: Fields,
    /// When the earliest window (or the drift span) begins: a record with
    /// no event since counts nowhere, so a source may leave out records not
    /// modified since (`fetch = "periods"`). `None`: every record.
    pub since: Option<crate::model::calendar::Millis>,
}

/// A lead or contact.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lead {
    /// The CRM's id.
    pub id: String,
    /// Where it came from (`leads.csv:12`), for explanations.
    pub at: u64,
    /// When the record was created.
    pub created: Option<Millis>,
    /// The first sales touch (call, email, meeting logged).
    pub first_touch: Option<Millis>,
    /// When it entered each stage of [`Need::stages`].
    pub stages: Vec<Option<Millis>>,
    /// The values of [`Need::lead_fields`].
    pub fields: Vec<Value>,
}

/// A deal or opportunity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Deal {
    /// The CRM's id.
    pub id: String,
    /// The row or record number in the source.
    pub at: u64,
    /// When the deal was created.
    pub created: Option<Millis>,
    /// When it closed (won or lost); `None` while open.
    pub closed: Option<Millis>,
    /// Won (`Some(true)`), lost (`Some(false)`), or open/unknown.
    pub won: Option<bool>,
    /// The currency of its amounts (ISO code), if the source says.
    pub currency: Option<String>,
    /// The values of [`Need::deal_fields`].
    pub fields: Vec<Value>,
}

/// A predicate with its field names resolved to positions, ready to run on records.
#[derive(Debug, Clone, PartialEq)]
pub enum Compiled {
    /// All hold.
    All(Vec<Compiled>),
    /// One holds.
    Any(Vec<Compiled>),
    /// It does not hold.
    Not(Box<Compiled>),
    /// A comparison of field `0`.
    Cmp(usize, Op),
}

/// A comparison operator with its operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Equal.
    Eq(Scalar),
    /// Not equal, or missing.
    Ne(Scalar),
    /// One of.
    In(Vec<Scalar>),
    /// None of, or missing.
    NotIn(Vec<Scalar>),
    /// Greater than.
    Gt(f64),
    /// At least.
    Gte(f64),
    /// Less than.
    Lt(f64),
    /// At most.
    Lte(f64),
    /// Has a value (`true`) or none (`false`).
    Exists(bool),
}

fn scalar_type(s: &Scalar) -> FieldType {
    match s {
        Scalar::Bool(_) => FieldType::Bool,
        Scalar::Integer(_) | Scalar::Float(_) => FieldType::Number,
        Scalar::String(_) => FieldType::Text,
    }
}

/// A predicate operand as a number, if it reads as one.
pub fn scalar_number(s: &Scalar) -> Option<f64> {
    match s {
        Scalar::Integer(i) => Some(*i as f64),
        Scalar::Float(f) => Some(*f),
        Scalar::String(t) => t.trim().parse().ok(),
        Scalar::Bool(_) => None,
    }
}

impl Compiled {
    /// Resolves a predicate's fields into `fields`, registering the type each
    /// comparison needs. `None` when the predicate has no valid shape
    /// (validation reports those).
    pub fn new(p: &Predicate, fields: &mut Fields) -> Option<Compiled> {
        if let Some(all) = &p.all {
            return all
                .iter()
                .map(|c| Compiled::new(c, fields))
                .collect::<Option<_>>()
                .map(Compiled::All);
        }
        if let Some(any) = &p.any {
            return any
                .iter()
                .map(|c| Compiled::new(c, fields))
                .collect::<Option<_>>()
                .map(Compiled::Any);
        }
        if let Some(not) = &p.not {
            return Compiled::new(not, fields).map(|c| Compiled::Not(Box::new(c)));
        }
        let field = p.field.as_deref()?;
        let number = |s: &Option<Scalar>| s.as_ref().and_then(scalar_number);
        let (op, ty) = if let Some(v) = &p.eq {
            (Op::Eq(v.clone()), scalar_type(v))
        } else if let Some(v) = &p.ne {
            (Op::Ne(v.clone()), scalar_type(v))
        } else if let Some(vs) = &p.in_ {
            let ty = vs.iter().map(scalar_type).reduce(FieldType::join)?;
            (Op::In(vs.clone()), ty)
        } else if let Some(vs) = &p.not_in {
            let ty = vs.iter().map(scalar_type).reduce(FieldType::join)?;
            (Op::NotIn(vs.clone()), ty)
        } else if p.gt.is_some() {
            (Op::Gt(number(&p.gt)?), FieldType::Number)
        } else if p.gte.is_some() {
            (Op::Gte(number(&p.gte)?), FieldType::Number)
        } else if p.lt.is_some() {
            (Op::Lt(number(&p.lt)?), FieldType::Number)
        } else if p.lte.is_some() {
            (Op::Lte(number(&p.lte)?), FieldType::Number)
        } else if let Some(e) = p.exists {
            (Op::Exists(e), FieldType::Text)
        } else {
            return None;
        };
        // `exists` works on any type: do not make a number field text for it.
        let i = match (&op, fields.index(field)) {
            (Op::Exists(_), Some(i)) => i,
            _ => fields.add(field, ty),
        };
        Some(Compiled::Cmp(i, op))
    }

    /// Whether the predicate holds for these values.
    pub fn test(&self, values: &[Value]) -> bool {
        match self {
            Compiled::All(cs) => cs.iter().all(|c| c.test(values)),
            Compiled::Any(cs) => cs.iter().any(|c| c.test(values)),
            Compiled::Not(c) => !c.test(values),
            Compiled::Cmp(i, op) => {
                let v = values.get(*i).unwrap_or(&Value::Missing);
                match op {
                    Op::Eq(s) => equals(v, s),
                    Op::Ne(s) => !equals(v, s),
                    Op::In(ss) => ss.iter().any(|s| equals(v, s)),
                    Op::NotIn(ss) => !ss.iter().any(|s| equals(v, s)),
                    Op::Gt(x) => number(v).is_some_and(|n| n > *x),
                    Op::Gte(x) => number(v).is_some_and(|n| n >= *x),
                    Op::Lt(x) => number(v).is_some_and(|n| n < *x),
                    Op::Lte(x) => number(v).is_some_and(|n| n <= *x),
                    Op::Exists(e) => (*v != Value::Missing) == *e,
                }
            }
        }
    }
}

impl Compiled {
    /// Why the predicate does not hold for these values, in words naming each
    /// failing comparison and the value found: `score >= 65 (is 58)`.
    pub fn why_not(&self, values: &[Value], fields: &Fields) -> String {
        match self {
            Compiled::All(cs) => cs
                .iter()
                .filter(|c| !c.test(values))
                .map(|c| c.why_not(values, fields))
                .collect::<Vec<_>>()
                .join("; "),
            Compiled::Any(cs) => format!(
                "none of: {}",
                cs.iter()
                    .map(|c| c.why_not(values, fields))
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
            Compiled::Not(c) => format!("not ({})", c.describe(values, fields)),
            Compiled::Cmp(..) => self.describe(values, fields),
        }
    }

    /// The predicate with the values found: `email_type = "personal" (is "personal")`.
    fn describe(&self, values: &[Value], fields: &Fields) -> String {
        let join = |cs: &[Compiled], sep: &str| {
            cs.iter()
                .map(|c| c.describe(values, fields))
                .collect::<Vec<_>>()
                .join(sep)
        };
        match self {
            Compiled::All(cs) => join(cs, " and "),
            Compiled::Any(cs) => join(cs, " or "),
            Compiled::Not(c) => format!("not ({})", c.describe(values, fields)),
            Compiled::Cmp(i, op) => {
                let name = fields.list.get(*i).map_or("?", |(n, _)| n.as_str());
                let v = values.get(*i).unwrap_or(&Value::Missing);
                let list =
                    |ss: &[Scalar]| ss.iter().map(scalar_text).collect::<Vec<_>>().join(", ");
                let op = match op {
                    Op::Eq(s) => format!("= {}", scalar_text(s)),
                    Op::Ne(s) => format!("!= {}", scalar_text(s)),
                    Op::In(ss) => format!("in [{}]", list(ss)),
                    Op::NotIn(ss) => format!("not in [{}]", list(ss)),
                    Op::Gt(x) => format!("> {x}"),
                    Op::Gte(x) => format!(">= {x}"),
                    Op::Lt(x) => format!("< {x}"),
                    Op::Lte(x) => format!("<= {x}"),
                    Op::Exists(true) => "has a value".into(),
                    Op::Exists(false) => "is empty".into(),
                };
                let found = match v {
                    Value::Missing => "empty".to_string(),
                    Value::Text(t) => format!("{t:?}"),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                };
                format!("{name} {op} (is {found})")
            }
        }
    }
}

fn scalar_text(s: &Scalar) -> String {
    match s {
        Scalar::Bool(b) => b.to_string(),
        Scalar::Integer(i) => i.to_string(),
        Scalar::Float(f) => f.to_string(),
        Scalar::String(t) => format!("{t:?}"),
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => Some(*n),
        Value::Text(t) => t.trim().parse().ok(),
        _ => None,
    }
}

fn equals(v: &Value, s: &Scalar) -> bool {
    match (v, s) {
        (Value::Missing, _) => false,
        (Value::Bool(b), Scalar::Bool(c)) => b == c,
        (Value::Number(n), Scalar::Integer(i)) => *n == *i as f64,
        (Value::Number(n), Scalar::Float(f)) => n == f,
        (Value::Text(t), Scalar::String(u)) => t == u,
        (Value::Text(t), Scalar::Integer(i)) => t.trim().parse::<f64>().ok() == Some(*i as f64),
        (Value::Text(t), Scalar::Float(f)) => t.trim().parse::<f64>().ok() == Some(*f),
        (Value::Text(t), Scalar::Bool(b)) => parse_bool(t) == Some(*b),
        (Value::Number(n), Scalar::String(u)) => u.trim().parse::<f64>().ok() == Some(*n),
        (Value::Bool(b), Scalar::String(u)) => parse_bool(u) == Some(*b),
        _ => false,
    }
}

/// Reads a boolean as CRM exports write them: `true`/`false`, `yes`/`no`,
/// `1`/`0`, any case.
pub fn parse_bool(s: &str) -> Option<bool> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("yes") || s == "1" {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") || s.eq_ignore_ascii_case("no") || s == "0" {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pred(toml_text: &str) -> Predicate {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn compiles_and_tests() {
        let mut f = Fields::default();
        let p = pred(
            r#"all = [ { field = "score", gte = 65 }, { not = { field = "email_type", eq = "personal" } },
                       { field = "country", in = ["US", "CA"] }, { field = "email", exists = true } ]"#,
        );
        let c = Compiled::new(&p, &mut f).unwrap();
        assert_eq!(
            f.list,
            [
                ("score".to_string(), FieldType::Number),
                ("email_type".to_string(), FieldType::Text),
                ("country".to_string(), FieldType::Text),
                ("email".to_string(), FieldType::Text),
            ]
        );
        let rec = |score: Value, ty: &str| {
            vec![
                score,
                Value::Text(ty.into()),
                Value::Text("US".into()),
                Value::Text("a@b.c".into()),
            ]
        };
        assert!(c.test(&rec(Value::Number(65.0), "business")));
        assert!(!c.test(&rec(Value::Number(64.9), "business")));
        assert!(!c.test(&rec(Value::Missing, "business")));
        assert!(!c.test(&rec(Value::Number(90.0), "personal")));
        assert_eq!(
            c.why_not(&rec(Value::Number(58.0), "personal"), &f),
            r#"score >= 65 (is 58); not (email_type = "personal" (is "personal"))"#
        );
        let any = Compiled::new(
            &pred(r#"any = [ { field = "score", gt = 80 }, { field = "email", exists = false } ]"#),
            &mut f,
        )
        .unwrap();
        assert_eq!(
            any.why_not(&rec(Value::Missing, "business"), &f),
            r#"none of: score > 80 (is empty) | email is empty (is "a@b.c")"#
        );
    }

    #[test]
    fn missing_values() {
        let mut f = Fields::default();
        let ne = Compiled::new(
            &pred(
                r#"field = "segment"
ne = "smb""#,
            ),
            &mut f,
        )
        .unwrap();
        assert!(ne.test(&[Value::Missing]), "ne holds for a missing value");
        let eq = Compiled::new(
            &pred(
                r#"field = "won"
eq = true"#,
            ),
            &mut f,
        )
        .unwrap();
        assert_eq!(f.list[1].1, FieldType::Bool);
        assert!(eq.test(&[Value::Missing, Value::Bool(true)]));
        assert!(!eq.test(&[Value::Missing, Value::Missing]));
    }
}
