//! `$regexMatch`, `$regexFind` and `$regexFindAll` over the `regex` crate.
//!
//! Patterns are PCRE in mongod; this accepts the common subset the `regex`
//! crate shares (no look-around or backreferences) and the `i`, `m`, `s`
//! and `x` options. A pattern and options given as constants are compiled
//! once at parse time. Match positions are reported in code points.

use bson::{Bson, Document};
use regex::{Regex, RegexBuilder};

use super::value::{approx_size, check_size, is_nullish, type_name};
use crate::{Error, Result};

type Out = Result<Option<Bson>>;

/// Compiled-program size limit: bounds the memory a hostile pattern can take.
const REGEX_SIZE_BYTES_MAX: usize = 1 << 20;

/// Which of the three operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegexOp {
    Match,
    Find,
    FindAll,
}

impl RegexOp {
    pub fn from_name(name: &str) -> Option<RegexOp> {
        match name {
            "$regexMatch" => Some(RegexOp::Match),
            "$regexFind" => Some(RegexOp::Find),
            "$regexFindAll" => Some(RegexOp::FindAll),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            RegexOp::Match => "$regexMatch",
            RegexOp::Find => "$regexFind",
            RegexOp::FindAll => "$regexFindAll",
        }
    }

    fn no_match(self) -> Bson {
        match self {
            RegexOp::Match => Bson::Boolean(false),
            RegexOp::Find => Bson::Null,
            RegexOp::FindAll => Bson::Array(Vec::new()),
        }
    }
}

/// A compiled pattern; equal when the source patterns are equal.
#[derive(Debug, Clone)]
pub struct Compiled(Regex);

impl PartialEq for Compiled {
    fn eq(&self, other: &Compiled) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// Compiles `pattern` with mongod's option letters.
pub(crate) fn compile(
    op: RegexOp,
    pattern: &Bson,
    options: Option<&Bson>,
) -> Result<Option<Compiled>> {
    let name = op.name();
    let (source, inline_flags) = match pattern {
        Bson::String(s) => (s.as_str(), ""),
        Bson::RegularExpression(r) => (r.pattern.as_str(), r.options.as_str()),
        v if is_nullish(Some(v)) => return Ok(None),
        other => {
            return Err(Error::location(
                51105,
                format!(
                    "{name} needs 'regex' to be of type string or regex, found {}",
                    type_name(Some(other))
                ),
            ));
        }
    };
    let flags = match options {
        None => inline_flags,
        Some(v) if is_nullish(Some(v)) => inline_flags,
        Some(Bson::String(o)) if !inline_flags.is_empty() && !o.is_empty() => {
            return Err(Error::location(
                51107,
                format!(
                    "{name} found regex option(s) specified in both 'regex' and 'option' fields"
                ),
            ));
        }
        Some(Bson::String(o)) if inline_flags.is_empty() => o.as_str(),
        Some(Bson::String(_)) => inline_flags,
        Some(other) => {
            return Err(Error::location(
                51106,
                format!(
                    "{name} needs 'options' to be of type string, found {}",
                    type_name(Some(other))
                ),
            ));
        }
    };
    if source.contains('\0') {
        return Err(Error::location(
            51109,
            format!("{name} needs 'regex' to be free of null bytes"),
        ));
    }
    let mut builder = RegexBuilder::new(source);
    builder.size_limit(REGEX_SIZE_BYTES_MAX);
    for flag in flags.chars() {
        match flag {
            'i' => builder.case_insensitive(true),
            'm' => builder.multi_line(true),
            's' => builder.dot_matches_new_line(true),
            'x' => builder.ignore_whitespace(true),
            'u' => &mut builder,
            other => {
                return Err(Error::location(
                    51108,
                    format!("{name} invalid flag in regex options: {other}"),
                ));
            }
        };
    }
    builder
        .build()
        .map(|r| Some(Compiled(r)))
        .map_err(|e| Error::location(51111, format!("Invalid Regex in {name}: {e}")))
}

/// Applies the operator to an evaluated input with a compiled pattern.
pub(crate) fn apply(op: RegexOp, input: Option<&Bson>, regex: Option<&Compiled>) -> Out {
    let text = match input {
        v if is_nullish(v) => return Ok(Some(op.no_match())),
        Some(Bson::String(s)) => s,
        other => {
            return Err(Error::location(
                51104,
                format!(
                    "{} needs 'input' to be of type string, found {}",
                    op.name(),
                    type_name(other)
                ),
            ));
        }
    };
    let Some(Compiled(regex)) = regex else {
        return Ok(Some(op.no_match()));
    };
    Ok(Some(match op {
        RegexOp::Match => Bson::Boolean(regex.is_match(text)),
        RegexOp::Find => regex.captures(text).map_or(Bson::Null, |c| {
            let start = c.get(0).map_or(0, |m| m.start());
            found(&c, text.get(..start).map_or(0, |p| p.chars().count()))
        }),
        RegexOp::FindAll => {
            let mut out = Vec::new();
            let mut bytes = 0;
            // Code-point index of each match, counted incrementally.
            let (mut seen_bytes, mut seen_chars) = (0, 0);
            for captures in regex.captures_iter(text) {
                let start = captures.get(0).map_or(seen_bytes, |m| m.start());
                seen_chars += text.get(seen_bytes..start).map_or(0, |p| p.chars().count());
                seen_bytes = start;
                let one = found(&captures, seen_chars);
                bytes += approx_size(&one);
                check_size("$regexFindAll", bytes)?;
                out.push(one);
            }
            Bson::Array(out)
        }
    }))
}

/// One match as mongod reports it; `idx` is its start in code points.
fn found(captures: &regex::Captures<'_>, idx: usize) -> Bson {
    let whole = captures.get(0);
    let mut doc = Document::new();
    doc.insert("match", whole.map_or("", |m| m.as_str()));
    doc.insert("idx", i32::try_from(idx).unwrap_or(i32::MAX));
    let groups: Vec<Bson> = captures
        .iter()
        .skip(1)
        .map(|g| g.map_or(Bson::Null, |m| Bson::String(m.as_str().to_string())))
        .collect();
    doc.insert("captures", groups);
    Bson::Document(doc)
}
