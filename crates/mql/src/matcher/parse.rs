//! Parsing filter documents into [`Node`] trees, with mongod's errors.
//!
//! A field's value is an operator document when its first key starts with
//! `$` and it is not a DBRef (`$ref` with `$id`); otherwise it is a literal
//! for equality (a regex literal is a `$regex`). Every nesting of logical
//! operators, operator documents, `$not` and `$elemMatch` counts one level
//! towards [`FILTER_DEPTH_MAX`], which also bounds evaluation's recursion.
//! The operands of single operators are read in [`super::operand`].
//!
//! `$jsonSchema` is parsed by [`super::schema`]. `$where`, `$text` and geo
//! operators are not parsed here; they are refused as unknown operators.

use bson::{Bson, Document};

use super::bits::Bits;
use super::operand::{self, comparison};
use super::pred::{Cmp, Op, Pred};
use super::regex::Pattern;
use super::tree::Node;
use crate::path::{self, FieldPath};
use crate::{Error, Result};

/// mongod refuses match expressions nested deeper than this; it also keeps
/// parsing and matching recursion far from the end of the stack.
pub const FILTER_DEPTH_MAX: usize = 100;

/// Operators that stand where a field name would; a document starting with
/// one is a filter, never a list of operators on a value.
const PATHLESS_OPERATORS: [&str; 13] = [
    "$and",
    "$or",
    "$nor",
    "$comment",
    "$where",
    "$expr",
    "$text",
    "$jsonSchema",
    "$alwaysTrue",
    "$alwaysFalse",
    "$ref",
    "$id",
    "$db",
];

/// Parses a filter document (the top level, an `$and` entry, or an
/// `$elemMatch` over documents).
pub(super) fn document(filter: &Document, depth: usize) -> Result<Node> {
    check_depth(depth)?;
    let mut children = Vec::new();
    for (key, value) in filter {
        match key.as_str() {
            "$and" => children.push(Node::And(list(key, value, depth)?)),
            "$or" => children.push(Node::Or(list(key, value, depth)?)),
            "$nor" => children.push(Node::Nor(list(key, value, depth)?)),
            "$comment" => {}
            "$expr" => children.push(Node::Expr(Box::new(crate::expr::Expr::parse(value)?))),
            "$jsonSchema" => children.push(Node::Schema(Box::new(super::schema::parse(
                value,
                depth + 1,
            )?))),
            "$alwaysTrue" => children.push(always(key, value, Node::True)?),
            "$alwaysFalse" => children.push(always(key, value, Node::Not(Box::new(Node::True)))?),
            // mongod reads these as equalities on a DBRef's fields.
            "$ref" | "$id" | "$db" => children.push(Node::Leaf {
                path: FieldPath::new(key),
                pred: comparison(key, Cmp::Eq, value)?,
            }),
            _ if key.starts_with('$') => {
                return Err(Error::bad_value(format!(
                    "unknown top level operator: {key}"
                )));
            }
            _ => field(key, value, depth, &mut children)?,
        }
    }
    Ok(conjunction(children))
}

/// Parses operators that apply to one value, as `$elemMatch` and `$pull` use
/// them.
pub(super) fn value_operators(condition: &Document, depth: usize) -> Result<Vec<Op>> {
    operators("", condition, depth)
}

/// Whether `$elemMatch` (or `$pull`) reads this document as operators on the
/// elements themselves rather than as a filter over embedded documents.
pub(super) fn is_value_condition(condition: &Document) -> bool {
    let mentions_dbref = ["$ref", "$id", "$db"]
        .iter()
        .any(|key| condition.contains_key(key));
    let starts_with_operator = condition.keys().next().is_some_and(|first| {
        first.starts_with('$') && !PATHLESS_OPERATORS.contains(&first.as_str())
    });
    starts_with_operator && !mentions_dbref
}

