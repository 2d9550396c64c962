//! Parsing BSON into an [`Expr`], with mongod's parse-time errors.
//!
//! The parser tracks which user variables are in scope, so a reference to an
//! unbound `$$x` fails at parse time (17276) rather than per document, and it
//! counts nesting depth so deeply nested input cannot exhaust the stack.

use bson::{Bson, Document};

use super::EXPR_DEPTH_MAX;
use super::ast::{DatePart, Expr, Op, Var};
use super::regex::{RegexOp, compile};
use crate::{Code, Error, Result};

impl Expr {
    /// Parses an expression operand: a `$`-path, an operator object, an
    /// object or array literal, or a constant.
    pub fn parse(value: &Bson) -> Result<Expr> {
        Parser::default().operand(value)
    }

    /// Parses with the named user variables already bound (for `$lookup`'s
    /// `let`, whose values the caller supplies to [`Expr::eval_with`]).
    pub fn parse_with_vars(value: &Bson, vars: &[String]) -> Result<Expr> {
        let mut parser = Parser {
            vars: vars.to_vec(),
            depth: 0,
        };
        parser.operand(value)
    }
}

#[derive(Default)]
struct Parser {
    vars: Vec<String>,
    depth: usize,
}

fn err(code: i32, message: impl Into<String>) -> Error {
    Error::location(code, message)
}

impl Parser {
    fn operand(&mut self, value: &Bson) -> Result<Expr> {
        self.depth += 1;
        if self.depth > EXPR_DEPTH_MAX {
            return Err(Error::new(
                Code::OVERFLOW,
                format!("expression nesting exceeds the limit of {EXPR_DEPTH_MAX} levels"),
            ));
        }
        let parsed = match value {
            Bson::String(s) if s.starts_with('$') => self.path(s),
            Bson::Document(doc) => self.object(doc),
            Bson::Array(items) => items
                .iter()
                .map(|item| self.operand(item))
                .collect::<Result<_>>()
                .map(Expr::Array),
            other => Ok(Expr::Literal(other.clone())),
        };
        self.depth -= 1;
        parsed
    }

    fn boxed(&mut self, value: &Bson) -> Result<Box<Expr>> {
        self.operand(value).map(Box::new)
    }

    fn path(&self, text: &str) -> Result<Expr> {
        let Some(rest) = text.strip_prefix("$$") else {
            let body = &text[1..];
            if body.is_empty() {
                return Err(err(16872, "'$' by itself is not a valid FieldPath"));
            }
            let fields = field_path(body)?;
            return Ok(Expr::Path {
                var: Var::Current,
                fields,
            });
        };
        let (name, tail) = match rest.split_once('.') {
            Some((name, tail)) => (name, Some(tail)),
            None => (rest, None),
        };
        let var = match name {
            "ROOT" => Var::Root,
            "CURRENT" => Var::Current,
            "REMOVE" => Var::Remove,
            // System variables whose values the caller supplies per run
            // (see `Expr::eval_with`); unsupplied, they are missing.
            "NOW" | "CLUSTER_TIME" => Var::User(name.to_string()),
            _ => {
                validate_var_name(name, 16869, 16870, 16871)?;
                if !self.vars.iter().any(|v| v == name) {
                    return Err(err(17276, format!("Use of undefined variable: {name}")));
                }
                Var::User(name.to_string())
            }
        };
        let fields = match tail {
            Some(tail) => field_path(tail)?,
            None => Vec::new(),
        };
        Ok(Expr::Path { var, fields })
    }

    fn object(&mut self, doc: &Document) -> Result<Expr> {
        let Some((first, first_value)) = doc.iter().next() else {
            return Ok(Expr::Object(Vec::new()));
        };
        if first.starts_with('$') {
            if doc.len() != 1 {
                return Err(err(
                    15983,
                    format!(
                        "An object representing an expression must have exactly one field: {doc}"
                    ),
                ));
            }
            return self.operator(first, first_value);
        }
        let mut fields: Vec<(String, Expr)> = Vec::with_capacity(doc.len());
        for (key, value) in doc {
            validate_field_name(key)?;
            if fields.iter().any(|(k, _)| k == key) {
                return Err(err(
                    16406,
                    format!("duplicate field name specified in object literal: {doc}"),
                ));
            }
            fields.push((key.clone(), self.operand(value)?));
        }
        Ok(Expr::Object(fields))
    }

