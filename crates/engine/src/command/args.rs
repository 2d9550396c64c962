//! Typed access to a command's fields, with mongod's errors for wrong types
//! and unknown fields.
//!
//! mongod's IDL-parsed commands reject a field they do not know with
//! `Location40415` ("BSON field 'find.foo' is an unknown field."); the
//! generic fields every command may carry are always accepted.

use bson::{Bson, Document};
use mql::Code;

use super::CommandError;
use super::envelope::type_name;

/// Fields any command may carry (sessions, concerns, routing, tracing). A
/// `match`, not a list: every command checks each of its fields here, and
/// the match measured cheaper than scanning a list of names.
fn is_generic_field(field: &str) -> bool {
    matches!(
        field,
        "$db"
            | "lsid"
            | "txnNumber"
            | "autocommit"
            | "startTransaction"
            | "readConcern"
            | "writeConcern"
            | "maxTimeMS"
            | "comment"
            | "$clusterTime"
            | "$readPreference"
            | "apiVersion"
            | "apiStrict"
            | "apiDeprecationErrors"
            | "$audit"
            | "$client"
            | "$configServerState"
            | "$gleStats"
            | "$oplogQueryData"
            | "$replData"
            | "$queryOptions"
            | "databaseVersion"
            | "shardVersion"
            | "tracking_info"
            | "allowImplicitCollectionCreation"
            | "stmtId"
            | "stmtIds"
            | "mayBypassWriteBlocking"
            | "$configTime"
            | "$topologyTime"
            | "clientOperationKey"
            | "readOnly"
            | "txnRetryCounter"
            | "collation"
            | "let"
            | "bypassDocumentValidation"
            | "$_requestResumeToken"
    )
}

/// A command's body, read field by field.
pub struct Args<'a> {
    command: &'a str,
    body: &'a Document,
}

impl<'a> Args<'a> {
    pub fn new(command: &'a str, body: &'a Document) -> Args<'a> {
        Args { command, body }
    }

    /// Rejects fields outside `known` and the generic ones.
    pub fn check_known(&self, known: &[&str]) -> Result<(), CommandError> {
        for field in self.body.keys().skip(1) {
            if !known.contains(&field.as_str()) && !is_generic_field(field) {
                return Err(CommandError::new(
                    Code(40415),
                    format!("BSON field '{}.{field}' is an unknown field.", self.command),
                ));
            }
        }
        Ok(())
    }

    fn wrong_type(&self, field: &str, expected: &str, value: &Bson) -> CommandError {
        CommandError::new(
            Code::TYPE_MISMATCH,
            format!(
                "BSON field '{}.{field}' is the wrong type '{}', expected type '{expected}'",
                self.command,
                type_name(value)
            ),
        )
    }

    /// The collection named by the command's first field.
    pub fn collection(&self) -> Result<&'a str, CommandError> {
        match self.body.iter().next() {
            Some((_, Bson::String(name))) => Ok(name),
            Some((_, other)) => Err(CommandError::new(
                Code::INVALID_NAMESPACE,
                format!("collection name has invalid type {}", type_name(other)),
            )),
            None => Err(CommandError::new(Code::FAILED_TO_PARSE, "empty command")),
        }
    }

    pub fn get(&self, field: &str) -> Option<&'a Bson> {
        mql::path::field(self.body, field)
    }

    pub fn document(&self, field: &str) -> Result<Option<&'a Document>, CommandError> {
        self.document_of(field, self.get(field))
    }

    /// [`Args::document`] for a `value` the caller already found.
    pub fn document_of(
        &self,
        field: &str,
        value: Option<&'a Bson>,
    ) -> Result<Option<&'a Document>, CommandError> {
        match value {
            None | Some(Bson::Null) => Ok(None),
            Some(Bson::Document(doc)) => Ok(Some(doc)),
            Some(other) => Err(self.wrong_type(field, "object", other)),
        }
    }

    pub fn array(&self, field: &str) -> Result<Option<&'a Vec<Bson>>, CommandError> {
        match self.get(field) {
            None => Ok(None),
            Some(Bson::Array(items)) => Ok(Some(items)),
            Some(other) => Err(self.wrong_type(field, "array", other)),
        }
    }

    /// An array whose every element must be a document.
    pub fn documents(&self, field: &str) -> Result<Option<Vec<&'a Document>>, CommandError> {
        let Some(items) = self.array(field)? else {
            return Ok(None);
        };
        items
            .iter()
            .map(|item| match item {
                Bson::Document(doc) => Ok(doc),
                other => Err(self.wrong_type(&format!("{field}.0"), "object", other)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    pub fn bool(&self, field: &str) -> Result<Option<bool>, CommandError> {
        self.bool_of(field, self.get(field))
    }

    /// [`Args::bool`] for a `value` the caller already found.
    pub fn bool_of(&self, field: &str, value: Option<&Bson>) -> Result<Option<bool>, CommandError> {
        match value {
            None | Some(Bson::Null) => Ok(None),
            Some(Bson::Boolean(b)) => Ok(Some(*b)),
            Some(value) => match mql::order::Number::of(value) {
                Some(n) => Ok(Some(n.as_f64() != 0.0)),
                None => Err(self.wrong_type(field, "bool", value)),
            },
        }
    }

    /// A whole number, accepting any numeric type with an integral value.
    pub fn integer(&self, field: &str) -> Result<Option<i64>, CommandError> {
        match mql::path::field(self.body, field) {
            None | Some(Bson::Null) => Ok(None),
            Some(value) => match mql::order::Number::of(value) {
                Some(mql::order::Number::Int(n)) => Ok(Some(n)),
                Some(mql::order::Number::Double(d)) if d.fract() == 0.0 && d.abs() < 9.2e18 => {
                    Ok(Some(d as i64))
                }
                Some(_) => Err(CommandError::new(
                    Code::FAILED_TO_PARSE,
                    format!(
                        "BSON field '{}.{field}' value must be an integer",
                        self.command
                    ),
                )),
                None => Err(self.wrong_type(field, "long", value)),
            },
        }
    }

    /// A non-negative whole number (`limit`, `skip`, `batchSize`).
    pub fn non_negative(&self, field: &str) -> Result<Option<i64>, CommandError> {
        match self.integer(field)? {
            Some(n) if n < 0 => Err(CommandError::new(
                Code(51024),
                format!("BSON field '{field}' value must be >= 0, actual value '{n}'"),
            )),
            other => Ok(other),
        }
    }

    pub fn string(&self, field: &str) -> Result<Option<&'a str>, CommandError> {
        match mql::path::field(self.body, field) {
            None => Ok(None),
            Some(Bson::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong_type(field, "string", other)),
        }
    }
}
