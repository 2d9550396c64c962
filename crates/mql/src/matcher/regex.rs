//! `$regex` patterns: PCRE-style options translated for the `regex` crate.
//!
//! mongod uses PCRE; we use the `regex` crate, which has no backreferences or
//! lookaround. A pattern it cannot compile is refused with mongod's "invalid
//! regular expression" error rather than matched differently. Options `i`,
//! `m`, `s` and `x` map to the crate's inline flags; `u` (UTF-8) is always on.
//!
//! A pattern also matches a stored regex value with the same pattern and
//! options, as mongod does.

use bson::Bson;

use crate::{Error, Result};

/// mongod refuses longer patterns ("Regular expression is too long").
const PATTERN_LEN_MAX: usize = 32_761;

/// Caps the compiled program so a hostile pattern cannot take unbounded memory.
const COMPILED_SIZE_BYTES_MAX: usize = 8 << 20;

/// A compiled `$regex`.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    source: String,
    options: String,
    regex: regex::Regex,
}

impl Pattern {
    pub(crate) fn new(source: &str, options: &str) -> Result<Pattern> {
        if source.len() > PATTERN_LEN_MAX {
            return Err(Error::bad_value("Regular expression is too long"));
        }
        if source.contains('\0') {
            return Err(Error::bad_value(
                "Regular expression cannot contain an embedded null byte",
            ));
        }
        let mut builder = regex::RegexBuilder::new(source);
        builder.size_limit(COMPILED_SIZE_BYTES_MAX);
        for flag in options.chars() {
            match flag {
                'i' => builder.case_insensitive(true),
                'm' => builder.multi_line(true),
                's' => builder.dot_matches_new_line(true),
                'x' => builder.ignore_whitespace(true),
                'u' => &mut builder,
                other => {
                    return Err(Error::location(
                        51108,
                        format!("invalid flag in regex options: {other}"),
                    ));
                }
            };
        }
        let regex = builder.build().map_err(|err| {
            Error::location(51091, format!("Regular expression is invalid: {err}"))
        })?;
        Ok(Pattern {
            source: source.to_owned(),
            options: options.to_owned(),
            regex,
        })
    }

    /// Matches strings and symbols by the pattern, and regex values by identity.
    pub(crate) fn matches(&self, value: &Bson) -> bool {
        match value {
            Bson::String(text) | Bson::Symbol(text) => self.regex.is_match(text),
            Bson::RegularExpression(stored) => {
                stored.pattern.as_str() == self.source
                    && same_flags(stored.options.as_str(), &self.options)
            }
            _ => false,
        }
    }
}

/// Whether two option strings hold the same flags, in any order.
fn same_flags(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.chars().all(|flag| b.contains(flag))
        && b.chars().all(|flag| a.contains(flag))
}
