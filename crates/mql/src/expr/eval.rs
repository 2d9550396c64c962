//! Evaluating a parsed [`Expr`] against a document.
//!
//! A value is `Option<Bson>`: `None` is mongod's *missing*, which is not
//! null (`{$eq: ["$nope", null]}` is false) and makes `$project` omit a field.
//! Variables live in a small stack searched from the innermost binding out;
//! names borrow from the expression tree, so binding allocates nothing.

use std::cmp::Ordering;

use bson::{Bson, Document};

use super::ast::{DatePart, Expr, Op, Var};
use super::regex::{Compiled, RegexOp};
use super::value::{approx_size, check_size, is_nullish, is_truthy, type_name};
use super::{arith, arrays, convert, date_math, dates, regex, sets, strings};
use crate::{Error, Result, order};

/// The variables in scope during one evaluation.
pub(crate) struct Scope<'a> {
    root: &'a Document,
    vars: Vec<(&'a str, Bson)>,
}

impl<'a> Scope<'a> {
    fn get(&self, name: &str) -> Option<&Bson> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }
}

impl Expr {
    /// Evaluates against `root`; a missing result is reported as null.
    pub fn eval(&self, root: &Document) -> Result<Bson> {
        Ok(self.eval_optional(root)?.unwrap_or(Bson::Null))
    }

    /// Evaluates against `root`, `None` meaning missing (`$$REMOVE`, a path
    /// to nowhere).
    pub fn eval_optional(&self, root: &Document) -> Result<Option<Bson>> {
        self.eval_with(root, &[])
    }

    /// Evaluates with user variables bound (from [`Expr::parse_with_vars`]).
    pub fn eval_with(&self, root: &Document, vars: &[(String, Bson)]) -> Result<Option<Bson>> {
        let mut scope = Scope {
            root,
            vars: vars.iter().map(|(n, v)| (n.as_str(), v.clone())).collect(),
        };
        self.evaluate(&mut scope)
    }

    /// Evaluates and coerces to a boolean, as `$expr` and `$cond` do.
    pub fn is_true(&self, root: &Document) -> Result<bool> {
        Ok(is_truthy(self.eval_optional(root)?.as_ref()))
    }

