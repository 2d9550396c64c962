//! Parsing filter documents into [`Node`] trees, with mongod's errors.
//!
//! A field's value is an operator document when its first key starts with
//! `$` (and is not a DBRef's `$ref`/`$id`/`$db`); otherwise it is a literal
//! for equality (a regex literal is a `$regex`). Every nesting of logical
//! operators, operator documents, `$not` and `$elemMatch` counts one level
//! towards [`FILTER_DEPTH_MAX`], which also bounds evaluation's recursion.
//!
//! `$expr`, `$where`, `$text` and geo operators are not parsed here; they are
//! refused as unknown operators.

use bson::{Bson, Document};

use super::pred::{Cmp, InSet, Op, Pred, TypeSet};
use super::regex::Pattern;
use super::tree::Node;
use crate::order::Number;
use crate::path::FieldPath;
use crate::{Error, Result};

/// mongod refuses match expressions nested deeper than this; it also keeps
/// parsing and matching recursion far from the end of the stack.
pub const FILTER_DEPTH_MAX: usize = 100;

/// Parses a filter document (the top level, or an `$and` entry, or an
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
    operators(condition, depth)
}

/// Whether `$elemMatch` (or `$pull`) reads this document as operators on the
/// elements themselves rather than as a filter over embedded documents.
pub(super) fn is_value_condition(condition: &Document) -> bool {
    let logical = [
        "$and", "$or", "$nor", "$where", "$expr", "$text", "$comment",
    ];
    is_operator_document(condition)
        && condition
            .keys()
            .next()
            .is_some_and(|first| !logical.contains(&first.as_str()))
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

fn is_operator_document(doc: &Document) -> bool {
    doc.keys().next().is_some_and(|first| {
        first.starts_with('$') && !matches!(first.as_str(), "$ref" | "$id" | "$db")
    })
}

fn field(key: &str, value: &Bson, depth: usize, out: &mut Vec<Node>) -> Result<()> {
    let path = FieldPath::new(key);
    match value {
        Bson::Document(ops) if is_operator_document(ops) => {
            for op in operators(ops, depth + 1)? {
                out.push(bind(&path, op));
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
            pred: comparison(Cmp::Eq, value)?,
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

fn operators(doc: &Document, depth: usize) -> Result<Vec<Op>> {
    check_depth(depth)?;
    let mut regex = regex_operator(doc)?;
    let mut ops = Vec::with_capacity(doc.len());
    for (name, arg) in doc {
        let pred = |pred: Pred| Op::Pred(pred);
        let negated = |pred: Pred| Op::Not(vec![Op::Pred(pred)]);
        match name.as_str() {
            "$eq" => ops.push(pred(comparison(Cmp::Eq, arg)?)),
            "$ne" => ops.push(negated(comparison(Cmp::Eq, arg)?)),
            "$lt" => ops.push(pred(comparison(Cmp::Lt, arg)?)),
            "$lte" => ops.push(pred(comparison(Cmp::Lte, arg)?)),
            "$gt" => ops.push(pred(comparison(Cmp::Gt, arg)?)),
            "$gte" => ops.push(pred(comparison(Cmp::Gte, arg)?)),
            "$in" => ops.push(pred(in_set(name, arg)?)),
            "$nin" => ops.push(negated(in_set(name, arg)?)),
            "$exists" if truthy(arg) => ops.push(pred(Pred::Exists)),
            "$exists" => ops.push(negated(Pred::Exists)),
            "$type" => ops.push(pred(Pred::Type(type_set(arg)?))),
            "$all" => ops.extend(all(arg, depth)?.into_iter().map(pred)),
            "$elemMatch" => ops.push(pred(elem_match(arg, depth)?)),
            "$size" => ops.push(pred(Pred::Size(size(arg)?))),
            "$mod" => ops.push(pred(modulo(arg)?)),
            "$regex" => ops.extend(regex.take().map(|p| pred(Pred::Regex(p)))),
            "$options" => {}
            "$not" => ops.push(Op::Not(not(arg, depth)?)),
            _ => return Err(Error::bad_value(format!("unknown operator: {name}"))),
        }
    }
    Ok(ops)
}

fn comparison(cmp: Cmp, arg: &Bson) -> Result<Pred> {
    if matches!(arg, Bson::Undefined) {
        return Err(Error::bad_value("cannot compare to undefined"));
    }
    Ok(Pred::Compare(cmp, arg.clone()))
}

/// Reads `$regex` with its `$options`, wherever they sit in the document.
fn regex_operator(doc: &Document) -> Result<Option<Pattern>> {
    let options = match doc.get("$options") {
        None => None,
        Some(Bson::String(options)) => Some(options.as_str()),
        Some(_) => return Err(Error::bad_value("$options has to be a string")),
    };
    match (doc.get("$regex"), options) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(Error::bad_value("$options needs a $regex")),
        (Some(Bson::String(source)), options) => {
            Pattern::new(source, options.unwrap_or("")).map(Some)
        }
        (Some(Bson::RegularExpression(regex)), options) => {
            let own = regex.options.as_str();
            if !own.is_empty() && options.is_some() {
                return Err(Error::bad_value("options set in both $regex and $options"));
            }
            Pattern::new(regex.pattern.as_str(), options.unwrap_or(own)).map(Some)
        }
        (Some(_), _) => Err(Error::bad_value("$regex has to be a string")),
    }
}

fn in_set(name: &str, arg: &Bson) -> Result<Pred> {
    let Bson::Array(items) = arg else {
        return Err(Error::bad_value(format!("{name} needs an array")));
    };
    let mut values = Vec::with_capacity(items.len());
    let mut patterns = Vec::new();
    for item in items {
        match item {
            Bson::RegularExpression(regex) => {
                patterns.push(Pattern::new(
                    regex.pattern.as_str(),
                    regex.options.as_str(),
                )?);
            }
            Bson::Document(doc) if is_operator_document(doc) => {
                return Err(Error::bad_value("cannot nest $ under $in"));
            }
            Bson::Undefined => {
                return Err(Error::bad_value(
                    "InMatchExpression equality cannot be undefined",
                ));
            }
            _ => values.push(item.clone()),
        }
    }
    Ok(Pred::In(InSet::new(values, patterns)))
}

/// mongod's truthiness of an operand (`$exists: 0` is false).
fn truthy(arg: &Bson) -> bool {
    match arg {
        Bson::Boolean(b) => *b,
        Bson::Null | Bson::Undefined => false,
        _ => Number::of(arg).is_none_or(|n| n.as_f64() != 0.0),
    }
}

fn type_set(arg: &Bson) -> Result<TypeSet> {
    let mut types = TypeSet::default();
    match arg {
        Bson::Array(items) => {
            for item in items {
                add_type(&mut types, item)?;
            }
        }
        _ => add_type(&mut types, arg)?,
    }
    Ok(types)
}

fn add_type(types: &mut TypeSet, arg: &Bson) -> Result<()> {
    if let Bson::String(alias) = arg {
        return match types.insert_alias(alias) {
            true => Ok(()),
            false => Err(Error::bad_value(format!(
                "Unknown type name alias: {alias}"
            ))),
        };
    }
    let Some(number) = Number::of(arg) else {
        return Err(Error::type_mismatch(
            "type must be represented as a number or a string",
        ));
    };
    let invalid = || Error::bad_value(format!("Invalid numerical type code: {arg}"));
    let code = whole_number(number).ok_or_else(invalid)?;
    match types.insert_code(code) {
        true => Ok(()),
        false => Err(invalid()),
    }
}

/// The value as an integer, if it is one exactly.
fn whole_number(number: Number) -> Option<i64> {
    match number {
        Number::Int(i) => Some(i),
        Number::Double(d) if d.fract() == 0.0 && d.abs() < 9.0e18 => Some(d as i64),
        Number::Double(_) => None,
    }
}

fn all(arg: &Bson, depth: usize) -> Result<Vec<Pred>> {
    let Bson::Array(items) = arg else {
        return Err(Error::bad_value("$all needs an array"));
    };
    let Some(first) = items.first() else {
        return Ok(vec![Pred::Never]);
    };
    let inconsistent = || Error::bad_value("$all/$elemMatch has to be consistent");
    let elem_match_of = |item: &Bson| match item {
        Bson::Document(doc) if doc.keys().next().is_some_and(|k| k == "$elemMatch") => {
            doc.get("$elemMatch").cloned()
        }
        _ => None,
    };
    if elem_match_of(first).is_some() {
        return items
            .iter()
            .map(|item| match elem_match_of(item) {
                Some(inner) => elem_match(&inner, depth),
                None => Err(inconsistent()),
            })
            .collect();
    }
    items
        .iter()
        .map(|item| match item {
            _ if elem_match_of(item).is_some() => Err(inconsistent()),
            Bson::Document(doc) if is_operator_document(doc) => {
                Err(Error::bad_value("no $ expressions in $all"))
            }
            Bson::RegularExpression(regex) => {
                Pattern::new(regex.pattern.as_str(), regex.options.as_str()).map(Pred::Regex)
            }
            _ => comparison(Cmp::Eq, item),
        })
        .collect()
}

pub(super) fn elem_match(arg: &Bson, depth: usize) -> Result<Pred> {
    let Bson::Document(condition) = arg else {
        return Err(Error::bad_value("$elemMatch needs an Object"));
    };
    if is_value_condition(condition) {
        Ok(Pred::ElemMatchValue(operators(condition, depth + 1)?))
    } else {
        Ok(Pred::ElemMatchObject(Box::new(document(
            condition,
            depth + 1,
        )?)))
    }
}

fn size(arg: &Bson) -> Result<usize> {
    let Some(number) = Number::of(arg) else {
        return Err(Error::bad_value("$size needs a number"));
    };
    let whole =
        whole_number(number).ok_or_else(|| Error::bad_value("$size must be a whole number"))?;
    if whole < 0 {
        return Err(Error::bad_value("$size may not be negative"));
    }
    usize::try_from(whole).map_err(|_| Error::bad_value("$size must be a whole number"))
}

fn modulo(arg: &Bson) -> Result<Pred> {
    let Bson::Array(items) = arg else {
        return Err(Error::bad_value("malformed mod, needs to be an array"));
    };
    let (divisor, remainder) = match items.as_slice() {
        [divisor, remainder] => (divisor, remainder),
        [] | [_] => return Err(Error::bad_value("malformed mod, not enough elements")),
        _ => return Err(Error::bad_value("malformed mod, too many elements")),
    };
    let divisor = mod_operand(divisor, "divisor")?;
    let remainder = mod_operand(remainder, "remainder")?;
    if divisor == 0 {
        return Err(Error::bad_value("divisor cannot be 0"));
    }
    Ok(Pred::Mod { divisor, remainder })
}

/// A `$mod` operand truncated towards zero, as mongod takes it.
fn mod_operand(value: &Bson, role: &str) -> Result<i64> {
    match Number::of(value) {
        None => Err(Error::bad_value(format!(
            "malformed mod, {role} not a number"
        ))),
        Some(Number::Int(i)) => Ok(i),
        Some(Number::Double(d)) if d.is_finite() => Ok(d as i64),
        Some(Number::Double(_)) => Err(Error::bad_value(format!(
            "malformed mod, {role} value is invalid"
        ))),
    }
}

fn not(arg: &Bson, depth: usize) -> Result<Vec<Op>> {
    match arg {
        Bson::RegularExpression(regex) => {
            let pattern = Pattern::new(regex.pattern.as_str(), regex.options.as_str())?;
            Ok(vec![Op::Pred(Pred::Regex(pattern))])
        }
        Bson::Document(doc) if doc.is_empty() => Err(Error::bad_value("$not cannot be empty")),
        Bson::Document(doc) => operators(doc, depth + 1),
        _ => Err(Error::bad_value("$not needs a regex or a document")),
    }
}
