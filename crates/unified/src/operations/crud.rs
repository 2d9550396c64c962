//! Operations on client, database and collection entities, each mapped to
//! one call of the Rust client's API with its options applied through the
//! [`Action`] builder. An operation or option the client lacks is an
//! error naming it, never a silent omission.

use bson::{Bson, Document, doc};
use rotor::{Action, Collection, Database, IndexModel, ReturnDocument, WriteModel};

use super::{Lent, TestState, in_session, known_arguments};
use crate::entities::Entity;
use crate::model::Operation;
use crate::results::{self, OpError, OpResult, as_u64};

/// Options every operation may take, applied by [`with_options`].
const OPTIONS: [&str; 16] = [
    "sort",
    "projection",
    "skip",
    "limit",
    "batchSize",
    "hint",
    "collation",
    "comment",
    "let",
    "bypassDocumentValidation",
    "maxTimeMS",
    "allowDiskUse",
    "upsert",
    "arrayFilters",
    "returnDocument",
    "ordered",
];

pub(super) async fn execute(
    state: &mut TestState,
    op: &Operation,
    lent: &mut Lent<'_>,
) -> OpResult {
    match state.entities.get(&op.object)? {
        Entity::Collection(collection) => {
            let collection = (**collection).clone();
            collection_op(state, op, lent, collection).await
        }
        Entity::Database(database) => {
            let database = database.clone();
            database_op(state, op, lent, database).await
        }
        Entity::Client(client) if op.name == "clientBulkWrite" => {
            let bulk_defaults = (client.concerns.clone(), client.retry_writes);
            let client = client.client.clone();
            client_bulk_write(state, op, lent, client, bulk_defaults).await
        }
        Entity::Client(client) if op.name == "listDatabases" => {
            known_arguments(op, &["session"])?;
            let action = client
                .client
                .list_databases()
                .retry_reads(client.retry_reads);
            let databases = in_session(state, lent, &op.arguments.clone(), action).await?;
            Ok(Some(Bson::Array(
                databases.into_iter().map(Bson::Document).collect(),
            )))
        }
        Entity::Client(client) if op.name == "listDatabaseNames" => {
            known_arguments(op, &["session"])?;
            let action = client
                .client
                .list_database_names()
                .retry_reads(client.retry_reads);
            let names = in_session(state, lent, &op.arguments.clone(), action).await?;
            Ok(Some(strings(names)))
        }
        Entity::Client(client) if op.name == "dropDatabase" => {
            known_arguments(op, &["database", "session"])?;
            let args = op.arguments.clone();
            let name = args
                .get_str("database")
                .map_err(|_| "dropDatabase without database")?;
            let action = client.client.database(name).drop();
            in_session(state, lent, &args, action).await?;
            Ok(None)
        }
        Entity::Client(_) => Err(format!("client operation {} is not supported", op.name).into()),
        _ => Err(format!("{} is not a client, database or collection", op.object).into()),
    }
}

/// Names as the format's result: an array of strings.
fn strings(names: Vec<String>) -> Bson {
    Bson::Array(names.into_iter().map(Bson::String).collect())
}

/// Runs a names listing in the session the arguments name, if any.
async fn names(
    state: &mut TestState,
    lent: &mut Lent<'_>,
    args: &Document,
    listing: rotor::ListNames<'static>,
) -> Result<Bson, OpError> {
    let names = match args.get_str("session") {
        Ok(id) => {
            let session = super::session_for(&mut state.entities, lent, id)?;
            listing.session(session).await?
        }
        Err(_) => listing.await?,
    };
    Ok(strings(names))
}

fn document(args: &Document, key: &str) -> Result<Document, OpError> {
    args.get_document(key)
        .cloned()
        .map_err(|_| OpError::Runner(format!("argument {key} is missing or not a document")))
}

fn documents(args: &Document, key: &str) -> Result<Vec<Document>, OpError> {
    let array = args
        .get_array(key)
        .map_err(|_| OpError::Runner(format!("argument {key} is missing or not an array")))?;
    array
        .iter()
        .map(|d| {
            d.as_document()
                .cloned()
                .ok_or(OpError::Runner(format!("{key} holds a non-document")))
        })
        .collect()
}

