//! Command documents built with room for the fields sending adds.
//!
//! A write command is built with a few fields (its name, its statements,
//! `ordered`); as it is sent, the session adds `lsid`, `txnNumber` and
//! `autocommit` (and, for a transaction's first statement,
//! `startTransaction` and `readConcern`), and the client adds
//! `$clusterTime`. bson's `Document` is an `IndexMap`: built from empty,
//! it has room for three fields, so every command grew (a new hash table,
//! every name rehashed, the entries moved) once or twice on its way out.
//! A command started by [`build`] has room for [`FIELDS_ROOM`] fields, and
//! so does each copy of it, since a copy keeps its original's room.
//!
//! Only for commands about to be sent: the room is a little memory per
//! command, held until the command is dropped.

use std::sync::OnceLock;

use bson::{Bson, Document};

/// Fields a command has room for: a transaction's first statement carries
/// about ten (name, statements, `ordered`, five session fields,
/// `$clusterTime`, a concern); a 16-bucket hash table holds 14.
const FIELDS_ROOM: usize = 14;

/// A command of `fields`, in order, with room for [`FIELDS_ROOM`] fields.
pub(crate) fn build<const N: usize>(fields: [(&str, Bson); N]) -> Document {
    // An empty document keeps the hash table it grew; copying it copies
    // that table's size, so one is grown once and copied for each command.
    static EMPTY_WITH_ROOM: OnceLock<Document> = OnceLock::new();
    let mut command = EMPTY_WITH_ROOM
        .get_or_init(|| {
            let mut empty: Document = (0..FIELDS_ROOM)
                .map(|i| (i.to_string(), Bson::Null))
                .collect();
            empty.clear();
            empty
        })
        .clone();
    for (name, value) in fields {
        command.insert(name, value);
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn built_commands_equal_their_fields_in_order() {
        let check = |built: Document, expected: Document| {
            assert_eq!(built.to_string(), expected.to_string());
        };
        check(build([]), doc! {});
        check(
            build([("insert", "c".into()), ("ordered", true.into())]),
            doc! {"insert": "c", "ordered": true},
        );
        let mut grown = build([("commitTransaction", 1.into())]);
        for i in 0..2 * FIELDS_ROOM {
            grown.insert(i.to_string(), i as i64);
        }
        assert_eq!(grown.len(), 2 * FIELDS_ROOM + 1, "room is not a limit");
        assert_eq!(
            grown.keys().next().map(String::as_str),
            Some("commitTransaction")
        );
    }
}