    pub(crate) fn evaluate<'a>(&'a self, scope: &mut Scope<'a>) -> Result<Option<Bson>> {
        match self {
            Expr::Literal(value) => Ok(Some(value.clone())),
            // The one impure expression, by definition: the thread's
            // generator (seeded from the OS) draws a fresh value each time.
            Expr::Rand => Ok(Some(Bson::Double(rand::random::<f64>()))),
            Expr::Path { var, fields } => Ok(path(scope, var, fields)),
            // Literals can repeat a variable, so nested ones could double a
            // value at every level: their size is checked as they are built.
            Expr::Object(fields) => {
                let mut doc = Document::new();
                let mut bytes = 0;
                for (name, expr) in fields {
                    if let Some(value) = expr.evaluate(scope)? {
                        bytes += approx_size(&value);
                        check_size("an object expression", bytes)?;
                        doc.insert(name.clone(), value);
                    }
                }
                Ok(Some(Bson::Document(doc)))
            }
            Expr::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut bytes = 0;
                for item in items {
                    let value = item.evaluate(scope)?.unwrap_or(Bson::Null);
                    bytes += approx_size(&value);
                    check_size("an array expression", bytes)?;
                    out.push(value);
                }
                Ok(Some(Bson::Array(out)))
            }
            Expr::Op { op, args } => operator(*op, args, scope),
            _ => self.evaluate_compound(scope),
        }
    }

    /// The operators with named arguments, apart from [`Expr::evaluate`] so
    /// that the frame every level of nesting pays stays small: a debug build
    /// gives each arm's temporaries their own stack slots, and with them all
    /// in one function 80 levels of `{$max: [...]}` overflowed a 2 MiB
    /// thread stack (found by the `run_command` fuzz target's seeds).
    #[inline(never)]
    fn evaluate_compound<'a>(&'a self, scope: &mut Scope<'a>) -> Result<Option<Bson>> {
        match self {
            Expr::Let { vars, body } => let_in(scope, vars, body),
            Expr::Filter {
                input,
                var,
                cond,
                limit,
            } => filter(scope, input, var, cond, limit.as_deref()),
            Expr::Map { input, var, body } => map(scope, input, var, body),
            Expr::Reduce {
                input,
                initial,
                body,
            } => reduce(scope, input, initial, body),
            Expr::Switch { branches, default } => switch(scope, branches, default.as_deref()),
            Expr::Trim {
                input,
                chars,
                start,
                end,
            } => trim(scope, input, chars.as_deref(), (*start, *end)),
            Expr::DatePart {
                part,
                date,
                timezone,
            } => date_part(scope, *part, date, timezone.as_deref()),
            Expr::Regex {
                op,
                input,
                regex: pattern,
                options,
                compiled,
            } => regex_op(
                scope,
                *op,
                input,
                pattern,
                options.as_deref(),
                compiled.as_ref(),
            ),
            Expr::DateAdd {
                subtract,
                start,
                unit,
                amount,
                timezone,
            } => date_add(scope, *subtract, [start, unit, amount], timezone.as_deref()),
            Expr::DateDiff {
                start,
                end,
                unit,
                timezone,
                start_of_week,
            } => date_diff(
                scope,
                [start, end, unit],
                timezone.as_deref(),
                start_of_week.as_deref(),
            ),
            Expr::DateToString {
                format,
                date,
                timezone,
                on_null,
            } => date_to_string(
                scope,
                date,
                [format.as_deref(), timezone.as_deref(), on_null.as_deref()],
            ),
            Expr::Convert {
                input,
                to,
                on_error,
                on_null,
            } => convert_op(scope, input, to, [on_error.as_deref(), on_null.as_deref()]),
            // Handled by `evaluate` before it comes here.
            Expr::Literal(_)
            | Expr::Rand
            | Expr::Path { .. }
            | Expr::Object(_)
            | Expr::Array(_)
            | Expr::Op { .. } => self.evaluate(scope),
        }
    }
}

// One function per compound operator, for the stack's sake (see
// `Expr::evaluate_compound`).

fn let_in<'a>(
    scope: &mut Scope<'a>,
    vars: &'a [(String, Expr)],
    body: &'a Expr,
) -> Result<Option<Bson>> {
    let mut values = Vec::with_capacity(vars.len());
    for (name, expr) in vars {
        values.push((name.as_str(), expr.evaluate(scope)?.unwrap_or(Bson::Null)));
    }
    with_bound(scope, values, |scope| body.evaluate(scope))
}

fn switch<'a>(
    scope: &mut Scope<'a>,
    branches: &'a [(Expr, Expr)],
    default: Option<&'a Expr>,
) -> Result<Option<Bson>> {
    for (case, then) in branches {
        if is_truthy(case.evaluate(scope)?.as_ref()) {
            return then.evaluate(scope);
        }
    }
    match default {
        Some(default) => default.evaluate(scope),
        None => Err(Error::location(
            40066,
            "$switch could not find a matching branch for an input, and no default was specified.",
        )),
    }
}

fn trim<'a>(
    scope: &mut Scope<'a>,
    input: &'a Expr,
    chars: Option<&'a Expr>,
    (start, end): (bool, bool),
) -> Result<Option<Bson>> {
    let input = input.evaluate(scope)?;
    let chars = match chars {
        Some(chars) => Some(chars.evaluate(scope)?),
        None => None,
    };
    strings::trim(input, chars, start, end)
}

fn date_part<'a>(
    scope: &mut Scope<'a>,
    part: DatePart,
    date: &'a Expr,
    timezone: Option<&'a Expr>,
) -> Result<Option<Bson>> {
    let date = date.evaluate(scope)?;
    let timezone = optional(timezone, scope)?;
    dates::date_part(part, date, timezone)
}