/// An update: a document of operators or a pipeline.
fn update_spec(args: &Document) -> Result<Bson, OpError> {
    match args.get("update") {
        Some(update @ (Bson::Document(_) | Bson::Array(_))) => Ok(update.clone()),
        _ => Err("argument update is missing".into()),
    }
}

/// Applies the operation's options (all arguments but `consumed` and
/// `session`) to `action`.
fn with_options<R>(
    mut action: Action<'static, R>,
    args: &Document,
    consumed: &[&str],
) -> Result<Action<'static, R>, OpError> {
    for (key, value) in args {
        if consumed.contains(&key.as_str()) || key == "session" {
            continue;
        }
        action = apply(action, key, value)?;
    }
    Ok(action)
}

fn apply<R>(
    action: Action<'static, R>,
    key: &str,
    value: &Bson,
) -> Result<Action<'static, R>, OpError> {
    let bad = || OpError::Runner(format!("option {key}={value} has the wrong type"));
    let doc = || value.as_document().cloned().ok_or_else(bad);
    let int = || match value {
        Bson::Int32(n) => Ok(i64::from(*n)),
        Bson::Int64(n) => Ok(*n),
        _ => Err(bad()),
    };
    let flag = || value.as_bool().ok_or_else(bad);
    Ok(match key {
        "sort" => action.sort(doc()?),
        "projection" => action.projection(doc()?),
        "skip" => action.skip(int()?),
        "limit" => action.limit(int()?),
        "batchSize" => action.batch_size(i32::try_from(int()?).map_err(|_| bad())?),
        "hint" => action.hint(value.clone()),
        "collation" => action.collation(doc()?),
        "comment" => action.comment(value.clone()),
        "let" => action.let_vars(doc()?),
        "bypassDocumentValidation" => action.bypass_document_validation(flag()?),
        "maxTimeMS" => {
            let ms = as_u64(value).ok_or_else(bad)?;
            action.max_time(std::time::Duration::from_millis(ms))
        }
        "allowDiskUse" => action.allow_disk_use(flag()?),
        "upsert" => action.upsert(flag()?),
        "arrayFilters" => {
            let filters = value
                .as_array()
                .ok_or_else(bad)?
                .iter()
                .map(|f| f.as_document().cloned().ok_or_else(bad))
                .collect::<Result<Vec<_>, _>>()?;
            action.array_filters(filters)
        }
        "returnDocument" => match value.as_str() {
            Some("After") => action.return_document(ReturnDocument::After),
            Some("Before") => action.return_document(ReturnDocument::Before),
            _ => return Err(bad()),
        },
        "ordered" => action.ordered(flag()?),
        other => return Err(format!("option {other} is not supported").into()),
    })
}

/// Checks the arguments, applies the options and runs the action in its
/// session.
async fn run<R: Send>(
    state: &mut TestState,
    lent: &mut Lent<'_>,
    op: &Operation,
    consumed: &[&str],
    action: Action<'static, R>,
) -> Result<R, OpError> {
    let mut known: Vec<&str> = consumed.to_vec();
    known.extend(OPTIONS);
    known.push("session");
    known_arguments(op, &known)?;
    let action = with_options(action, &op.arguments, consumed)?;
    in_session(state, lent, &op.arguments, action).await
}