    fn operator(&mut self, name: &str, value: &Bson) -> Result<Expr> {
        match name {
            "$literal" | "$const" => Ok(Expr::Literal(value.clone())),
            "$rand" => match value {
                Bson::Document(args) if args.is_empty() => Ok(Expr::Rand),
                _ => Err(err(3040500, "$rand does not currently accept arguments")),
            },
            "$let" => self.let_(value),
            "$filter" => self.filter(value),
            "$map" => self.map(value),
            "$reduce" => self.reduce(value),
            "$switch" => self.switch(value),
            "$trim" | "$ltrim" | "$rtrim" => self.trim(name, value),
            "$convert" => self.convert(value),
            "$cond" if matches!(value, Bson::Document(_)) => self.cond_document(value),
            "$dateToString" => self.date_to_string(value),
            "$dateAdd" | "$dateSubtract" => self.date_add(name, value),
            "$dateDiff" => self.date_diff(value),
            "$regexMatch" | "$regexFind" | "$regexFindAll" => self.regex(name, value),
            "$getField" | "$setField" | "$unsetField" => self.field_op(name, value),
            _ if DatePart::from_name(name).is_some() => self.date_part(name, value),
            _ => {
                let op = name
                    .strip_prefix('$')
                    .and_then(Op::from_name)
                    .ok_or_else(|| {
                        Error::new(
                            Code::INVALID_PIPELINE_OPERATOR,
                            format!("Unrecognized expression '{name}'"),
                        )
                    })?;
                let args = match value {
                    Bson::Array(items) => items
                        .iter()
                        .map(|item| self.operand(item))
                        .collect::<Result<Vec<_>>>()?,
                    single => vec![self.operand(single)?],
                };
                check_arity(op, args.len())?;
                Ok(Expr::Op { op, args })
            }
        }
    }

    fn cond_document(&mut self, value: &Bson) -> Result<Expr> {
        let spec = named_args(value, "$cond", 17083, &["if", "then", "else"])?;
        let mut args = Vec::with_capacity(3);
        for (name, code) in [("if", 17080), ("then", 17081), ("else", 17082)] {
            let arg = spec
                .get(name)
                .ok_or_else(|| err(code, format!("Missing '{name}' parameter to $cond")))?;
            args.push(self.operand(arg)?);
        }
        Ok(Expr::Op { op: Op::Cond, args })
    }

    fn let_(&mut self, value: &Bson) -> Result<Expr> {
        let Bson::Document(spec) = value else {
            return Err(err(16874, "$let only supports an object as its argument"));
        };
        check_keys(spec, &["vars", "in"], |k| {
            err(16875, format!("Unrecognized parameter to $let: {k}"))
        })?;
        let vars_spec = match spec.get("vars") {
            Some(Bson::Document(vars)) => vars,
            Some(other) => {
                return Err(err(
                    10065,
                    format!("invalid parameter: expected an object (vars): {other}"),
                ));
            }
            None => return Err(err(16876, "Missing 'vars' parameter to $let")),
        };
        let body = spec
            .get("in")
            .ok_or_else(|| err(16877, "Missing 'in' parameter to $let"))?;
        // Variable definitions see only the enclosing scope, as in mongod.
        let mut vars = Vec::with_capacity(vars_spec.len());
        for (name, definition) in vars_spec {
            validate_var_name(name, 16866, 16867, 16868)?;
            vars.push((name.clone(), self.operand(definition)?));
        }
        let bound = self.vars.len();
        self.vars.extend(vars.iter().map(|(name, _)| name.clone()));
        let body = self.boxed(body);
        self.vars.truncate(bound);
        Ok(Expr::Let { vars, body: body? })
    }

    fn bound_var(&mut self, spec: &Document) -> Result<String> {
        match spec.get("as") {
            None | Some(Bson::Null) => Ok("this".to_string()),
            Some(Bson::String(name)) => {
                validate_var_name(name, 16866, 16867, 16868)?;
                Ok(name.clone())
            }
            Some(other) => Err(err(
                16866,
                format!("'as' must be a string variable name, found {other}"),
            )),
        }
    }

    fn with_vars<T>(
        &mut self,
        names: &[&str],
        f: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        let bound = self.vars.len();
        self.vars.extend(names.iter().map(|n| n.to_string()));
        let result = f(self);
        self.vars.truncate(bound);
        result
    }