fn regex_op<'a>(
    scope: &mut Scope<'a>,
    op: RegexOp,
    input: &'a Expr,
    pattern: &'a Expr,
    options: Option<&'a Expr>,
    compiled: Option<&'a Compiled>,
) -> Result<Option<Bson>> {
    let input = input.evaluate(scope)?;
    if let Some(compiled) = compiled {
        return regex::apply(op, input.as_ref(), Some(compiled));
    }
    let pattern = pattern.evaluate(scope)?.unwrap_or(Bson::Null);
    let options = optional(options, scope)?.flatten();
    let compiled = regex::compile(op, &pattern, options.as_ref())?;
    regex::apply(op, input.as_ref(), compiled.as_ref())
}

/// `[start, unit, amount]`.
fn date_add<'a>(
    scope: &mut Scope<'a>,
    subtract: bool,
    [start, unit, amount]: [&'a Expr; 3],
    timezone: Option<&'a Expr>,
) -> Result<Option<Bson>> {
    let start = start.evaluate(scope)?;
    let unit = unit.evaluate(scope)?;
    let amount = amount.evaluate(scope)?;
    let timezone = optional(timezone, scope)?;
    date_math::add(subtract, start, unit, amount, timezone)
}

/// `[start, end, unit]`.
fn date_diff<'a>(
    scope: &mut Scope<'a>,
    [start, end, unit]: [&'a Expr; 3],
    timezone: Option<&'a Expr>,
    start_of_week: Option<&'a Expr>,
) -> Result<Option<Bson>> {
    let start = start.evaluate(scope)?;
    let end = end.evaluate(scope)?;
    let unit = unit.evaluate(scope)?;
    let timezone = optional(timezone, scope)?;
    let start_of_week = optional(start_of_week, scope)?;
    date_math::diff(start, end, unit, timezone, start_of_week)
}

/// `[format, timezone, onNull]`.
fn date_to_string<'a>(
    scope: &mut Scope<'a>,
    date: &'a Expr,
    [format, timezone, on_null]: [Option<&'a Expr>; 3],
) -> Result<Option<Bson>> {
    let format = optional(format, scope)?;
    let date = date.evaluate(scope)?;
    let timezone = optional(timezone, scope)?;
    let on_null = optional(on_null, scope)?;
    dates::date_to_string(format, date, timezone, on_null)
}

/// `[onError, onNull]`.
fn convert_op<'a>(
    scope: &mut Scope<'a>,
    input: &'a Expr,
    to: &'a Expr,
    [on_error, on_null]: [Option<&'a Expr>; 2],
) -> Result<Option<Bson>> {
    let input = input.evaluate(scope)?;
    let to = to.evaluate(scope)?;
    let on_error = match on_error {
        Some(e) => Some(e.evaluate(scope)?),
        None => None,
    };
    let on_null = match on_null {
        Some(e) => Some(e.evaluate(scope)?),
        None => None,
    };
    convert::convert(input, to, on_error, on_null)
}

/// Evaluates an optional argument: `None` when absent, `Some(None)` when missing.
fn optional<'a>(expr: Option<&'a Expr>, scope: &mut Scope<'a>) -> Result<Option<Option<Bson>>> {
    expr.map(|e| e.evaluate(scope)).transpose()
}