async fn collection_op(
    state: &mut TestState,
    op: &Operation,
    lent: &mut Lent<'_>,
    coll: Collection<Document>,
) -> OpResult {
    let args = &op.arguments;
    let filter = || document(args, "filter");
    let value = match op.name.as_str() {
        "insertOne" => {
            let action = coll.insert_one(document(args, "document")?);
            results::insert_one(run(state, lent, op, &["document"], action).await?)
        }
        "insertMany" => {
            let action = coll.insert_many(documents(args, "documents")?);
            results::insert_many(run(state, lent, op, &["documents"], action).await?)
        }
        "find" => {
            let action = coll.find(filter()?);
            let cursor = run(state, lent, op, &["filter"], action).await?;
            let found = cursor.try_collect().await?;
            Bson::Array(found.into_iter().map(Bson::Document).collect())
        }
        "findOne" => {
            let action = coll.find_one(filter()?);
            let found = run(state, lent, op, &["filter"], action).await?;
            found.map_or(Bson::Null, Bson::Document)
        }
        "updateOne" | "updateMany" => {
            let action = match op.name.as_str() {
                "updateOne" => coll.update_one(filter()?, update_spec(args)?),
                _ => coll.update_many(filter()?, update_spec(args)?),
            };
            results::update(run(state, lent, op, &["filter", "update"], action).await?)
        }
        "replaceOne" => {
            let action = coll.replace_one(filter()?, document(args, "replacement")?);
            results::update(run(state, lent, op, &["filter", "replacement"], action).await?)
        }
        "deleteOne" | "deleteMany" => {
            let action = match op.name.as_str() {
                "deleteOne" => coll.delete_one(filter()?),
                _ => coll.delete_many(filter()?),
            };
            results::delete(run(state, lent, op, &["filter"], action).await?)
        }
        "findOneAndUpdate" => {
            let action = coll.find_one_and_update(filter()?, update_spec(args)?);
            let found = run(state, lent, op, &["filter", "update"], action).await?;
            found.map_or(Bson::Null, Bson::Document)
        }
        "findOneAndReplace" => {
            let action = coll.find_one_and_replace(filter()?, document(args, "replacement")?);
            let found = run(state, lent, op, &["filter", "replacement"], action).await?;
            found.map_or(Bson::Null, Bson::Document)
        }
        "findOneAndDelete" => {
            let action = coll.find_one_and_delete(filter()?);
            let found = run(state, lent, op, &["filter"], action).await?;
            found.map_or(Bson::Null, Bson::Document)
        }
        "countDocuments" => {
            let action = coll.count_documents(filter()?);
            results::number(run(state, lent, op, &["filter"], action).await?)
        }
        "count" => {
            let action = coll.count(filter()?);
            results::number(run(state, lent, op, &["filter"], action).await?)
        }
        "listIndexes" => {
            let cursor = run(state, lent, op, &[], coll.list_indexes()).await?;
            let found = cursor.try_collect().await?;
            Bson::Array(found.into_iter().map(Bson::Document).collect())
        }
        "listIndexNames" => {
            known_arguments(op, &["session"])?;
            names(state, lent, args, coll.list_index_names()).await?
        }
        "estimatedDocumentCount" => {
            let action = coll.estimated_document_count();
            results::number(run(state, lent, op, &[], action).await?)
        }
        "distinct" => {
            let field = args
                .get_str("fieldName")
                .map_err(|_| "distinct without fieldName")?;
            let action = coll.distinct(field, filter()?);
            Bson::Array(run(state, lent, op, &["fieldName", "filter"], action).await?)
        }
        "aggregate" => {
            let action = coll.aggregate(documents(args, "pipeline")?);
            let cursor = run(state, lent, op, &["pipeline"], action).await?;
            let found = cursor.try_collect().await?;
            Bson::Array(found.into_iter().map(Bson::Document).collect())
        }
        "createIndex" => create_index(state, lent, op, &coll).await?,
        "dropIndex" => {
            known_arguments(op, &["name", "session"])?;
            let name = args.get_str("name").map_err(|_| "dropIndex without name")?;
            in_session(state, lent, args, coll.drop_index(name)).await?;
            return Ok(None);
        }
        "dropIndexes" => {
            known_arguments(op, &["session"])?;
            in_session(state, lent, args, coll.drop_indexes()).await?;
            return Ok(None);
        }
        "bulkWrite" => bulk_write(state, lent, op, &coll).await?,
        other => return Err(format!("collection operation {other} is not supported").into()),
    };
    Ok(Some(value))
}

async fn create_index(
    state: &mut TestState,
    lent: &mut Lent<'_>,
    op: &Operation,
    coll: &Collection<Document>,
) -> Result<Bson, OpError> {
    known_arguments(op, &["keys", "name", "unique", "session"])?;
    let mut options = Document::new();
    for key in ["name", "unique"] {
        if let Some(value) = op.arguments.get(key) {
            options.insert(key, value.clone());
        }
    }
    let index = IndexModel {
        keys: document(&op.arguments, "keys")?,
        options,
    };
    let name = in_session(state, lent, &op.arguments, coll.create_index(index)).await?;
    Ok(Bson::String(name))
}

