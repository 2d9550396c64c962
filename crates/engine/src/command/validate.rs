//! `validate`: checks one collection's documents and indexes against each
//! other, at one snapshot, in mongod 8.0's reply shape.
//!
//! What it checks, for every document visible at the command's snapshot:
//! - the record's key is the document's `_id`, and the document passes
//!   the checks every write makes before storing (size, nesting depth,
//!   `_id` type): a failure is a corrupt record (`nInvalidDocuments`);
//! - every index key the document generates is in that index: a key that
//!   is not is a missing index entry;
//! - no two documents share a key of a unique index;
//! - whether the document satisfies the collection's validator
//!   (`nNonCompliantDocuments`, a warning as in mongod, not an error).
//!
//! Deliberately not checked: index entries no visible document generates.
//! Under MVCC they are expected, not corruption: an index keeps the
//! entries of every version the snapshot history still holds, and the
//! collector removes the rest some rounds later (`storage::gc`).
//!
//! The command holds a reader registration for its whole run (every
//! command does, see `Engine::run_command`), so the pruning horizon stays
//! at or below its snapshot: every version visible at the snapshot keeps
//! its index entries until the command ends, and writers running meanwhile
//! cannot make a sound collection look broken. An index built meanwhile
//! covers every kept version (`Collection::add_index`), so it is checked
//! like the others.

use bson::{Bson, Document, doc};
use mql::Code;

use super::args::Args;
use super::ctx::Ctx;
use super::diag::small_number;
use super::{CommandError, CommandResult};
use crate::storage::collection::Collection;
use crate::storage::index::{Index, IndexSpec};
use crate::storage::key::{IndexKey, Key};
use crate::storage::record::Doc;

/// Detailed entries (`missingIndexEntries`, `corruptRecords`, error lines)
/// a reply lists; the counts cover everything. mongod caps these lists by
/// size for the same reason: a badly broken collection must not make a
/// reply too large to send.
const REPORTED_MAX: usize = 100;

/// The options mongod 8.0's `validate` takes.
const FIELDS: &[&str] = &[
    "full",
    "repair",
    "background",
    "metadata",
    "checkBSONConformance",
    "enforceFastCount",
    "fixMultikey",
    "scandata",
    "collHash",
    "hashPrefixes",
];

/// What the scan found.
#[derive(Default)]
struct Findings {
    records: u64,
    invalid: u64,
    non_compliant: u64,
    /// `(index name, keys the visible documents generate)`, `_id_` first.
    keys_per_index: Vec<(String, u64)>,
    missing: Vec<Document>,
    missing_count: u64,
    corrupt: Vec<Document>,
    errors: Vec<String>,
    /// Indexes with a missing entry or a duplicate unique key.
    invalid_indexes: Vec<String>,
}

impl Findings {
    fn error(&mut self, message: String) {
        if self.errors.len() < REPORTED_MAX {
            self.errors.push(message);
        }
    }

    fn invalidate(&mut self, index: &str) {
        if !self.invalid_indexes.iter().any(|name| name == index) {
            self.invalid_indexes.push(index.to_owned());
        }
    }
}

pub(super) fn validate(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let args = Args::new("validate", body);
    args.check_known(FIELDS)?;
    let name = args.collection()?;
    for flag in ["full", "background", "metadata", "checkBSONConformance"] {
        args.bool(flag)?;
    }
    if args.bool("repair")? == Some(true) {
        return Err(CommandError::new(
            Code::INVALID_OPTIONS,
            "Running the validate command with { repair: true } can only be performed in standalone mode.",
        ));
    }
    let namespace = format!("{}.{name}", ctx.db);
    let Some(coll) = ctx.collection(name) else {
        return Err(CommandError::new(
            Code::NAMESPACE_NOT_FOUND,
            format!("Collection '{namespace}' does not exist to validate."),
        ));
    };
    super::view::refuse(&coll)?;
    let findings = scan(ctx, &coll)?;
    Ok(reply(&coll, namespace, findings))
}