fn with_bound<'a, T>(
    scope: &mut Scope<'a>,
    values: Vec<(&'a str, Bson)>,
    f: impl FnOnce(&mut Scope<'a>) -> Result<T>,
) -> Result<T> {
    let depth = scope.vars.len();
    scope.vars.extend(values);
    let result = f(scope);
    scope.vars.truncate(depth);
    result
}

fn path(scope: &Scope<'_>, var: &Var, fields: &[String]) -> Option<Bson> {
    match var {
        Var::Root | Var::Current => {
            if fields.is_empty() {
                Some(Bson::Document(scope.root.clone()))
            } else {
                lookup_document(scope.root, fields)
            }
        }
        Var::Remove => None,
        Var::User(name) => {
            let value = scope.get(name)?;
            if fields.is_empty() {
                Some(value.clone())
            } else {
                lookup_value(value, fields)
            }
        }
    }
}

/// Follows `fields` into a document; through an array, collects the path's
/// value from every element that is a document (mongod's field-path rule).
pub(crate) fn lookup_document(doc: &Document, fields: &[String]) -> Option<Bson> {
    let (first, rest) = fields.split_first()?;
    let value = doc.get(first)?;
    if rest.is_empty() {
        Some(value.clone())
    } else {
        lookup_value(value, rest)
    }
}

fn lookup_value(value: &Bson, fields: &[String]) -> Option<Bson> {
    match value {
        Bson::Document(doc) => lookup_document(doc, fields),
        Bson::Array(items) => Some(Bson::Array(
            items
                .iter()
                .filter_map(|item| match item {
                    Bson::Document(doc) => lookup_document(doc, fields),
                    _ => None,
                })
                .collect(),
        )),
        _ => None,
    }
}

/// Orders two possibly-missing values as mongod's value comparator does:
/// missing ranks with undefined, above MinKey and below everything else.
pub(crate) fn compare_optional(a: Option<&Bson>, b: Option<&Bson>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => order::compare(a, b),
        (None, None) => Ordering::Equal,
        (None, Some(other)) => missing_versus(other),
        (Some(other), None) => missing_versus(other).reverse(),
    }
}

fn missing_versus(other: &Bson) -> Ordering {
    match other {
        Bson::MinKey => Ordering::Greater,
        Bson::Undefined => Ordering::Equal,
        _ => Ordering::Less,
    }
}

/// Borrows an argument's value without evaluating it, when it is a constant
/// or a path that runs through documents only: the common shape of `$expr`
/// comparisons, which then compare without cloning. `None`: not borrowable.
fn peek<'s>(expr: &'s Expr, scope: &'s Scope<'_>) -> Option<Option<&'s Bson>> {
    match expr {
        Expr::Literal(value) => Some(Some(value)),
        Expr::Path { var, fields } => match var {
            Var::Root | Var::Current => {
                let (first, rest) = fields.split_first()?;
                match scope.root.get(first) {
                    Some(value) => walk(value, rest),
                    None => Some(None),
                }
            }
            Var::Remove => Some(None),
            Var::User(name) => walk(scope.get(name)?, fields),
        },
        _ => None,
    }
}

fn walk<'s>(mut current: &'s Bson, fields: &[String]) -> Option<Option<&'s Bson>> {
    for field in fields {
        match current {
            Bson::Document(doc) => match doc.get(field) {
                Some(next) => current = next,
                None => return Some(None),
            },
            // Paths through arrays build new arrays; evaluate those normally.
            Bson::Array(_) => return None,
            _ => return Some(None),
        }
    }
    Some(Some(current))
}

fn comparison(op: Op) -> Option<fn(Ordering) -> bool> {
    Some(match op {
        Op::Eq => |o| o == Ordering::Equal,
        Op::Ne => |o| o != Ordering::Equal,
        Op::Gt => |o| o == Ordering::Greater,
        Op::Gte => |o| o != Ordering::Less,
        Op::Lt => |o| o == Ordering::Less,
        Op::Lte => |o| o != Ordering::Greater,
        _ => return None,
    })
}

