//! Catalog commands: `create`, `collMod`, `drop`, `dropDatabase`,
//! `listDatabases`, `listCollections`, `createIndexes`, `dropIndexes`,
//! `listIndexes`.

use std::sync::Arc;

use bson::{Bson, Document, doc};
use mql::Code;
use mql::matcher::Filter;

use super::args::Args;
use super::ctx::{Ctx, journal_create, validate_collection_name, write_conflict};
use super::cursor_reply;
use super::validation::{self, VALIDATION_FIELDS};
use super::view;
use super::{CommandError, CommandResult};
use crate::durable::Op;
use crate::storage::catalog::Lookup;
use crate::storage::collection::{BuildError, Collection};
use crate::storage::index::IndexSpec;

pub(super) fn create(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let args = Args::new("create", body);
    args.check_known(&[
        "capped",
        "size",
        "max",
        "validator",
        "validationLevel",
        "validationAction",
        "idIndex",
        "storageEngine",
        "indexOptionDefaults",
        "viewOn",
        "pipeline",
        "timeseries",
        "expireAfterSeconds",
        "clusteredIndex",
        "changeStreamPreAndPostImages",
        "autoIndexId",
        "flags",
        "temp",
        "encryptedFields",
        "recordIdsReplicated",
    ])?;
    let name = args.collection()?;
    validate_collection_name(ctx.db, name)?;
    let views_or_collections = if args.get("viewOn").is_some() {
        "views"
    } else {
        "collections"
    };
    super::collation::refuse_stored(args.get("collation"), views_or_collections)?;
    let options: Document = body
        .iter()
        .skip(1)
        .filter(|(k, _)| !is_generic(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let options = match view::options_of_create(ctx, name, &args, &options)? {
        Some(view) => view,
        None => {
            refuse_unsupported_kinds(&args)?;
            validation::check_options("create", ctx.db, &options)?;
            options
        }
    };
    let creator = ctx.txn.as_ref().map(|t| t.id());
    match ctx
        .engine
        .catalog()
        .get_or_create(ctx.db, name, options, creator)
    {
        Lookup::Created(coll) => {
            match ctx.txn.as_deref_mut() {
                Some(txn) => txn.note_created(coll),
                None => ctx
                    .engine
                    .catalog_change(|_| Ok(journal_create(ctx.engine, &coll)))?,
            }
            Ok(Document::new())
        }
        Lookup::Found(_) => Err(CommandError::new(
            Code::NAMESPACE_EXISTS,
            format!("Collection {}.{name} already exists.", ctx.db),
        )),
        Lookup::PendingElsewhere => Err(write_conflict()),
    }
}

/// Collections whose behaviour Rotor does not have are refused, never
/// created as plain collections that would silently behave otherwise: a
/// capped collection that never drops its oldest documents, a TTL that
/// never expires, a time series or clustered layout.
fn refuse_unsupported_kinds(args: &Args<'_>) -> Result<(), CommandError> {
    let refused = match () {
        () if args.bool("capped")? == Some(true) => "capped collections",
        () if args.get("timeseries").is_some() => "time series collections",
        () if args.get("clusteredIndex").is_some() => "clustered collections",
        () if args.get("expireAfterSeconds").is_some() => "collections with expireAfterSeconds",
        () => return Ok(()),
    };
    Err(CommandError::new(
        Code::COMMAND_NOT_SUPPORTED,
        format!("Rotor does not support {refused}"),
    ))
}

/// `collMod` fields mongod has that Rotor does not (indexes, TTL, capped,
/// pre/post images...): refused rather than ignored.
const COLL_MOD_UNSUPPORTED: &[&str] = &[
    "index",
    "expireAfterSeconds",
    "cappedSize",
    "cappedMax",
    "changeStreamPreAndPostImages",
    "viewOn",
    "pipeline",
    "timeseries",
    "timeseriesBucketsMayHaveMixedSchemaData",
    "recordIdsReplicated",
    "dryRun",
    "collectionUUID",
    "prepareUnique",
    "unique",
    "hidden",
    "getUUID",
];

/// `collMod`: changes a collection's validation options, durably. Replies
/// `{}` (mongod 5+ adds nothing for these fields).
pub(super) fn coll_mod(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let args = Args::new("collMod", body);
    let mut known = VALIDATION_FIELDS.to_vec();
    known.extend_from_slice(COLL_MOD_UNSUPPORTED);
    args.check_known(&known)?;
    if let Some(field) = COLL_MOD_UNSUPPORTED.iter().find(|f| args.get(f).is_some()) {
        return Err(CommandError::new(
            Code::INVALID_OPTIONS,
            format!(
                "Rotor's collMod supports only validator, validationLevel and validationAction, not '{field}'"
            ),
        ));
    }
    let name = args.collection()?;
    let changes: Document = VALIDATION_FIELDS
        .iter()
        .filter_map(|f| args.get(f).map(|v| (f.to_string(), v.clone())))
        .collect();
    validation::check_options("collMod", ctx.db, &changes)?;
    let missing = || {
        CommandError::new(
            Code::NAMESPACE_NOT_FOUND,
            format!("ns does not exist: {}.{name}", ctx.db),
        )
    };
    let coll = ctx.collection(name).ok_or_else(missing)?;
    if view::is_view(&coll) && !changes.is_empty() {
        return Err(CommandError::new(
            Code::INVALID_OPTIONS,
            format!(
                "option not supported on a view: {}",
                changes
                    .keys()
                    .next()
                    .map(String::as_str)
                    .unwrap_or_default()
            ),
        ));
    }
    if changes.is_empty() {
        return Ok(Document::new());
    }
    ctx.engine.catalog_change(|_| {
        // A drop may have won since the lookup: journal nothing that
        // recovery would apply to a later collection of the same name.
        let current = ctx.engine.catalog().get(ctx.db, name, None);
        if !current.is_some_and(|c| Arc::ptr_eq(&c, &coll)) {
            return Err(missing());
        }
        let mut options = (*coll.options()).clone();
        options.extend(changes);
        if options.contains_key("validator") {
            // mongod shows the effective level and action once a validator is set.
            if !options.contains_key("validationLevel") {
                options.insert("validationLevel", "strict");
            }
            if !options.contains_key("validationAction") {
                options.insert("validationAction", "error");
            }
        }
        coll.set_options(options.clone());
        Ok(vec![Op::SetOptions {
            db: coll.db.clone(),
            coll: coll.name.clone(),
            options,
        }])
    })?;
    Ok(Document::new())
}

fn is_generic(field: &str) -> bool {
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
    )
}

pub(super) fn drop(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let args = Args::new("drop", body);
    args.check_known(&[])?;
    let name = args.collection()?;
    if name.is_empty() {
        return Err(CommandError::new(
            Code::INVALID_NAMESPACE,
            format!("Invalid namespace specified '{}.'", ctx.db),
        ));
    }
    let mut reply = Document::new();
    ctx.engine.catalog_change(|_| {
        let Some(coll) = ctx.engine.catalog().remove(ctx.db, name) else {
            return Ok(Vec::new());
        };
        reply = if view::is_view(&coll) {
            doc! {"ns": coll.namespace()}
        } else {
            doc! {"nIndexesWas": coll.index_specs().len() as i32, "ns": coll.namespace()}
        };
        ctx.engine.cursors().kill_namespace(&coll.namespace());
        Ok(vec![Op::Drop {
            db: coll.db.clone(),
            coll: coll.name.clone(),
        }])
    })?;
    Ok(reply)
}

pub(super) fn drop_database(ctx: &mut Ctx<'_>, _body: &Document) -> CommandResult {
    ctx.engine.catalog_change(|_| {
        ctx.engine.catalog().drop_database(ctx.db);
        Ok(vec![Op::DropDatabase {
            db: ctx.db.to_owned(),
        }])
    })?;
    Ok(doc! {"dropped": ctx.db})
}

pub(super) fn list_databases(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let args = Args::new("listDatabases", body);
    args.check_known(&["filter", "nameOnly", "authorizedDatabases"])?;
    let filter = args.document("filter")?.map(Filter::parse).transpose()?;
    let name_only = args.bool("nameOnly")?.unwrap_or(false);
    let mut databases = Vec::new();
    for name in ctx.engine.catalog().database_names() {
        let info = if name_only {
            doc! {"name": name}
        } else {
            doc! {"name": name, "sizeOnDisk": 0i64, "empty": false}
        };
        if filter.as_ref().is_none_or(|f| f.matches(&info)) {
            databases.push(info);
        }
    }
    if name_only {
        return Ok(doc! {"databases": databases});
    }
    Ok(doc! {"databases": databases, "totalSize": 0i64, "totalSizeMb": 0i64})
}

pub(super) fn list_collections(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let args = Args::new("listCollections", body);
    args.check_known(&[
        "filter",
        "nameOnly",
        "cursor",
        "authorizedCollections",
        "includePendingDrops",
    ])?;
    let filter = args.document("filter")?.map(Filter::parse).transpose()?;
    let name_only = args.bool("nameOnly")?.unwrap_or(false);
    let batch_size = cursor_batch_size(&args)?;
    let txn = ctx.txn.as_ref().map(|t| t.id());
    let mut out = Vec::new();
    for coll in ctx.engine.catalog().collections(ctx.db, txn) {
        let info = if view::is_view(&coll) {
            view::list_entry(&coll, name_only)
        } else if name_only {
            doc! {"name": coll.name.clone(), "type": "collection"}
        } else {
            doc! {
                "name": coll.name.clone(),
                "type": "collection",
                "options": (*coll.options()).clone(),
                "info": {"readOnly": false, "uuid": Bson::Binary(bson::Binary::from_uuid(coll.uuid))},
                "idIndex": {"v": 2, "key": {"_id": 1}, "name": "_id_"},
            }
        };
        if filter.as_ref().is_none_or(|f| f.matches(&info)) {
            out.push(info);
        }
    }
    cursor_reply::first_batch(ctx, "$cmd.listCollections", out, batch_size, false)
}

fn cursor_batch_size(args: &Args<'_>) -> Result<Option<usize>, CommandError> {
    let Some(cursor) = args.document("cursor")? else {
        return Ok(None);
    };
    Args::new("cursor", cursor)
        .non_negative("batchSize")
        .map(|n| n.map(|n| n as usize))
}

pub(super) fn create_indexes(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let args = Args::new("createIndexes", body);
    args.check_known(&[
        "indexes",
        "commitQuorum",
        "ignoreUnknownIndexOptions",
        "isTimeseriesNamespace",
    ])?;
    let name = args.collection()?;
    let specs = args.documents("indexes")?.ok_or_else(|| {
        CommandError::new(
            Code::FAILED_TO_PARSE,
            "BSON field 'createIndexes.indexes' is missing but a required field",
        )
    })?;
    if specs.is_empty() {
        return Err(CommandError::new(
            Code::BAD_VALUE,
            "Must specify at least one index to create",
        ));
    }
    for spec in &specs {
        super::collation::refuse_stored(spec.get("collation"), "indexes")?;
    }
    let specs = specs
        .into_iter()
        .map(IndexSpec::parse)
        .collect::<Result<Vec<_>, _>>()?;
    let existed = ctx.collection(name).is_some();
    let coll = ctx.collection_for_write(name)?;
    if ctx.in_transaction()
        && existed
        && !ctx.txn.as_ref().is_some_and(|t| {
            t.created_collections()
                .iter()
                .any(|c| Arc::ptr_eq(c, &coll))
        })
    {
        return Err(CommandError::new(
            Code::OPERATION_NOT_SUPPORTED_IN_TRANSACTION,
            format!(
                "Cannot create new indexes on existing collection {} in a multi-document transaction.",
                coll.namespace()
            ),
        ));
    }
    let before = coll.index_specs().len();
    if ctx.in_transaction() {
        for spec in specs {
            add_index(&coll, spec)?;
        }
    } else {
        ctx.engine.catalog_change(|_| {
            let mut ops = Vec::new();
            for spec in specs {
                let info = spec.info.clone();
                if add_index(&coll, spec)? {
                    ops.push(Op::CreateIndex {
                        db: coll.db.clone(),
                        coll: coll.name.clone(),
                        spec: info,
                    });
                }
            }
            Ok(ops)
        })?;
    }
    let after = coll.index_specs().len();
    let mut reply = doc! {
        "numIndexesBefore": before as i32,
        "numIndexesAfter": after as i32,
        "createdCollectionAutomatically": !existed,
    };
    if before == after {
        reply.insert("note", "all indexes already exist");
    }
    Ok(reply)
}

/// Adds `spec` unless an identical index exists; returns whether it added one.
fn add_index(coll: &Arc<Collection>, spec: IndexSpec) -> Result<bool, CommandError> {
    for existing in coll.index_specs() {
        let same_key = existing.key == spec.key;
        let same_name = existing.name == spec.name;
        if same_key && same_name {
            if existing.unique != spec.unique || existing.sparse != spec.sparse {
                return Err(CommandError::new(
                    Code::INDEX_OPTIONS_CONFLICT,
                    format!(
                        "An existing index has the same name as the requested index but different options. Requested index: {}, existing index: {}",
                        spec.info, existing.info
                    ),
                ));
            }
            return Ok(false);
        }
        if same_name {
            return Err(CommandError::new(
                Code::INDEX_KEY_SPECS_CONFLICT,
                format!(
                    "An existing index has the same name as the requested index but a different key. Requested index: {}, existing index: {}",
                    spec.info, existing.info
                ),
            ));
        }
        if same_key && existing.partial.is_none() && spec.partial.is_none() {
            return Err(CommandError::new(
                Code::INDEX_OPTIONS_CONFLICT,
                format!(
                    "Index already exists with a different name: {}",
                    existing.name
                ),
            ));
        }
    }
    let spec_for_error = spec.clone();
    coll.add_index(spec).map(|()| true).map_err(|error| match error {
        BuildError::Invalid(error) => error.into(),
        BuildError::Duplicate(key) => {
            let key_value = spec_for_error.key_value(&key);
            let shown = key_value.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", ");
            let mut error = CommandError::new(
                Code::DUPLICATE_KEY,
                format!(
                    "Index build failed: E11000 duplicate key error collection: {} index: {} dup key: {{ {shown} }}",
                    coll.namespace(),
                    spec_for_error.name
                ),
            );
            error.extra = Box::new(doc! {"keyPattern": spec_for_error.key.clone(), "keyValue": key_value});
            error
        }
    })
}

