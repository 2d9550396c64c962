//! `renameCollection`: moves a collection, with its documents, indexes and
//! options, to a new name in the same or another database, as one catalog
//! change journaled as one record ([`Op::Rename`]).
//!
//! The rename does not copy: the catalog swaps the old entry for a new
//! handle sharing the collection's contents (see `storage::collection`), so
//! a cross-database rename costs what a same-database one does. Writers
//! that found the collection under its old name before the rename — open
//! transactions included — write into the renamed collection and are
//! journaled under the new name; writers that look the old name up after
//! it create a new collection there. Cursors over the source (and over a
//! replaced target) are killed, as mongod invalidates them.
//!
//! Deliberately not supported: `dropTarget` given as a UUID, `stayTemp`,
//! `collectionUUID` (each refused as an unknown field or a wrong type);
//! renaming views (refused, as mongod does).

use bson::{Bson, Document};
use mql::Code;

use super::args::Args;
use super::ctx::{Ctx, validate_collection_name, write_conflict};
use super::view;
use super::{CommandError, CommandResult};
use crate::durable::Op;
use crate::storage::catalog::RenameError;

/// Longest database name mongod accepts (`MaxDatabaseNameLen` minus one).
const DB_NAME_LEN_MAX: usize = 63;

/// A parsed `db.collection` namespace.
struct Namespace<'a> {
    db: &'a str,
    coll: &'a str,
}

impl std::fmt::Display for Namespace<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.db, self.coll)
    }
}

pub(super) fn rename_collection(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let args = Args::new("renameCollection", body);
    args.check_known(&["to", "dropTarget"])?;
    if ctx.db != "admin" {
        return Err(CommandError::new(
            Code::UNAUTHORIZED,
            "renameCollection may only be run against the admin database.",
        ));
    }
    let from_text = match body.iter().next().map(|(_, value)| value) {
        Some(Bson::String(from)) => from.as_str(),
        other => {
            return Err(wrong_type("renameCollection", other.unwrap_or(&Bson::Null)));
        }
    };
    let to_text = match args.get("to") {
        Some(Bson::String(to)) => to.as_str(),
        Some(other) => return Err(wrong_type("to", other)),
        None => {
            return Err(CommandError::new(
                Code(40414),
                "BSON field 'renameCollection.to' is missing but a required field",
            ));
        }
    };
    let drop_target = args.bool("dropTarget")?.unwrap_or(false);
    if from_text == to_text {
        return Err(CommandError::new(
            Code::ILLEGAL_OPERATION,
            "Can't rename a collection to itself",
        ));
    }
    let from = parse_namespace(from_text, "source")?;
    let to = parse_namespace(to_text, "target")?;
    check_writable(&from, "source")?;
    check_writable(&to, "target")?;
    rename(ctx, &from, &to, drop_target)?;
    Ok(Document::new())
}

/// The IDL's error for a field of the wrong type.
fn wrong_type(field: &str, value: &Bson) -> CommandError {
    let type_name = super::envelope::type_name(value);
    CommandError::new(
        Code::TYPE_MISMATCH,
        format!(
            "BSON field 'renameCollection.{field}' is the wrong type '{type_name}', expected type 'string'"
        ),
    )
}

/// `db.coll`, split at the first dot, with mongod's validity rules for a
/// namespace (`NamespaceString::isValid`): InvalidNamespace otherwise.
fn parse_namespace<'a>(text: &'a str, role: &str) -> Result<Namespace<'a>, CommandError> {
    let invalid = || {
        CommandError::new(
            Code::INVALID_NAMESPACE,
            format!("Invalid {role} namespace: {text}"),
        )
    };
    let (db, coll) = text.split_once('.').ok_or_else(invalid)?;
    let db_ok = !db.is_empty()
        && db.len() <= DB_NAME_LEN_MAX
        && !db.contains(['/', '\\', '.', ' ', '"', '$', '\0']);
    if !db_ok || coll.is_empty() || coll.starts_with('.') || coll.contains('\0') {
        return Err(invalid());
    }
    Ok(Namespace { db, coll })
}

/// mongod refuses namespaces a user may not write (`userAllowedWriteNS`)
/// and the user store as IllegalOperation.
fn check_writable(ns: &Namespace<'_>, role: &str) -> Result<(), CommandError> {
    if ns.coll == "system.users" {
        return Err(CommandError::new(
            Code::ILLEGAL_OPERATION,
            "renaming system.users collection or renaming to system.users is not allowed",
        ));
    }
    validate_collection_name(ns.db, ns.coll).map_err(|error| {
        CommandError::new(
            Code::ILLEGAL_OPERATION,
            format!("error with {role} namespace: {}", error.message),
        )
    })
}

/// The rename itself, under the commit lock: checks, catalog swap, journal.
fn rename(
    ctx: &mut Ctx<'_>,
    from: &Namespace<'_>,
    to: &Namespace<'_>,
    drop_target: bool,
) -> Result<(), CommandError> {
    let engine = ctx.engine;
    let catalog = engine.catalog();
    engine.catalog_change(|_| {
        let source = match catalog.get(from.db, from.coll, None) {
            Some(source) => source,
            None if catalog.collections(from.db, None).is_empty() => {
                return Err(CommandError::new(
                    Code::NAMESPACE_NOT_FOUND,
                    format!("Database {} does not exist or is drop pending", from.db),
                ));
            }
            None => {
                return Err(CommandError::new(
                    Code::NAMESPACE_NOT_FOUND,
                    format!("Source collection {from} does not exist"),
                ));
            }
        };
        if view::is_view(&source) {
            return Err(CommandError::new(
                Code::COMMAND_NOT_SUPPORTED_ON_VIEW,
                format!("cannot rename view: {from}"),
            ));
        }
        if let Some(target) = catalog.get(to.db, to.coll, None)
            && view::is_view(&target)
        {
            return Err(CommandError::new(
                Code::NAMESPACE_EXISTS,
                format!("a view already exists with that name: {to}"),
            ));
        }
        let replaced = catalog
            .rename(&source, to.db, to.coll, drop_target)
            .map_err(|error| match error {
                RenameError::TargetExists => {
                    CommandError::new(Code::NAMESPACE_EXISTS, "target namespace exists")
                }
                RenameError::TargetPending => write_conflict(),
                // Checked under the same commit lock just above.
                RenameError::SourceGone => CommandError::new(
                    Code::NAMESPACE_NOT_FOUND,
                    format!("Source collection {from} does not exist"),
                ),
            })?;
        engine.cursors().kill_namespace(&source.namespace());
        if let Some(replaced) = &replaced {
            engine.cursors().kill_namespace(&replaced.namespace());
        }
        Ok(vec![Op::Rename {
            db: from.db.to_owned(),
            coll: from.coll.to_owned(),
            to_db: to.db.to_owned(),
            to_coll: to.coll.to_owned(),
            drop_target: replaced.is_some(),
        }])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_parse_as_mongod_validates_them() {
        let parsed = |t: &str| parse_namespace(t, "target").map(|n| n.to_string()).ok();
        assert_eq!(parsed("a.b"), Some("a.b".into()));
        assert_eq!(parsed("a.b.c"), Some("a.b.c".into()));
        let long_db = format!("{}.c", "x".repeat(DB_NAME_LEN_MAX + 1));
        for bad in ["ab", ".b", "a.", "a..b", "a b.c", "a$.c", "a/b.c", &long_db] {
            assert_eq!(parsed(bad), None, "{bad}");
        }
    }
}