/// Walks every record visible at the command's snapshot.
fn scan(ctx: &Ctx<'_>, coll: &Collection) -> Result<Findings, CommandError> {
    let snapshot = ctx.view().snapshot;
    let indexes = coll.indexes();
    let mut findings = Findings {
        keys_per_index: std::iter::once("_id_".to_owned())
            .chain(indexes.iter().map(|i| i.spec.name.clone()))
            .map(|name| (name, 0))
            .collect(),
        ..Findings::default()
    };
    // Keys of unique indexes, to find two documents sharing one.
    let mut unique_keys: Vec<Vec<(IndexKey, Key)>> = vec![Vec::new(); indexes.len()];
    for (position, (key, record)) in coll.records_from(None).enumerate() {
        if position % 1024 == 0 {
            ctx.check_deadline()?;
        }
        let Some(doc) = record.lock().visible_at(snapshot) else {
            continue;
        };
        findings.records += 1;
        findings.keys_per_index[0].1 += 1;
        check_document(coll, &key, &doc, &mut findings)?;
        for (slot, index) in indexes.iter().enumerate() {
            let keys = match index.spec.keys(&doc) {
                Ok(keys) => keys,
                Err(error) => {
                    findings.error(format!(
                        "Document with _id {} cannot be indexed by {}: {}",
                        key.0, index.spec.name, error.message
                    ));
                    findings.invalidate(&index.spec.name);
                    continue;
                }
            };
            findings.keys_per_index[slot + 1].1 += keys.len() as u64;
            check_entries(index, &key, &keys, &mut findings);
            if index.spec.unique {
                unique_keys[slot].extend(keys.into_iter().map(|k| (k, key.clone())));
            }
        }
    }
    for (index, mut keys) in indexes.iter().zip(unique_keys) {
        check_unique(&index.spec, &mut keys, &mut findings);
    }
    Ok(findings)
}

/// The record's own checks: its key, what a write would have refused, and
/// the collection's validator.
fn check_document(
    coll: &Collection,
    key: &Key,
    doc: &Doc,
    findings: &mut Findings,
) -> Result<(), CommandError> {
    let mut reasons = Vec::new();
    if Collection::key_of(doc) != *key {
        reasons.push(format!("record key {} is not the document's _id", key.0));
    }
    if let Err(error) = super::write::validate_for_storage(doc) {
        reasons.push(error.message);
    }
    if !reasons.is_empty() {
        findings.invalid += 1;
        for reason in &reasons {
            findings.error(format!("Document with _id {}: {reason}", key.0));
        }
        if findings.corrupt.len() < REPORTED_MAX {
            findings
                .corrupt
                .push(doc! {"_id": key.0.clone(), "reasons": reasons});
        }
    }
    if !super::validation::complies(coll, doc)? {
        findings.non_compliant += 1;
    }
    Ok(())
}

/// Every key of the document is in the index.
fn check_entries(index: &Index, id: &Key, keys: &[IndexKey], findings: &mut Findings) {
    for key in keys {
        if index.contains(key, id) {
            continue;
        }
        findings.missing_count += 1;
        findings.invalidate(&index.spec.name);
        if findings.missing.len() < REPORTED_MAX {
            findings.missing.push(doc! {
                "indexName": &index.spec.name,
                "idKey": {"_id": id.0.clone()},
                "indexKey": index.spec.key_value(key),
            });
        }
    }
}

/// No two documents share a key of a unique index.
fn check_unique(spec: &IndexSpec, keys: &mut [(IndexKey, Key)], findings: &mut Findings) {
    keys.sort();
    let mut duplicated = 0_u64;
    for pair in keys.windows(2) {
        if pair[0].0 == pair[1].0 && pair[0].1 != pair[1].1 {
            duplicated += 1;
            findings.error(format!(
                "Unique index {} has the key {} for documents with _id {} and {}",
                spec.name,
                spec.key_value(&pair[0].0),
                pair[0].1.0,
                pair[1].1.0
            ));
        }
    }
    if duplicated > 0 {
        findings.invalidate(&spec.name);
    }
}