async fn database_op(
    state: &mut TestState,
    op: &Operation,
    lent: &mut Lent<'_>,
    db: Database,
) -> OpResult {
    let args = &op.arguments;
    match op.name.as_str() {
        "runCommand" => {
            known_arguments(op, &["command", "commandName", "session", "readPreference"])?;
            let mut action = db.run_command(document(args, "command")?);
            if let Ok(preference) = args.get_document("readPreference") {
                action = action.read_preference(preference.clone());
            }
            let reply = in_session(state, lent, args, action).await?;
            Ok(Some(Bson::Document(reply)))
        }
        "dropCollection" => {
            known_arguments(op, &["collection", "session"])?;
            let name = args
                .get_str("collection")
                .map_err(|_| "dropCollection without collection")?;
            let action = db.collection::<Document>(name).drop();
            in_session(state, lent, args, action).await?;
            Ok(None)
        }
        "createCollection" => {
            let name = args
                .get_str("collection")
                .map_err(|_| "createCollection without collection")?;
            let mut options = args.clone();
            options.remove("collection");
            options.remove("session");
            let action = db.create_collection(name, options);
            in_session(state, lent, args, action).await?;
            Ok(None)
        }
        "modifyCollection" => {
            // No driver helper: drivers send `collMod` with the options as given.
            let name = args
                .get_str("collection")
                .map_err(|_| "modifyCollection without collection")?;
            let mut command = doc! {"collMod": name};
            for (key, value) in args {
                if key != "collection" && key != "session" {
                    command.insert(key.clone(), value.clone());
                }
            }
            let action = db.run_command(command);
            in_session(state, lent, args, action).await?;
            Ok(None)
        }
        "aggregate" => {
            let action = db.aggregate(documents(args, "pipeline")?);
            let cursor = run(state, lent, op, &["pipeline"], action).await?;
            let found = cursor.try_collect().await?;
            Ok(Some(Bson::Array(
                found.into_iter().map(Bson::Document).collect(),
            )))
        }
        "listCollections" => {
            known_arguments(op, &["filter", "session"])?;
            let filter = args.get_document("filter").cloned().unwrap_or_default();
            let action = db.list_collections(filter);
            let cursor = in_session(state, lent, args, action).await?;
            let found = cursor.try_collect().await?;
            Ok(Some(Bson::Array(
                found.into_iter().map(Bson::Document).collect(),
            )))
        }
        "listCollectionNames" => {
            known_arguments(op, &["filter", "session"])?;
            let filter = args.get_document("filter").cloned().unwrap_or_default();
            let listing = db.list_collection_names(filter);
            Ok(Some(names(state, lent, args, listing).await?))
        }
        other => Err(format!("database operation {other} is not supported").into()),
    }
}

async fn bulk_write(
    state: &mut TestState,
    lent: &mut Lent<'_>,
    op: &Operation,
    coll: &Collection<Document>,
) -> Result<Bson, OpError> {
    let args = &op.arguments;
    known_arguments(
        op,
        &[
            "requests",
            "ordered",
            "comment",
            "let",
            "bypassDocumentValidation",
            "session",
        ],
    )?;
    let models = args
        .get_array("requests")
        .map_err(|_| "bulkWrite without requests")?
        .iter()
        .map(write_model)
        .collect::<Result<Vec<_>, _>>()?;
    let mut bulk = coll.bulk_write(models);
    for (key, value) in args {
        bulk = match key.as_str() {
            "ordered" => bulk.ordered(value.as_bool().ok_or("ordered is not a bool")?),
            "comment" | "let" | "bypassDocumentValidation" => bulk.option(key, value.clone()),
            _ => bulk,
        };
    }
    let result = match args.get_str("session") {
        Ok(id) => {
            let session = super::session_for(&mut state.entities, lent, id)?;
            bulk.session(session).await?
        }
        Err(_) => bulk.await?,
    };
    Ok(results::bulk(result))
}