    fn filter(&mut self, value: &Bson) -> Result<Expr> {
        let Bson::Document(spec) = value else {
            return Err(err(
                28646,
                "$filter only supports an object as its argument",
            ));
        };
        check_keys(spec, &["input", "as", "cond", "limit"], |k| {
            err(28647, format!("Unrecognized parameter to $filter: {k}"))
        })?;
        let input = spec
            .get("input")
            .ok_or_else(|| err(28648, "Missing 'input' parameter to $filter"))?;
        let cond = spec
            .get("cond")
            .ok_or_else(|| err(28650, "Missing 'cond' parameter to $filter"))?;
        let input = self.boxed(input)?;
        let limit = spec.get("limit").map(|l| self.boxed(l)).transpose()?;
        let var = self.bound_var(spec)?;
        let cond = self.with_vars(&[&var], |p| p.boxed(cond))?;
        Ok(Expr::Filter {
            input,
            var,
            cond,
            limit,
        })
    }

    fn map(&mut self, value: &Bson) -> Result<Expr> {
        let Bson::Document(spec) = value else {
            return Err(err(16878, "$map only supports an object as its argument"));
        };
        check_keys(spec, &["input", "as", "in"], |k| {
            err(16879, format!("Unrecognized parameter to $map: {k}"))
        })?;
        let input = spec
            .get("input")
            .ok_or_else(|| err(16880, "Missing 'input' parameter to $map"))?;
        let body = spec
            .get("in")
            .ok_or_else(|| err(16882, "Missing 'in' parameter to $map"))?;
        let input = self.boxed(input)?;
        let var = self.bound_var(spec)?;
        let body = self.with_vars(&[&var], |p| p.boxed(body))?;
        Ok(Expr::Map { input, var, body })
    }

    fn reduce(&mut self, value: &Bson) -> Result<Expr> {
        let Bson::Document(spec) = value else {
            return Err(err(40075, "$reduce requires an object as an argument"));
        };
        check_keys(spec, &["input", "initialValue", "in"], |k| {
            err(40076, format!("$reduce found an unknown argument: {k}"))
        })?;
        let input = spec
            .get("input")
            .ok_or_else(|| err(40077, "$reduce requires 'input' to be specified"))?;
        let initial = spec
            .get("initialValue")
            .ok_or_else(|| err(40078, "$reduce requires 'initialValue' to be specified"))?;
        let body = spec
            .get("in")
            .ok_or_else(|| err(40079, "$reduce requires 'in' to be specified"))?;
        let input = self.boxed(input)?;
        let initial = self.boxed(initial)?;
        let body = self.with_vars(&["value", "this"], |p| p.boxed(body))?;
        Ok(Expr::Reduce {
            input,
            initial,
            body,
        })
    }

    fn switch(&mut self, value: &Bson) -> Result<Expr> {
        let Bson::Document(spec) = value else {
            return Err(err(
                40060,
                format!("$switch requires an object as an argument, found: {value}"),
            ));
        };
        let mut branches = Vec::new();
        let mut default = None;
        for (key, arg) in spec {
            match key.as_str() {
                "branches" => {
                    let Bson::Array(items) = arg else {
                        return Err(err(
                            40061,
                            format!("$switch expected an array for 'branches', found: {arg}"),
                        ));
                    };
                    for item in items {
                        branches.push(self.branch(item)?);
                    }
                }
                "default" => default = Some(self.boxed(arg)?),
                _ => {
                    return Err(err(
                        40067,
                        format!("$switch found an unknown argument: {key}"),
                    ));
                }
            }
        }
        if branches.is_empty() {
            return Err(err(40068, "$switch requires at least one branch."));
        }
        Ok(Expr::Switch { branches, default })
    }

    fn branch(&mut self, item: &Bson) -> Result<(Expr, Expr)> {
        let Bson::Document(branch) = item else {
            return Err(err(
                40062,
                format!("$switch expected each branch to be an object, found: {item}"),
            ));
        };
        check_keys(branch, &["case", "then"], |k| {
            err(
                40063,
                format!("$switch found an unknown argument to a branch: {k}"),
            )
        })?;
        let case = branch.get("case").ok_or_else(|| {
            err(
                40064,
                "$switch requires each branch have a 'case' expression",
            )
        })?;
        let then = branch.get("then").ok_or_else(|| {
            err(
                40065,
                "$switch requires each branch have a 'then' expression.",
            )
        })?;
        Ok((self.operand(case)?, self.operand(then)?))
    }

