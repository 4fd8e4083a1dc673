//! Declarative predicates over record fields: lead-stage entry criteria, metric
//! filters and share conditions.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A predicate over a CRM record's fields. Exactly one shape per table:
/// `{ all = [...] }`, `{ any = [...] }`, `{ not = {...} }`, or a comparison
/// `{ field = "segment", <operator> = value }` with exactly one operator.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Predicate {
    /// True when every predicate in the list is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<Vec<Predicate>>,
    /// True when at least one predicate in the list is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any: Option<Vec<Predicate>>,
    /// True when the predicate is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not: Option<Box<Predicate>>,
    /// The record field compared (`segment`, `source`, `owner_team`, `score`, or any exported column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub field: Option<String>,
    /// The field equals this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eq: Option<Scalar>,
    /// The field differs from this value (or is missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ne: Option<Scalar>,
    /// The field equals one of these values.
    #[serde(default, rename = "in", skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub in_: Option<Vec<Scalar>>,
    /// The field equals none of these values (or is missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub not_in: Option<Vec<Scalar>>,
    /// The field is greater than this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gt: Option<Scalar>,
    /// The field is greater than or equal to this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gte: Option<Scalar>,
    /// The field is less than this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lt: Option<Scalar>,
    /// The field is less than or equal to this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lte: Option<Scalar>,
    /// `true`: the field has a non-empty value; `false`: it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
}

/// A value compared against a record field: a string, a number or a boolean.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
#[allow(missing_docs)]
pub enum Scalar {
    Bool(bool),
    Integer(i64),
    Float(f64),
    String(String),
}

/// The shape of a predicate, once checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `all = [...]`
    All,
    /// `any = [...]`
    Any,
    /// `not = {...}`
    Not,
    /// `field = ..., <operator> = ...`, naming the operator.
    Compare(&'static str),
}

/// Why a predicate has no valid shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeError {
    /// None of `all`, `any`, `not`, `field`.
    Empty,
    /// More than one of `all`, `any`, `not`, `field`; names them.
    Several(Vec<&'static str>),
    /// `field` without an operator.
    NoOperator,
    /// `field` with several operators; names them.
    SeveralOperators(Vec<&'static str>),
    /// An operator without `field`; names it.
    OperatorWithoutField(&'static str),
}

impl Predicate {
    /// The operators that are set, by name.
    pub fn operators(&self) -> Vec<&'static str> {
        let ops: [(&'static str, bool); 9] = [
            ("eq", self.eq.is_some()),
            ("ne", self.ne.is_some()),
            ("in", self.in_.is_some()),
            ("not_in", self.not_in.is_some()),
            ("gt", self.gt.is_some()),
            ("gte", self.gte.is_some()),
            ("lt", self.lt.is_some()),
            ("lte", self.lte.is_some()),
            ("exists", self.exists.is_some()),
        ];
        ops.into_iter()
            .filter(|(_, set)| *set)
            .map(|(n, _)| n)
            .collect()
    }

    /// The predicate's shape, or why it has none. Does not look into children.
    pub fn shape(&self) -> Result<Shape, ShapeError> {
        let forms: Vec<&'static str> = [
            ("all", self.all.is_some()),
            ("any", self.any.is_some()),
            ("not", self.not.is_some()),
            ("field", self.field.is_some()),
        ]
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(n, _)| n)
        .collect();
        let ops = self.operators();
        match forms.as_slice() {
            [] => match ops.first() {
                Some(op) => Err(ShapeError::OperatorWithoutField(op)),
                None => Err(ShapeError::Empty),
            },
            ["field"] => match ops.as_slice() {
                [] => Err(ShapeError::NoOperator),
                [op] => Ok(Shape::Compare(op)),
                _ => Err(ShapeError::SeveralOperators(ops)),
            },
            [one] if !ops.is_empty() => Err(ShapeError::Several(vec![one, ops[0]])),
            ["all"] => Ok(Shape::All),
            ["any"] => Ok(Shape::Any),
            ["not"] => Ok(Shape::Not),
            _ => Err(ShapeError::Several(forms)),
        }
    }

    /// The nested predicates, with the pointer suffix of each (`/all/0`, `/not`).
    pub fn children(&self) -> Vec<(String, &Predicate)> {
        let mut out = Vec::new();
        for (name, list) in [("all", &self.all), ("any", &self.any)] {
            if let Some(list) = list {
                out.extend(
                    list.iter()
                        .enumerate()
                        .map(|(i, p)| (format!("/{name}/{i}"), p)),
                );
            }
        }
        if let Some(p) = &self.not {
            out.push(("/not".to_string(), p));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(field: &str, eq: Scalar) -> Predicate {
        Predicate {
            field: Some(field.into()),
            eq: Some(eq),
            ..Predicate::default()
        }
    }

    #[test]
    fn shapes() {
        assert_eq!(Predicate::default().shape(), Err(ShapeError::Empty));
        assert_eq!(
            cmp("segment", Scalar::String("smb".into())).shape(),
            Ok(Shape::Compare("eq"))
        );
        let mut two = cmp("score", Scalar::Integer(1));
        two.gte = Some(Scalar::Integer(2));
        assert_eq!(
            two.shape(),
            Err(ShapeError::SeveralOperators(vec!["eq", "gte"]))
        );
        let no_op = Predicate {
            field: Some("x".into()),
            ..Predicate::default()
        };
        assert_eq!(no_op.shape(), Err(ShapeError::NoOperator));
        let stray = Predicate {
            gte: Some(Scalar::Integer(3)),
            ..Predicate::default()
        };
        assert_eq!(stray.shape(), Err(ShapeError::OperatorWithoutField("gte")));
        let mixed = Predicate {
            all: Some(vec![]),
            any: Some(vec![]),
            ..Predicate::default()
        };
        assert_eq!(mixed.shape(), Err(ShapeError::Several(vec!["all", "any"])));
        let all_with_op = Predicate {
            all: Some(vec![]),
            eq: Some(Scalar::Bool(true)),
            ..Predicate::default()
        };
        assert_eq!(
            all_with_op.shape(),
            Err(ShapeError::Several(vec!["all", "eq"]))
        );
    }
}