fn operator<'a>(op: Op, args: &'a [Expr], scope: &mut Scope<'a>) -> Result<Option<Bson>> {
    if let (Some(want), [left, right]) = (comparison(op), args)
        && let (Some(l), Some(r)) = (peek(left, scope), peek(right, scope))
    {
        return Ok(Some(Bson::Boolean(want(compare_optional(l, r)))));
    }
    // Operators that must not evaluate every argument come first.
    match op {
        Op::And => {
            for arg in args {
                if !is_truthy(arg.evaluate(scope)?.as_ref()) {
                    return Ok(Some(Bson::Boolean(false)));
                }
            }
            return Ok(Some(Bson::Boolean(true)));
        }
        Op::Or => {
            for arg in args {
                if is_truthy(arg.evaluate(scope)?.as_ref()) {
                    return Ok(Some(Bson::Boolean(true)));
                }
            }
            return Ok(Some(Bson::Boolean(false)));
        }
        Op::Cond => {
            let [cond, then, otherwise] = args else {
                return Ok(None);
            };
            let branch = if is_truthy(cond.evaluate(scope)?.as_ref()) {
                then
            } else {
                otherwise
            };
            return branch.evaluate(scope);
        }
        Op::IfNull => {
            let Some((last, init)) = args.split_last() else {
                return Ok(None);
            };
            for arg in init {
                let value = arg.evaluate(scope)?;
                if !is_nullish(value.as_ref()) {
                    return Ok(value);
                }
            }
            return last.evaluate(scope);
        }
        _ => {}
    }
    let mut values = Vec::with_capacity(args.len());
    for arg in args {
        values.push(arg.evaluate(scope)?);
    }
    apply(op, values)
}

fn apply(op: Op, values: Vec<Option<Bson>>) -> Result<Option<Bson>> {
    if let Some(want) = comparison(op) {
        let ord = compare_optional(arg(&values, 0), arg(&values, 1));
        return Ok(Some(Bson::Boolean(want(ord))));
    }
    match op {
        Op::Cmp => {
            let ord = compare_optional(arg(&values, 0), arg(&values, 1));
            Ok(Some(Bson::Int32(ord as i32)))
        }
        Op::Not => Ok(Some(Bson::Boolean(!is_truthy(arg(&values, 0))))),
        Op::Type => Ok(Some(Bson::String(type_name(arg(&values, 0)).into()))),
        Op::MergeObjects => merge_objects(values),
        Op::GetField | Op::SetField | Op::UnsetField => field_op(op, values),
        _ => arith::apply(op, &values)
            .or_else(|| strings::apply(op, &values))
            .or_else(|| arrays::apply(op, &values))
            .or_else(|| convert::apply(op, &values))
            .or_else(|| sets::apply(op, &values))
            .unwrap_or(Ok(None)),
    }
}

/// The `i`th argument, `None` when missing (or absent, which parsing rules out).
pub(crate) fn arg(values: &[Option<Bson>], i: usize) -> Option<&Bson> {
    values.get(i).and_then(Option::as_ref)
}

/// `$getField` / `$setField` / `$unsetField` over `[field, input, value?]`.
fn field_op(op: Op, values: Vec<Option<Bson>>) -> Result<Option<Bson>> {
    let mut values = values.into_iter();
    let field = match values.next().flatten() {
        Some(Bson::String(field)) => field,
        other => {
            return Err(Error::location(
                3041704,
                format!(
                    "{op:?} requires 'field' to evaluate to a string, found {}",
                    type_name(other.as_ref())
                ),
            ));
        }
    };
    let input = values.next().flatten();
    let mut doc = match input {
        Some(Bson::Document(doc)) => doc,
        None | Some(Bson::Null) | Some(Bson::Undefined) if op == Op::GetField => return Ok(None),
        None | Some(Bson::Null) | Some(Bson::Undefined) => return Ok(Some(Bson::Null)),
        Some(other) => {
            return Err(Error::location(
                3041705,
                format!(
                    "{op:?} requires 'input' to evaluate to an object, found {}",
                    type_name(Some(&other))
                ),
            ));
        }
    };
    match op {
        Op::GetField => Ok(doc.get(&field).cloned()),
        Op::SetField => {
            match values.next().flatten() {
                Some(value) => {
                    doc.insert(field, value);
                }
                None => {
                    doc.remove(&field);
                }
            }
            Ok(Some(Bson::Document(doc)))
        }
        _ => {
            doc.remove(&field);
            Ok(Some(Bson::Document(doc)))
        }
    }
}

