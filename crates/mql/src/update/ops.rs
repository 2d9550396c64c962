//! The update operators: parsing each one's argument, and applying it to one
//! concrete target path.
//!
//! Parsing checks everything mongod checks before it reads a document, so a
//! malformed update fails even when it would match nothing. Applying follows
//! mongod's per-operator rules for a target that exists, is missing (most
//! operators create it; `$unset`, `$pop`, `$pull`, `$pullAll` and `$rename`
//! of a missing source do nothing) or cannot exist (PathNotViable, which
//! only `$unset` ignores).
//! The array operators live in [`super::arrays`].

use bson::Bson;

use super::ApplyContext;
use super::arith::{self, ArithOp};
use super::arrays::{self, Push};
use super::display;
use super::path::{self, FieldPath, Location};
use crate::matcher::Filter;
use crate::{Code, Error, Result, order};

/// One operator applied to one path.
pub(crate) enum Op {
    Set(Bson),
    SetOnInsert(Bson),
    Unset,
    Inc(Bson),
    Mul(Bson),
    Min(Bson),
    Max(Bson),
    CurrentDate { timestamp: bool },
    Rename { from: FieldPath },
    Bit(Vec<(BitOp, Bson)>),
    Push(Push),
    AddToSet(Vec<Bson>),
    Pop { first: bool },
    Pull(Box<Filter>),
    PullAll(Vec<Bson>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BitOp {
    And,
    Or,
    Xor,
}

/// The operators mongod knows, in its spelling.
pub(crate) const OPERATORS: &[&str] = &[
    "$set",
    "$setOnInsert",
    "$unset",
    "$inc",
    "$mul",
    "$min",
    "$max",
    "$currentDate",
    "$rename",
    "$bit",
    "$push",
    "$addToSet",
    "$pop",
    "$pull",
    "$pullAll",
];

impl Op {
    /// Parses `{operator: {field: value}}`'s `value` for `field`.
    pub(crate) fn parse(operator: &str, field: &str, value: &Bson) -> Result<Op> {
        Ok(match operator {
            "$set" => Op::Set(value.clone()),
            "$setOnInsert" => Op::SetOnInsert(value.clone()),
            "$unset" => Op::Unset,
            "$inc" => Op::Inc(numeric_argument("increment", field, value)?),
            "$mul" => Op::Mul(numeric_argument("multiply", field, value)?),
            "$min" => Op::Min(value.clone()),
            "$max" => Op::Max(value.clone()),
            "$currentDate" => parse_current_date(value)?,
            "$bit" => parse_bit(value)?,
            "$push" => Op::Push(Push::parse(value)?),
            "$addToSet" => Op::AddToSet(arrays::parse_add_to_set(value)?),
            "$pop" => Op::Pop {
                first: arrays::parse_pop(field, value)?,
            },
            "$pull" => Op::Pull(Box::new(Filter::parse_element(value)?)),
            "$pullAll" => Op::PullAll(arrays::parse_pull_all(value)?),
            other => {
                return Err(Error::failed_to_parse(format!(
                    "Unknown modifier: {other}. Expected a valid update modifier or pipeline-style update specified as an array"
                )));
            }
        })
    }

    /// Applies the operator at `target`, a concrete path in `root`.
    pub(crate) fn apply(
        &self,
        root: &mut Bson,
        target: &[String],
        ctx: &ApplyContext,
    ) -> Result<()> {
        match self {
            Op::Set(value) => path::set(root, target, value.clone()),
            Op::SetOnInsert(value) if ctx.is_upsert_insert => {
                path::set(root, target, value.clone())
            }
            Op::SetOnInsert(_) => Ok(()),
            Op::Unset => {
                path::unset(root, target);
                Ok(())
            }
            Op::Inc(operand) => arithmetic(root, target, ArithOp::Add, operand),
            Op::Mul(operand) => arithmetic(root, target, ArithOp::Mul, operand),
            Op::Min(value) => compare_and_set(root, target, value, std::cmp::Ordering::Less),
            Op::Max(value) => compare_and_set(root, target, value, std::cmp::Ordering::Greater),
            Op::CurrentDate { timestamp } => {
                let now = if *timestamp {
                    Bson::Timestamp(ctx.now_timestamp)
                } else {
                    Bson::DateTime(ctx.now)
                };
                path::set(root, target, now)
            }
            Op::Rename { from } => rename(root, from, target),
            Op::Bit(ops) => bit(root, target, ops),
            Op::Push(push) => arrays::push(root, target, push),
            Op::AddToSet(values) => arrays::add_to_set(root, target, values),
            Op::Pop { first } => arrays::pop(root, target, *first),
            Op::Pull(filter) => {
                arrays::cull(root, target, "$pull", |item| filter.matches_element(item))
            }
            // mongod names `$pull` in `$pullAll`'s errors too.
            Op::PullAll(values) => arrays::cull(root, target, "$pull", |item| {
                values.iter().any(|v| order::equal(v, item))
            }),
        }
    }
}

impl Op {
    /// Whether mongod counts this operator as a modification even when the
    /// bytes come out the same: `$currentDate` always writes, and `$push`
    /// with `$sort` always re-sorts.
    pub(crate) fn always_reports_modified(&self) -> bool {
        match self {
            Op::CurrentDate { .. } => true,
            Op::Push(push) => push.sorts(),
            _ => false,
        }
    }
}

fn numeric_argument(verb: &str, field: &str, value: &Bson) -> Result<Bson> {
    if arith::is_number(value) {
        Ok(value.clone())
    } else {
        Err(Error::type_mismatch(format!(
            "Cannot {verb} with non-numeric argument: {{{}}}",
            display::element(field, value)
        )))
    }
}

fn parse_current_date(value: &Bson) -> Result<Op> {
    match value {
        Bson::Boolean(_) => Ok(Op::CurrentDate { timestamp: false }),
        Bson::Document(spec) => {
            let mut kind = None;
            for (key, v) in spec {
                if key != "$type" {
                    return Err(Error::bad_value(format!(
                        "Unrecognized $currentDate option: {key}"
                    )));
                }
                kind = match v.as_str() {
                    Some("date") => Some(false),
                    Some("timestamp") => Some(true),
                    _ => kind,
                };
            }
            kind.map(|timestamp| Op::CurrentDate { timestamp })
                .ok_or_else(|| {
                    Error::bad_value(
                        "The '$type' string field is required to be 'date' or 'timestamp': {$currentDate: {field : {$type: 'date'}}}",
                    )
                })
        }
        other => Err(Error::bad_value(format!(
            "{} is not valid type for $currentDate. Please use a boolean ('true') or a $type expression ({{$type: 'timestamp/date'}}).",
            display::type_name(other)
        ))),
    }
}

fn parse_bit(value: &Bson) -> Result<Op> {
    let Bson::Document(spec) = value else {
        return Err(Error::bad_value(format!(
            "The $bit modifier is not compatible with a {}. You must pass in an embedded document: {{$bit: {{field: {{and/or/xor: #}}}}",
            display::type_name(value)
        )));
    };
    let mut ops = Vec::new();
    for (key, operand) in spec {
        let op = match key.as_str() {
            "and" => BitOp::And,
            "or" => BitOp::Or,
            "xor" => BitOp::Xor,
            _ => {
                return Err(Error::bad_value(format!(
                    "The $bit modifier only supports 'and', 'or', and 'xor', not '{key}' which is an unknown operator: {{{}}}",
                    display::element(key, operand)
                )));
            }
        };
        if !matches!(operand, Bson::Int32(_) | Bson::Int64(_)) {
            return Err(Error::bad_value(format!(
                "The $bit modifier field must be an Integer(32/64 bit); a '{}' is not supported here: {{{}}}",
                display::type_name(operand),
                display::element(key, operand)
            )));
        }
        ops.push((op, operand.clone()));
    }
    if ops.is_empty() {
        return Err(Error::bad_value(
            "You must pass in at least one bitwise operation. The format is: {$bit: {field: {and/or/xor: #}}",
        ));
    }
    Ok(Op::Bit(ops))
}

fn last_name(target: &[String]) -> &str {
    target.last().map_or("", String::as_str)
}

fn arithmetic(root: &mut Bson, target: &[String], op: ArithOp, operand: &Bson) -> Result<()> {
    // The usual case, an existing number, in one walk; everything else
    // (missing, blocked, not a number, overflow) takes the full path below.
    if let Some(current) = path::get_mut(root, target)
        && arith::is_number(current)
        && let Some(result) = arith::compute(op, current, operand)
    {
        *current = result;
        return Ok(());
    }
    let name = if op == ArithOp::Add { "$inc" } else { "$mul" };
    match path::locate(root, target) {
        Location::Blocked { depth } => Err(path::not_viable(root, target, depth)),
        Location::Missing { .. } => {
            let initial = match op {
                ArithOp::Add => operand.clone(),
                ArithOp::Mul => arith::zero_like(operand),
            };
            path::set(root, target, initial)
        }
        Location::Found => {
            let current = path::get(root, target).cloned().unwrap_or(Bson::Null);
            if !arith::is_number(&current) {
                return Err(Error::type_mismatch(format!(
                    "Cannot apply {name} to a value of non-numeric type. {{{}}} has the field '{}' of non-numeric type {}",
                    display::id_element(root),
                    last_name(target),
                    display::type_name(&current)
                )));
            }
            let result = arith::compute(op, &current, operand).ok_or_else(|| {
                Error::bad_value(format!(
                    "Failed to apply {name} operations to current value ({}{}) for document {{{}}}",
                    if matches!(current, Bson::Int32(_)) {
                        "(NumberInt)"
                    } else {
                        "(NumberLong)"
                    },
                    display::value_str(&current),
                    display::id_element(root)
                ))
            })?;
            path::set(root, target, result)
        }
    }
}

fn compare_and_set(
    root: &mut Bson,
    target: &[String],
    value: &Bson,
    wanted: std::cmp::Ordering,
) -> Result<()> {
    if let Some(current) = path::get(root, target)
        && order::compare(value, current) != wanted
    {
        return Ok(());
    }
    path::set(root, target, value.clone())
}

fn rename(root: &mut Bson, from: &FieldPath, to: &[String]) -> Result<()> {
    // A rename's source is static (parse refused dynamic ones).
    let source = from.components();
    match path::locate(root, source) {
        Location::Missing { .. } => return Ok(()),
        Location::Blocked { depth } => return Err(rename_source_blocked(root, from, depth)),
        Location::Found => {}
    }
    let source_parent = source
        .get(..source.len().saturating_sub(1))
        .unwrap_or_default();
    check_no_array_on_path(root, source_parent, "source", &from.dotted())?;
    let dotted_to = to.join(".");
    let existing_depth = match path::locate(root, to) {
        Location::Found => to.len().saturating_sub(1),
        Location::Missing { depth } => depth,
        Location::Blocked { depth } => return Err(path::not_viable(root, to, depth)),
    };
    check_no_array_on_path(
        root,
        to.get(..existing_depth).unwrap_or_default(),
        "destination",
        &dotted_to,
    )?;
    let value = path::get(root, source).cloned().unwrap_or(Bson::Null);
    path::set(root, to, value)?;
    path::unset(root, source);
    Ok(())
}

/// mongod's message when `$rename`'s source path runs into a value it cannot
/// look inside: it names the part that holds that value.
fn rename_source_blocked(root: &Bson, from: &FieldPath, depth: usize) -> Error {
    let source = from.components();
    let holder = depth
        .checked_sub(1)
        .and_then(|i| source.get(i))
        .map_or("", String::as_str);
    let value = path::get(root, source.get(..depth).unwrap_or_default()).unwrap_or(&Bson::Null);
    Error::new(
        Code::PATH_NOT_VIABLE,
        format!(
            "cannot use the part ({holder} of {}) to traverse the element ({{{}}})",
            from.dotted(),
            display::element(holder, value)
        ),
    )
}

/// `$rename` refuses to move anything into or out of an array.
fn check_no_array_on_path(root: &Bson, prefix: &[String], role: &str, dotted: &str) -> Result<()> {
    for depth in 1..=prefix.len() {
        let Some(sub) = prefix.get(..depth) else {
            break;
        };
        if let Some(Bson::Array(_)) = path::get(root, sub) {
            return Err(Error::bad_value(format!(
                "The {role} field cannot be an array element, '{dotted}' in doc with {} has an array field called '{}'",
                display::id_element(root),
                last_name(sub)
            )));
        }
    }
    Ok(())
}

fn bit(root: &mut Bson, target: &[String], ops: &[(BitOp, Bson)]) -> Result<()> {
    let current = match path::locate(root, target) {
        Location::Blocked { depth } => return Err(path::not_viable(root, target, depth)),
        Location::Missing { .. } => Bson::Int32(0),
        Location::Found => path::get(root, target).cloned().unwrap_or(Bson::Null),
    };
    if !matches!(current, Bson::Int32(_) | Bson::Int64(_)) {
        return Err(Error::bad_value(format!(
            "Cannot apply $bit to a value of non-integral type.{} has the field {} of non-integer type {}",
            display::id_element(root),
            last_name(target),
            display::type_name(&current)
        )));
    }
    let result = ops
        .iter()
        .fold(current, |acc, (op, operand)| bitwise(*op, &acc, operand));
    path::set(root, target, result)
}

fn bitwise(op: BitOp, a: &Bson, b: &Bson) -> Bson {
    let apply = |x: i64, y: i64| match op {
        BitOp::And => x & y,
        BitOp::Or => x | y,
        BitOp::Xor => x ^ y,
    };
    match (a, b) {
        (Bson::Int32(x), Bson::Int32(y)) => Bson::Int32(apply(i64::from(*x), i64::from(*y)) as i32),
        _ => {
            let wide = |v: &Bson| match v {
                Bson::Int32(i) => i64::from(*i),
                Bson::Int64(i) => *i,
                _ => 0,
            };
            Bson::Int64(apply(wide(a), wide(b)))
        }
    }
}

/// The error for an operator whose argument is not a document.
pub(crate) fn not_a_document(operator: &str, value: &Bson) -> Error {
    Error::failed_to_parse(format!(
        "Modifiers operate on fields but we found type {} instead. For example: {{$mod: {{<field>: ...}}}} not {{{}}}",
        display::type_name(value),
        display::element(operator, value)
    ))
}