pub(super) fn drop_indexes(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let args = Args::new("dropIndexes", body);
    args.check_known(&["index"])?;
    let name = args.collection()?;
    let coll = ctx.collection(name).ok_or_else(|| {
        CommandError::new(
            Code::NAMESPACE_NOT_FOUND,
            format!("ns not found {}.{name}", ctx.db),
        )
    })?;
    view::refuse(&coll)?;
    let was = coll.index_specs().len() as i32;
    let target = args.get("index").ok_or_else(|| {
        CommandError::new(
            Code::FAILED_TO_PARSE,
            "BSON field 'dropIndexes.index' is missing but a required field",
        )
    })?;
    let names: Vec<String> = match target {
        Bson::String(all) if all == "*" => {
            coll.indexes().iter().map(|i| i.spec.name.clone()).collect()
        }
        Bson::String(one) => vec![one.clone()],
        Bson::Array(many) => many
            .iter()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect(),
        Bson::Document(key) => match coll.index_specs().into_iter().find(|s| &s.key == key) {
            Some(spec) => vec![spec.name],
            None => {
                return Err(CommandError::new(
                    Code::INDEX_NOT_FOUND,
                    format!("can't find index with key: {key}"),
                ));
            }
        },
        _ => {
            return Err(CommandError::new(
                Code::TYPE_MISMATCH,
                "dropIndexes.index must be a string, array or object",
            ));
        }
    };
    for name in &names {
        if name == "_id_" {
            return Err(CommandError::new(
                Code::INVALID_OPTIONS,
                "cannot drop _id index",
            ));
        }
        if coll.index(name).is_none() {
            return Err(CommandError::new(
                Code::INDEX_NOT_FOUND,
                format!("index not found with name [{name}]"),
            ));
        }
    }
    ctx.engine.catalog_change(|_| {
        coll.drop_indexes(&names);
        Ok(names
            .iter()
            .map(|name| Op::DropIndex {
                db: coll.db.clone(),
                coll: coll.name.clone(),
                name: name.clone(),
            })
            .collect())
    })?;
    Ok(doc! {"nIndexesWas": was})
}

pub(super) fn list_indexes(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let args = Args::new("listIndexes", body);
    args.check_known(&["cursor", "includeBuildUUIDs", "includeIndexBuildInfo"])?;
    let name = args.collection()?;
    let batch_size = cursor_batch_size(&args)?;
    let coll = ctx.collection(name).ok_or_else(|| {
        CommandError::new(
            Code::NAMESPACE_NOT_FOUND,
            format!("ns does not exist: {}.{name}", ctx.db),
        )
    })?;
    view::refuse(&coll)?;
    let infos = coll.index_specs().into_iter().map(|s| s.info).collect();
    cursor_reply::first_batch(ctx, name, infos, batch_size, false)
}