    /// `$getField`, `$setField`, `$unsetField`: read or write a field whose
    /// name may hold `.` or start with `$`, which paths cannot express.
    fn field_op(&mut self, name: &str, value: &Bson) -> Result<Expr> {
        let current = || Expr::Path {
            var: Var::Current,
            fields: Vec::new(),
        };
        let shorthand = match value {
            Bson::String(_) => true,
            Bson::Document(spec) => spec.keys().next().is_some_and(|k| k.starts_with('$')),
            _ => false,
        };
        if shorthand && name == "$getField" {
            let args = vec![self.operand(value)?, current()];
            return Ok(Expr::Op {
                op: Op::GetField,
                args,
            });
        }
        let (op, known, code): (Op, &[&str], i32) = match name {
            "$getField" => (Op::GetField, &["field", "input"], 3041701),
            "$setField" => (Op::SetField, &["field", "input", "value"], 4161101),
            _ => (Op::UnsetField, &["field", "input"], 4161101),
        };
        let spec = named_args(value, name, code, known)?;
        let required = |key: &str| {
            spec.get(key)
                .ok_or_else(|| err(code, format!("{name} requires '{key}' to be specified")))
        };
        let field = self.operand(required("field")?)?;
        let input = match spec.get("input") {
            Some(input) => self.operand(input)?,
            None if op == Op::GetField => current(),
            None => {
                return Err(err(
                    code,
                    format!("{name} requires 'input' to be specified"),
                ));
            }
        };
        let mut args = vec![field, input];
        if op == Op::SetField {
            args.push(self.operand(required("value")?)?);
        }
        Ok(Expr::Op { op, args })
    }

    fn trim(&mut self, name: &str, value: &Bson) -> Result<Expr> {
        let Bson::Document(spec) = value else {
            return Err(err(
                50696,
                format!("{name} only supports an object as an argument, found: {value}"),
            ));
        };
        check_keys(spec, &["input", "chars"], |k| {
            err(50694, format!("{name} found an unknown argument: {k}"))
        })?;
        let input = spec
            .get("input")
            .ok_or_else(|| err(50695, format!("{name} requires an 'input' field")))?;
        Ok(Expr::Trim {
            input: self.boxed(input)?,
            chars: spec.get("chars").map(|c| self.boxed(c)).transpose()?,
            start: name != "$rtrim",
            end: name != "$ltrim",
        })
    }

    fn date_part(&mut self, name: &str, value: &Bson) -> Result<Expr> {
        let Some(part) = DatePart::from_name(name) else {
            return Err(Error::new(
                Code::INVALID_PIPELINE_OPERATOR,
                format!("Unrecognized expression '{name}'"),
            ));
        };
        let (date, timezone) = match value {
            Bson::Document(spec) if !spec.keys().next().is_some_and(|k| k.starts_with('$')) => {
                check_keys(spec, &["date", "timezone"], |k| {
                    err(40535, format!("unrecognized option to {name}: \"{k}\""))
                })?;
                let date = spec.get("date").ok_or_else(|| {
                    err(
                        40539,
                        format!("missing 'date' argument to {name}, provided: {spec}"),
                    )
                })?;
                (date, spec.get("timezone"))
            }
            Bson::Array(items) => match items.as_slice() {
                [date] => (date, None),
                _ => {
                    return Err(err(
                        40536,
                        format!(
                            "{name} accepts exactly one argument if given an array, but was given {}",
                            items.len()
                        ),
                    ));
                }
            },
            date => (date, None),
        };
        Ok(Expr::DatePart {
            part,
            date: self.boxed(date)?,
            timezone: timezone.map(|t| self.boxed(t)).transpose()?,
        })
    }