/// One `requests` entry, `{insertOne: {...}}` and the like.
fn write_model(request: &Bson) -> Result<WriteModel, OpError> {
    let request = request
        .as_document()
        .ok_or("a bulkWrite request is not a document")?;
    let (name, spec) = request.iter().next().ok_or("an empty bulkWrite request")?;
    let spec = spec
        .as_document()
        .ok_or("a bulkWrite request is not a document")?;
    let statement_options = |consumed: &[&str]| -> Result<Document, OpError> {
        let mut options = Document::new();
        for (key, value) in spec {
            match key.as_str() {
                k if consumed.contains(&k) => {}
                "upsert" | "arrayFilters" | "hint" | "collation" | "sort" => {
                    options.insert(key, value.clone());
                }
                other => return Err(format!("{name} option {other} is not supported").into()),
            }
        }
        Ok(options)
    };
    let filter = || document(spec, "filter");
    Ok(match name.as_str() {
        "insertOne" => WriteModel::InsertOne {
            document: document(spec, "document")?,
        },
        "updateOne" => WriteModel::UpdateOne {
            filter: filter()?,
            update: update_spec(spec)?,
            options: statement_options(&["filter", "update"])?,
        },
        "updateMany" => WriteModel::UpdateMany {
            filter: filter()?,
            update: update_spec(spec)?,
            options: statement_options(&["filter", "update"])?,
        },
        "replaceOne" => WriteModel::ReplaceOne {
            filter: filter()?,
            replacement: document(spec, "replacement")?,
            options: statement_options(&["filter", "replacement"])?,
        },
        "deleteOne" => WriteModel::DeleteOne {
            filter: filter()?,
            options: statement_options(&["filter"])?,
        },
        "deleteMany" => WriteModel::DeleteMany {
            filter: filter()?,
            options: statement_options(&["filter"])?,
        },
        other => return Err(format!("bulkWrite request {other} is not supported").into()),
    })
}

async fn client_bulk_write(
    state: &mut TestState,
    op: &Operation,
    lent: &mut Lent<'_>,
    client: rotor::Client,
    (concerns, retry_writes): (rotor::Concerns, bool),
) -> OpResult {
    let args = &op.arguments;
    known_arguments(
        op,
        &[
            "models",
            "ordered",
            "verboseResults",
            "comment",
            "let",
            "bypassDocumentValidation",
            "writeConcern",
            "session",
        ],
    )?;
    let mut models = Vec::new();
    for request in args
        .get_array("models")
        .map_err(|_| "clientBulkWrite without models")?
    {
        let (name, spec) = request
            .as_document()
            .and_then(|r| r.iter().next())
            .ok_or("a clientBulkWrite model is not a document")?;
        let mut spec = spec
            .as_document()
            .cloned()
            .ok_or("a model is not a document")?;
        let namespace = match spec.remove("namespace") {
            Some(Bson::String(namespace)) => namespace,
            _ => return Err(format!("{name} without namespace").into()),
        };
        let model = write_model(&Bson::Document(bson::doc! {name: spec}))?;
        models.push((namespace, model));
    }
    let mut bulk = client
        .bulk_write(models)
        .with_concerns(concerns)
        .retry_writes(retry_writes);
    for (key, value) in args {
        bulk = match key.as_str() {
            "ordered" => bulk.ordered(value.as_bool().ok_or("ordered is not a bool")?),
            "verboseResults" => {
                bulk.verbose_results(value.as_bool().ok_or("verboseResults is not a bool")?)
            }
            "comment" | "let" | "bypassDocumentValidation" => bulk.option(key, value.clone()),
            "writeConcern" => bulk.write_concern(
                value
                    .as_document()
                    .cloned()
                    .ok_or("writeConcern is not a document")?,
            ),
            _ => bulk,
        };
    }
    let result = match args.get_str("session") {
        Ok(id) => {
            let session = super::session_for(&mut state.entities, lent, id)?;
            bulk.session(session).await?
        }
        Err(_) => bulk.await?,
    };
    Ok(Some(results::client_bulk(result)))
}