fn reply(coll: &Collection, namespace: String, findings: Findings) -> Document {
    let valid = findings.errors.is_empty()
        && findings.invalid == 0
        && findings.missing_count == 0
        && findings.invalid_indexes.is_empty();
    let mut warnings = Vec::new();
    if findings.non_compliant > 0 {
        warnings.push(
            "Detected one or more documents not compliant with the collection's schema. See logs."
                .to_owned(),
        );
    }
    let mut errors = findings.errors;
    if findings.missing_count > 0 {
        errors.push(format!(
            "Detected {} missing index entries.",
            findings.missing_count
        ));
    }
    let keys_per_index: Document = findings
        .keys_per_index
        .iter()
        .map(|(name, n)| (name.clone(), small_number(*n)))
        .collect();
    let index_details: Document = findings
        .keys_per_index
        .iter()
        .map(|(name, _)| {
            let valid = !findings.invalid_indexes.contains(name);
            (name.clone(), Bson::Document(doc! {"valid": valid}))
        })
        .collect();
    doc! {
        "ns": namespace,
        "uuid": coll.uuid,
        "nInvalidDocuments": small_number(findings.invalid),
        "nNonCompliantDocuments": small_number(findings.non_compliant),
        "nrecords": small_number(findings.records),
        "nIndexes": small_number(findings.keys_per_index.len() as u64),
        "keysPerIndex": keys_per_index,
        "indexDetails": index_details,
        "valid": valid,
        "repaired": false,
        "warnings": warnings,
        "errors": errors,
        "extraIndexEntries": [],
        "missingIndexEntries": findings.missing,
        "corruptRecords": findings.corrupt,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bson::{Bson, Document, doc};

    use crate::storage::key::Key;
    use crate::{ConnectionInfo, Engine, EngineOptions, Request};

    fn run(engine: &Engine, body: Document) -> Document {
        let connection = ConnectionInfo::default();
        let request = Request {
            db: "t",
            body,
            connection: &connection,
        };
        engine.run_command(request).reply
    }

    /// An engine holding `t.c` with a unique index on `k` and a multikey
    /// index on `tags`, three documents, and what `validate` says of it
    /// after `damage` breaks it.
    fn validate_after(damage: impl FnOnce(&Engine)) -> Document {
        let engine = Engine::open(EngineOptions::default()).expect("in memory");
        run(
            &engine,
            doc! {"createIndexes": "c", "indexes": [
                {"key": {"k": 1}, "name": "k_1", "unique": true},
                {"key": {"tags": 1}, "name": "tags_1"},
            ]},
        );
        run(
            &engine,
            doc! {"insert": "c", "documents": [
                {"_id": 1, "k": 1, "tags": ["a", "b"]},
                {"_id": 2, "k": 2, "tags": ["b"]},
                {"_id": 3, "k": 3},
            ]},
        );
        damage(&engine);
        let reply = run(&engine, doc! {"validate": "c"});
        assert_eq!(reply.get_f64("ok").ok(), Some(1.0), "{reply}");
        reply
    }

    fn remove_entry(engine: &Engine, index: &str, id: i32, doc: Document) {
        let coll = engine.catalog().get("t", "c", None).expect("t.c");
        let index = coll.index(index).expect("the index");
        for key in index.spec.keys(&doc).expect("indexable") {
            index.remove(&key, &Key(Bson::Int32(id)));
        }
    }

    /// A committed version installed past every write path's checks.
    fn install(engine: &Engine, key: i32, doc: Document) {
        let coll = engine.catalog().get("t", "c", None).expect("t.c");
        let record = coll.record_or_insert(Key(Bson::Int32(key)));
        record
            .lock()
            .install(engine.txns().visible(), Some(Arc::new(doc)));
    }

    /// What a reply says: valid, invalid documents, missing entries, and
    /// the indexes marked invalid.
    fn verdict(reply: &Document) -> (bool, i32, usize, Vec<String>) {
        let details = reply.get_document("indexDetails").expect("indexDetails");
        let invalid = details
            .iter()
            .filter(|(_, d)| d.as_document().and_then(|d| d.get_bool("valid").ok()) == Some(false))
            .map(|(name, _)| name.clone())
            .collect();
        (
            reply.get_bool("valid").expect("valid"),
            reply
                .get_i32("nInvalidDocuments")
                .expect("nInvalidDocuments"),
            reply.get_array("missingIndexEntries").map_or(0, Vec::len),
            invalid,
        )
    }

    #[test]
    fn validate_finds_a_sound_collection_valid() {
        let reply = validate_after(|_| {});
        assert_eq!(verdict(&reply), (true, 0, 0, vec![]), "{reply}");
    }

    #[test]
    fn validate_finds_missing_index_entries() {
        let reply = validate_after(|engine| {
            remove_entry(engine, "tags_1", 1, doc! {"tags": ["a"]});
            remove_entry(engine, "k_1", 2, doc! {"k": 2});
        });
        assert_eq!(
            verdict(&reply),
            (false, 0, 2, vec!["k_1".to_owned(), "tags_1".to_owned()]),
            "{reply}"
        );
        let missing = reply.get_array("missingIndexEntries").expect("entries");
        assert!(
            missing.contains(&Bson::Document(doc! {
                "indexName": "tags_1", "idKey": {"_id": 1}, "indexKey": {"tags": "a"},
            })),
            "{reply}"
        );
    }

    #[test]
    fn validate_finds_duplicate_unique_keys_and_records_not_under_their_id() {
        let reply = validate_after(|engine| {
            // Stored past the unique check, with its entries.
            let coll = engine.catalog().get("t", "c", None).expect("t.c");
            coll.install(engine.txns().visible(), Arc::new(doc! {"_id": 4, "k": 1}))
                .expect("installs");
            // A record whose key is not its document's `_id`.
            install(engine, 5, doc! {"_id": 6});
        });
        // The bad record was installed without index entries, too.
        assert_eq!(
            verdict(&reply),
            (false, 1, 2, vec!["k_1".to_owned(), "tags_1".to_owned()]),
            "{reply}"
        );
        let errors = reply.get_array("errors").expect("errors");
        assert!(
            errors
                .iter()
                .any(|e| e.as_str().is_some_and(|e| e.contains("Unique index k_1"))),
            "{reply}"
        );
    }
}