/// Parses the argument of `$elemMatch` (value or document form).
pub(super) fn elem_match(arg: &Bson, depth: usize) -> Result<Pred> {
    let Bson::Document(condition) = arg else {
        return Err(Error::bad_value("$elemMatch needs an Object"));
    };
    if is_value_condition(condition) {
        Ok(Pred::ElemMatchValue(operators("", condition, depth + 1)?))
    } else {
        let filter = document(condition, depth + 1)?;
        Ok(Pred::ElemMatchObject(Box::new(filter)))
    }
}

fn check_depth(depth: usize) -> Result<()> {
    if depth > FILTER_DEPTH_MAX {
        return Err(Error::bad_value(format!(
            "exceeded depth limit of {FILTER_DEPTH_MAX} when parsing match expression"
        )));
    }
    Ok(())
}

fn conjunction(mut children: Vec<Node>) -> Node {
    match children.len() {
        0 => Node::True,
        1 => children.pop().unwrap_or(Node::True),
        _ => Node::And(children),
    }
}

fn list(name: &str, value: &Bson, depth: usize) -> Result<Vec<Node>> {
    let Bson::Array(entries) = value else {
        return Err(Error::bad_value(format!("{name} must be an array")));
    };
    if entries.is_empty() {
        return Err(Error::bad_value("$and/$or/$nor must be a nonempty array"));
    }
    entries
        .iter()
        .map(|entry| match entry {
            Bson::Document(filter) => document(filter, depth + 1),
            _ => Err(Error::bad_value(
                "$or/$and/$nor entries need to be full objects",
            )),
        })
        .collect()
}

/// `$alwaysTrue: 1` and `$alwaysFalse: 1`.
fn always(name: &str, value: &Bson, node: Node) -> Result<Node> {
    match operand::integer(value) {
        Some(1) => Ok(node),
        _ => Err(Error::failed_to_parse(format!(
            "{name} must be an integer value of 1"
        ))),
    }
}

/// Whether a field's value is a document of operators rather than a literal.
pub(super) fn is_operator_document(doc: &Document) -> bool {
    let is_dbref = path::field(doc, "$ref").is_some() && path::field(doc, "$id").is_some();
    doc.keys()
        .next()
        .is_some_and(|first| first.starts_with('$'))
        && !is_dbref
}

fn field(key: &str, value: &Bson, depth: usize, out: &mut Vec<Node>) -> Result<()> {
    let path = FieldPath::new(key);
    match value {
        Bson::Document(ops) if is_operator_document(ops) => {
            let mut ops = operators(key, ops, depth + 1)?;
            // The last operator takes the path itself; the others a copy.
            let last = ops.pop();
            for op in ops {
                out.push(bind(&path, op));
            }
            if let Some(op) = last {
                out.push(bind_owned(path, op));
            }
        }
        Bson::RegularExpression(regex) => {
            let pattern = Pattern::new(regex.pattern.as_str(), regex.options.as_str())?;
            out.push(Node::Leaf {
                path,
                pred: Pred::Regex(pattern),
            });
        }
        _ => out.push(Node::Leaf {
            path,
            pred: comparison(key, Cmp::Eq, value)?,
        }),
    }
    Ok(())
}

/// Binds an operator to a path: a leaf, or a negated conjunction of leaves.
fn bind(path: &FieldPath, op: Op) -> Node {
    match op {
        Op::Pred(pred) => Node::Leaf {
            path: path.clone(),
            pred,
        },
        Op::Not(inner) => Node::Not(Box::new(conjunction(
            inner.into_iter().map(|op| bind(path, op)).collect(),
        ))),
    }
}

/// [`bind`], moving the path into the leaf.
fn bind_owned(path: FieldPath, op: Op) -> Node {
    match op {
        Op::Pred(pred) => Node::Leaf { path, pred },
        op => bind(&path, op),
    }
}