    fn regex(&mut self, name: &str, value: &Bson) -> Result<Expr> {
        let Some(op) = RegexOp::from_name(name) else {
            return Err(Error::new(
                Code::INVALID_PIPELINE_OPERATOR,
                format!("Unrecognized expression '{name}'"),
            ));
        };
        let Bson::Document(spec) = value else {
            return Err(err(
                51103,
                format!(
                    "{name} expects an object of named arguments but found: {}",
                    super::value::type_name(Some(value))
                ),
            ));
        };
        check_keys(spec, &["input", "regex", "options"], |k| {
            err(31024, format!("{name} found an unknown argument: {k}"))
        })?;
        let input = spec
            .get("input")
            .ok_or_else(|| err(31022, format!("{name} requires 'input' parameter")))?;
        let regex = spec
            .get("regex")
            .ok_or_else(|| err(31023, format!("{name} requires 'regex' parameter")))?;
        let options = spec.get("options");
        let regex = self.boxed(regex)?;
        let options = options.map(|o| self.boxed(o)).transpose()?;
        let compiled = match (regex.as_ref(), options.as_deref()) {
            (Expr::Literal(pattern), None) => compile(op, pattern, None)?,
            (Expr::Literal(pattern), Some(Expr::Literal(o))) => compile(op, pattern, Some(o))?,
            _ => None,
        };
        Ok(Expr::Regex {
            op,
            input: self.boxed(input)?,
            regex,
            options,
            compiled,
        })
    }

    fn date_add(&mut self, name: &str, value: &Bson) -> Result<Expr> {
        let Bson::Document(spec) = value else {
            return Err(err(
                5166400,
                format!("{name} expects an object as its argument"),
            ));
        };
        check_keys(spec, &["startDate", "unit", "amount", "timezone"], |k| {
            err(
                5166401,
                format!(
                    "Unrecognized argument to {name}: {k}. Expected arguments are startDate, unit, amount, and optionally timezone."
                ),
            )
        })?;
        let required = |key: &str| {
            spec.get(key).ok_or_else(|| {
                err(
                    5166402,
                    format!("{name} requires startDate, unit, and amount to be present"),
                )
            })
        };
        let (start, unit, amount) = (
            required("startDate")?,
            required("unit")?,
            required("amount")?,
        );
        Ok(Expr::DateAdd {
            subtract: name == "$dateSubtract",
            start: self.boxed(start)?,
            unit: self.boxed(unit)?,
            amount: self.boxed(amount)?,
            timezone: spec.get("timezone").map(|t| self.boxed(t)).transpose()?,
        })
    }

    fn date_diff(&mut self, value: &Bson) -> Result<Expr> {
        let Bson::Document(spec) = value else {
            return Err(err(
                5166301,
                "$dateDiff only supports an object as its argument",
            ));
        };
        check_keys(
            spec,
            &["startDate", "endDate", "unit", "timezone", "startOfWeek"],
            |k| err(5166302, format!("Unrecognized argument to $dateDiff: {k}")),
        )?;
        let required = |key: &'static str, code: i32| {
            spec.get(key)
                .ok_or_else(|| err(code, format!("Missing '{key}' parameter to $dateDiff")))
        };
        let (start, end, unit) = (
            required("startDate", 5166303)?,
            required("endDate", 5166304)?,
            required("unit", 5166305)?,
        );
        Ok(Expr::DateDiff {
            start: self.boxed(start)?,
            end: self.boxed(end)?,
            unit: self.boxed(unit)?,
            timezone: spec.get("timezone").map(|t| self.boxed(t)).transpose()?,
            start_of_week: spec.get("startOfWeek").map(|t| self.boxed(t)).transpose()?,
        })
    }

    fn date_to_string(&mut self, value: &Bson) -> Result<Expr> {
        let Bson::Document(spec) = value else {
            return Err(err(
                18629,
                "$dateToString only supports an object as its argument",
            ));
        };
        check_keys(spec, &["format", "date", "timezone", "onNull"], |k| {
            err(
                18534,
                format!("Unrecognized argument to $dateToString: {k}"),
            )
        })?;
        let date = spec
            .get("date")
            .ok_or_else(|| err(18628, "Missing 'date' parameter to $dateToString"))?;
        Ok(Expr::DateToString {
            format: spec.get("format").map(|f| self.boxed(f)).transpose()?,
            date: self.boxed(date)?,
            timezone: spec.get("timezone").map(|t| self.boxed(t)).transpose()?,
            on_null: spec.get("onNull").map(|o| self.boxed(o)).transpose()?,
        })
    }

    fn convert(&mut self, value: &Bson) -> Result<Expr> {
        let Bson::Document(spec) = value else {
            return Err(Error::failed_to_parse(
                "$convert expects an object of named arguments but found: ".to_string()
                    + super::value::type_name(Some(value)),
            ));
        };
        check_keys(spec, &["input", "to", "onError", "onNull"], |k| {
            Error::failed_to_parse(format!("$convert found an unknown argument: {k}"))
        })?;
        let input = spec
            .get("input")
            .ok_or_else(|| Error::failed_to_parse("Missing 'input' parameter to $convert"))?;
        let to = spec
            .get("to")
            .ok_or_else(|| Error::failed_to_parse("Missing 'to' parameter to $convert"))?;
        Ok(Expr::Convert {
            input: self.boxed(input)?,
            to: self.boxed(to)?,
            on_error: spec.get("onError").map(|e| self.boxed(e)).transpose()?,
            on_null: spec.get("onNull").map(|e| self.boxed(e)).transpose()?,
        })
    }
}