fn merge_objects(values: Vec<Option<Bson>>) -> Result<Option<Bson>> {
    let mut out = Document::new();
    for value in values.into_iter().flatten() {
        match value {
            Bson::Document(doc) => {
                for (k, v) in doc {
                    out.insert(k, v);
                }
            }
            Bson::Null | Bson::Undefined => {}
            other => {
                return Err(Error::location(
                    40400,
                    format!(
                        "$mergeObjects requires object inputs, but input {other} is of type {}",
                        type_name(Some(&other))
                    ),
                ));
            }
        }
    }
    Ok(Some(Bson::Document(out)))
}

fn array_input(op: &str, value: Option<Bson>, code: i32) -> Result<Option<Vec<Bson>>> {
    match value {
        v if is_nullish(v.as_ref()) => Ok(None),
        Some(Bson::Array(items)) => Ok(Some(items)),
        other => Err(Error::location(
            code,
            format!(
                "input to {op} must be an array not {}",
                type_name(other.as_ref())
            ),
        )),
    }
}

fn filter<'a>(
    scope: &mut Scope<'a>,
    input: &'a Expr,
    var: &'a str,
    cond: &'a Expr,
    limit: Option<&'a Expr>,
) -> Result<Option<Bson>> {
    let Some(items) = array_input("$filter", input.evaluate(scope)?, 28651)? else {
        return Ok(Some(Bson::Null));
    };
    let limit = match limit {
        None => usize::MAX,
        Some(limit) => match limit.evaluate(scope)? {
            v if is_nullish(v.as_ref()) => usize::MAX,
            Some(v) => match arith::as_exact_i64(&v) {
                Some(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
                Some(_) => {
                    return Err(Error::location(
                        327391,
                        format!("$filter: limit must be greater than 0: {v}"),
                    ));
                }
                None => {
                    return Err(Error::location(
                        327392,
                        format!(
                            "$filter: limit must be represented as a 32-bit integral value: {v}"
                        ),
                    ));
                }
            },
            None => usize::MAX,
        },
    };
    let mut out = Vec::new();
    for item in items {
        if out.len() >= limit {
            break;
        }
        let keep = with_bound(scope, vec![(var, item.clone())], |scope| {
            cond.evaluate(scope)
        })?;
        if is_truthy(keep.as_ref()) {
            out.push(item);
        }
    }
    Ok(Some(Bson::Array(out)))
}

fn map<'a>(
    scope: &mut Scope<'a>,
    input: &'a Expr,
    var: &'a str,
    body: &'a Expr,
) -> Result<Option<Bson>> {
    let Some(items) = array_input("$map", input.evaluate(scope)?, 16883)? else {
        return Ok(Some(Bson::Null));
    };
    let mut out = Vec::with_capacity(items.len());
    let mut bytes = 0;
    for item in items {
        let value = with_bound(scope, vec![(var, item)], |scope| body.evaluate(scope))?
            .unwrap_or(Bson::Null);
        bytes += approx_size(&value);
        check_size("$map", bytes)?;
        out.push(value);
    }
    Ok(Some(Bson::Array(out)))
}

fn reduce<'a>(
    scope: &mut Scope<'a>,
    input: &'a Expr,
    initial: &'a Expr,
    body: &'a Expr,
) -> Result<Option<Bson>> {
    let items = match input.evaluate(scope)? {
        v if is_nullish(v.as_ref()) => return Ok(Some(Bson::Null)),
        Some(Bson::Array(items)) => items,
        other => {
            return Err(Error::location(
                40080,
                format!(
                    "$reduce requires that 'input' be an array, found: {}",
                    type_name(other.as_ref())
                ),
            ));
        }
    };
    let mut acc = initial.evaluate(scope)?.unwrap_or(Bson::Null);
    for item in items {
        acc = with_bound(scope, vec![("value", acc), ("this", item)], |scope| {
            body.evaluate(scope)
        })?
        .unwrap_or(Bson::Null);
        check_size("$reduce", approx_size(&acc))?;
    }
    Ok(Some(acc))
}
