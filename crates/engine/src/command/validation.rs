//! Document validation: a collection's `validator` (a query filter), its
//! `validationLevel` and `validationAction`, checked on every document a
//! write stores.
//!
//! The options live in the collection's options document (set by `create`,
//! replaced by `collMod`), so they are durable wherever the options are.
//! [`check_options`] refuses bad validation options when they are set;
//! [`check`] runs at the one place a write decides what to store
//! ([`super::ctx::Ctx::modify`]), so no write path can skip it.
//!
//! Semantics (mongod 5+): level `strict` checks every insert and update;
//! `moderate` checks inserts, and updates of documents that already passed;
//! `off` checks nothing. Action `error` fails the write with
//! DocumentValidationFailure (121) and an `errInfo` explaining why
//! ([`super::validation_explain`]); `warn` lets the write through and logs.
//! `bypassDocumentValidation: true` on the command skips the check.
//!
//! The parsed validator is cached per thread, keyed by the identity of the
//! collection's options (`collMod` replaces them whole, so a changed
//! validator is a new key); a batch of writes parses it once.

use std::cell::RefCell;
use std::sync::Arc;

use bson::{Bson, Document, doc};
use mql::Code;
use mql::matcher::{FILTER_DEPTH_MAX, Filter};

use super::CommandError;
use super::ctx::Change;
use super::envelope::type_name;
use crate::storage::collection::Collection;
use crate::storage::record::Doc;

/// The options `create` and `collMod` accept for validation.
pub const VALIDATION_FIELDS: [&str; 3] = ["validator", "validationLevel", "validationAction"];

/// Operators a validator may not use: they need a query context (text or
/// geo indexes, a sort by distance) or run JavaScript.
const BANNED_OPERATORS: [&str; 7] = [
    "$where",
    "$text",
    "$near",
    "$nearSphere",
    "$geoNear",
    "$function",
    "$accumulator",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Off,
    Strict,
    Moderate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Error,
    Warn,
}

/// Refuses invalid validation options of `command` (`create` or `collMod`)
/// on database `db`, with mongod's codes.
pub fn check_options(command: &str, db: &str, options: &Document) -> Result<(), CommandError> {
    if let Some(validator) = options.get("validator") {
        let Bson::Document(validator) = validator else {
            return Err(wrong_type(command, "validator", "object", validator));
        };
        if matches!(db, "admin" | "local" | "config") && !validator.is_empty() {
            return Err(CommandError::new(
                Code::INVALID_OPTIONS,
                format!("Document validators not allowed on system collection in database {db}"),
            ));
        }
        parse_validator(validator)?;
    }
    level(command, options)?;
    action(command, options)?;
    Ok(())
}

/// Parses a validator, refusing the operators validators may not use.
fn parse_validator(validator: &Document) -> Result<Filter, CommandError> {
    refuse_banned(&Bson::Document(validator.clone()), 0)?;
    Ok(Filter::parse(validator)?)
}

thread_local! {
    /// The last validator this thread parsed, with the options it came from
    /// (held, so the allocation cannot be reused for other options).
    static PARSED: RefCell<Option<(Arc<Document>, Arc<Filter>)>> = const { RefCell::new(None) };
}

/// The parsed validator of `options`, from the cache when it is theirs.
fn cached_validator(options: &Arc<Document>, spec: &Document) -> Result<Arc<Filter>, CommandError> {
    let hit = PARSED.with_borrow(|cached| match cached {
        Some((key, filter)) if Arc::ptr_eq(key, options) => Some(filter.clone()),
        _ => None,
    });
    if let Some(filter) = hit {
        return Ok(filter);
    }
    let filter = Arc::new(parse_validator(spec)?);
    PARSED.set(Some((options.clone(), filter.clone())));
    Ok(filter)
}

fn refuse_banned(value: &Bson, depth: usize) -> Result<(), CommandError> {
    if depth > FILTER_DEPTH_MAX {
        // The matcher refuses the nesting itself, with its own error.
        return Ok(());
    }
    match value {
        Bson::Document(doc) => {
            for (key, value) in doc {
                if BANNED_OPERATORS.contains(&key.as_str()) {
                    return Err(CommandError::new(
                        Code::QUERY_FEATURE_NOT_ALLOWED,
                        format!("{key} is not allowed in this context"),
                    ));
                }
                refuse_banned(value, depth + 1)?;
            }
            Ok(())
        }
        Bson::Array(items) => items.iter().try_for_each(|i| refuse_banned(i, depth + 1)),
        _ => Ok(()),
    }
}