/// Parses a document of operators on the field `name` (empty inside
/// `$elemMatch`); `name` only appears in error messages.
fn operators(name: &str, doc: &Document, depth: usize) -> Result<Vec<Op>> {
    check_depth(depth)?;
    let mut regex = operand::regex(doc)?;
    let mut ops = Vec::with_capacity(doc.len());
    for (operator, arg) in doc {
        let pred = |pred: Pred| Op::Pred(pred);
        let negated = |pred: Pred| Op::Not(vec![Op::Pred(pred)]);
        match operator.as_str() {
            "$eq" => ops.push(pred(comparison(name, Cmp::Eq, arg)?)),
            "$ne" if matches!(arg, Bson::RegularExpression(_)) => {
                return Err(Error::bad_value("Can't have regex as arg to $ne."));
            }
            "$ne" => ops.push(negated(comparison(name, Cmp::Eq, arg)?)),
            "$lt" => ops.push(pred(comparison(name, Cmp::Lt, arg)?)),
            "$lte" => ops.push(pred(comparison(name, Cmp::Lte, arg)?)),
            "$gt" => ops.push(pred(comparison(name, Cmp::Gt, arg)?)),
            "$gte" => ops.push(pred(comparison(name, Cmp::Gte, arg)?)),
            "$in" => ops.push(pred(operand::in_set(operator, arg)?)),
            "$nin" => ops.push(negated(operand::in_set(operator, arg)?)),
            "$exists" if operand::truthy(arg) => ops.push(pred(Pred::Exists)),
            "$exists" => ops.push(negated(Pred::Exists)),
            "$type" => ops.push(pred(Pred::Type(operand::type_set(name, arg)?))),
            "$all" => ops.extend(all(name, arg, depth)?.into_iter().map(pred)),
            "$elemMatch" => ops.push(pred(elem_match(arg, depth)?)),
            "$size" => ops.push(pred(Pred::Size(operand::size(arg)?))),
            "$mod" => ops.push(pred(operand::modulo(arg)?)),
            "$regex" => ops.extend(regex.take().map(|p| pred(Pred::Regex(p)))),
            "$options" => {}
            "$not" => ops.push(Op::Not(not(name, arg, depth)?)),
            "$where" => return Err(Error::bad_value("$where cannot be applied to a field")),
            _ => match Bits::parse(operator, name, arg)? {
                Some(bits) => ops.push(pred(Pred::Bits(bits))),
                None => {
                    return Err(Error::bad_value(format!("unknown operator: {operator}")));
                }
            },
        }
    }
    Ok(ops)
}

fn all(name: &str, arg: &Bson, depth: usize) -> Result<Vec<Pred>> {
    let Bson::Array(items) = arg else {
        return Err(Error::bad_value("$all needs an array"));
    };
    let Some(first) = items.first() else {
        return Ok(vec![Pred::Never]);
    };
    let first_key = |item: &Bson| match item {
        Bson::Document(doc) => doc.keys().next().cloned(),
        _ => None,
    };
    if first_key(first).as_deref() == Some("$elemMatch") {
        return items
            .iter()
            .map(|item| match item {
                Bson::Document(doc) if first_key(item).as_deref() == Some("$elemMatch") => {
                    elem_match(doc.get("$elemMatch").unwrap_or(&Bson::Null), depth)
                }
                _ => Err(Error::bad_value("$all/$elemMatch has to be consistent")),
            })
            .collect();
    }
    items
        .iter()
        .map(|item| match item {
            _ if first_key(item).is_some_and(|key| operand::is_field_operator(&key)) => {
                Err(Error::bad_value("no $ expressions in $all"))
            }
            Bson::RegularExpression(regex) => {
                Pattern::new(regex.pattern.as_str(), regex.options.as_str()).map(Pred::Regex)
            }
            _ => comparison(name, Cmp::Eq, item),
        })
        .collect()
}

fn not(name: &str, arg: &Bson, depth: usize) -> Result<Vec<Op>> {
    match arg {
        Bson::RegularExpression(regex) => {
            let pattern = Pattern::new(regex.pattern.as_str(), regex.options.as_str())?;
            Ok(vec![Op::Pred(Pred::Regex(pattern))])
        }
        Bson::Document(doc) if doc.is_empty() => Err(Error::bad_value("$not cannot be empty")),
        Bson::Document(doc) => operators(name, doc, depth + 1),
        _ => Err(Error::bad_value("$not needs a regex or a document")),
    }
}