fn check_arity(op: Op, n: usize) -> Result<()> {
    let (min, max) = op.arity();
    let name = op.name();
    match max {
        Some(max) if min == max && n != min => Err(err(
            16020,
            format!("Expression {name} takes exactly {min} arguments. {n} were passed in."),
        )),
        Some(max) if n < min || n > max => Err(err(
            28667,
            format!(
                "Expression {name} takes at least {min} arguments, and at most {max}, but {n} were passed in."
            ),
        )),
        None if n < min && op == Op::SetEquals => Err(err(
            17045,
            format!("{name} needs at least two arguments had: {n}"),
        )),
        None if n < min => Err(err(
            1257300,
            format!("{name} needs at least {min} arguments, had: {n}"),
        )),
        _ => Ok(()),
    }
}

/// Checks that a named-argument document has only known keys.
fn check_keys(spec: &Document, known: &[&str], unknown: impl Fn(&str) -> Error) -> Result<()> {
    match spec.keys().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(unknown(key)),
        None => Ok(()),
    }
}

fn named_args<'a>(value: &'a Bson, op: &str, code: i32, known: &[&str]) -> Result<&'a Document> {
    let Bson::Document(spec) = value else {
        return Err(err(code, format!("{op} requires an object")));
    };
    check_keys(spec, known, |k| {
        err(code, format!("Unrecognized parameter to {op}: {k}"))
    })?;
    Ok(spec)
}

/// Splits and validates the dotted part of a field path.
pub(crate) fn field_path(text: &str) -> Result<Vec<String>> {
    if text.is_empty() {
        return Err(err(
            40352,
            "FieldPath cannot be constructed with empty string",
        ));
    }
    text.split('.')
        .map(|part| {
            if part.is_empty() {
                Err(err(
                    15998,
                    "FieldPath field names may not be empty strings.",
                ))
            } else if part.starts_with('$') {
                Err(err(
                    16410,
                    format!(
                        "FieldPath field names may not start with '$'. Given FieldPath: {text}"
                    ),
                ))
            } else if part.contains('\0') {
                Err(err(16411, "FieldPath field names may not contain '\\0'."))
            } else {
                Ok(part.to_string())
            }
        })
        .collect()
}

/// Validates an output field name of an object literal.
fn validate_field_name(name: &str) -> Result<()> {
    if name.is_empty() {
        Err(err(
            16412,
            "FieldPath field names may not be empty strings.",
        ))
    } else if name.starts_with('$') {
        Err(err(16410, "FieldPath field names may not start with '$'."))
    } else if name.contains('.') {
        Err(err(16412, "FieldPath field names may not contain '.'."))
    } else {
        Ok(())
    }
}

/// A user variable name: a lowercase or non-ASCII first character, then
/// letters, digits, `_` or non-ASCII.
fn validate_var_name(name: &str, empty: i32, first: i32, rest: i32) -> Result<()> {
    let mut chars = name.chars();
    let Some(head) = chars.next() else {
        return Err(err(empty, "empty variable names are not allowed"));
    };
    if !head.is_ascii_lowercase() && head.is_ascii() {
        return Err(err(
            first,
            format!("'{name}' starts with an invalid character for a user variable name"),
        ));
    }
    match chars.find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || !c.is_ascii())) {
        Some(bad) => Err(err(
            rest,
            format!("'{name}' contains an invalid character for a variable name: '{bad}'"),
        )),
        None => Ok(()),
    }
}