fn level(command: &str, options: &Document) -> Result<Level, CommandError> {
    let field = "validationLevel";
    match options.get(field) {
        None => Ok(Level::Strict),
        Some(Bson::String(s)) => match s.as_str() {
            "off" => Ok(Level::Off),
            "strict" => Ok(Level::Strict),
            "moderate" => Ok(Level::Moderate),
            other => Err(bad_enum(command, field, other)),
        },
        Some(other) => Err(wrong_type(command, field, "string", other)),
    }
}

fn action(command: &str, options: &Document) -> Result<Action, CommandError> {
    let field = "validationAction";
    match options.get(field) {
        None => Ok(Action::Error),
        Some(Bson::String(s)) => match s.as_str() {
            "error" => Ok(Action::Error),
            "warn" => Ok(Action::Warn),
            "errorAndLog" => Err(CommandError::new(
                Code::BAD_VALUE,
                format!(
                    "Rotor does not support {command}.{field} 'errorAndLog' (mongod 8.1+); use 'error' or 'warn'"
                ),
            )),
            other => Err(bad_enum(command, field, other)),
        },
        Some(other) => Err(wrong_type(command, field, "string", other)),
    }
}

fn bad_enum(command: &str, field: &str, value: &str) -> CommandError {
    CommandError::new(
        Code::BAD_VALUE,
        format!("Enumeration value '{value}' for field '{command}.{field}' is not a valid value."),
    )
}

fn wrong_type(command: &str, field: &str, expected: &str, value: &Bson) -> CommandError {
    CommandError::new(
        Code::TYPE_MISMATCH,
        format!(
            "BSON field '{command}.{field}' is the wrong type '{}', expected type '{expected}'",
            type_name(value)
        ),
    )
}

/// Checks the document `change` would store in `coll` against the
/// collection's validator; `current` is the document it replaces.
pub fn check(
    coll: &Collection,
    current: Option<&Doc>,
    change: &Change,
) -> Result<(), CommandError> {
    match change {
        Change::Insert(doc) => verify(coll, doc, None),
        Change::Replace(doc) => verify(coll, doc, current.map(|c| &**c)),
        Change::Delete | Change::Keep => Ok(()),
    }
}

/// Checks a document about to be inserted into `coll` by a path that does
/// not go through [`super::ctx::Ctx::modify`] (`$out`).
pub fn check_insert(coll: &Collection, doc: &Document) -> Result<(), CommandError> {
    verify(coll, doc, None)
}

/// Whether a stored document satisfies `coll`'s validator (whatever its
/// level and action): `validate` counts those that do not.
pub fn complies(coll: &Collection, doc: &Document) -> Result<bool, CommandError> {
    let options = coll.options();
    match options.get_document("validator") {
        Ok(spec) if !spec.is_empty() => Ok(cached_validator(&options, spec)?.matches(doc)),
        _ => Ok(true),
    }
}

/// `old` is the document an update replaces (`None` for an insert).
fn verify(coll: &Collection, new: &Document, old: Option<&Document>) -> Result<(), CommandError> {
    let options = coll.options();
    let Ok(spec) = options.get_document("validator") else {
        return Ok(());
    };
    let level = level("collMod", &options)?;
    if level == Level::Off || spec.is_empty() {
        return Ok(());
    }
    let filter = cached_validator(&options, spec)?;
    if filter.matches(new) {
        return Ok(());
    }
    if level == Level::Moderate && old.is_some_and(|old| !filter.matches(old)) {
        return Ok(());
    }
    let id = new.get("_id").cloned().unwrap_or(Bson::Null);
    let err_info = doc! {
        "failingDocumentId": id,
        "details": super::validation_explain::explain(spec, new),
    };
    match action("collMod", &options)? {
        Action::Warn => {
            tracing::warn!(
                namespace = %coll.namespace(),
                document = %new,
                errInfo = %err_info,
                "Document would fail validation"
            );
            Ok(())
        }
        Action::Error => {
            let mut error = CommandError::new(
                Code::DOCUMENT_VALIDATION_FAILURE,
                "Document failed validation",
            );
            error.extra = Box::new(doc! {"errInfo": err_info});
            Err(error)
        }
    }
}
