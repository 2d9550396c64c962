// MongoDB's shell, mongosh, against `rotor serve`: the seed's
// orders/inventory transaction through `session.withTransaction`, a manual
// commit, an abort whose writes stay invisible, a WriteConflict between two
// sessions, and the helpers people type at the prompt. Run by
// scripts/mongosh/run.sh with `mongosh URI --quiet --file seed.js`.
//
// Every check throws on failure; mongosh exits non-zero on an uncaught
// error in a --file script, which is how run.sh sees a failure. The shell
// rewrites this file so driver calls read synchronously; plain functions
// and try/catch work, async callbacks are not needed.

const WRITE_CONFLICT = 112;
const NO_SUCH_TRANSACTION = 251;
const DB_NAME = "mongosh_e2e";

function check(condition, message) {
  if (!condition) {
    throw new Error(`check failed: ${message}`);
  }
}

function checkEqual(actual, expected, message) {
  check(
    actual === expected,
    `${message}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
  );
}

// Runs `operation` and returns the error it throws; a failure if it throws none.
function errorOf(operation, message) {
  try {
    operation();
  } catch (error) {
    return error;
  }
  throw new Error(`check failed: ${message}: no error was thrown`);
}

function hasLabel(error, label) {
  return Array.isArray(error.errorLabels) && error.errorLabels.includes(label);
}

const step = (name) => print(`-- ${name}`);

const mongo = db.getMongo();
const e2e = db.getSiblingDB(DB_NAME);
e2e.dropDatabase();

step("withTransaction commits the seed's order and inventory update");
{
  e2e.inventory.insertOne({ sku: "abc123", qty: 1000 });
  const session = mongo.startSession();
  try {
    const orders = session.getDatabase(DB_NAME).orders;
    const inventory = session.getDatabase(DB_NAME).inventory;
    session.withTransaction(() => {
      orders.insertOne({ sku: "abc123", qty: 100 });
      const updated = inventory.updateOne(
        { sku: "abc123", qty: { $gte: 100 } },
        { $inc: { qty: -100 } },
      );
      checkEqual(updated.modifiedCount, 1, "the inventory update inside the transaction");
    });
  } finally {
    session.endSession();
  }
  checkEqual(e2e.inventory.findOne({ sku: "abc123" }).qty, 900, "inventory after commit");
  checkEqual(e2e.orders.countDocuments({ sku: "abc123" }), 1, "orders after commit");
}

step("startTransaction and commitTransaction make the writes visible together");
{
  const session = mongo.startSession();
  try {
    const manual = session.getDatabase(DB_NAME).manual;
    session.startTransaction({ readConcern: { level: "snapshot" }, writeConcern: { w: "majority" } });
    manual.insertMany([{ _id: 1 }, { _id: 2 }]);
    checkEqual(manual.countDocuments({}), 2, "the transaction reads its own writes");
    checkEqual(e2e.manual.countDocuments({}), 0, "others never see uncommitted writes");
    session.commitTransaction();
  } finally {
    session.endSession();
  }
  checkEqual(e2e.manual.countDocuments({}), 2, "writes visible after commit");
}

step("abortTransaction discards the transaction's writes");
{
  e2e.aborted.insertOne({ _id: "kept" });
  const session = mongo.startSession();
  try {
    const aborted = session.getDatabase(DB_NAME).aborted;
    session.startTransaction();
    aborted.insertOne({ _id: "discarded" });
    aborted.updateOne({ _id: "kept" }, { $set: { touched: true } });
    checkEqual(aborted.countDocuments({}), 2, "the transaction reads its own writes");
    session.abortTransaction();
  } finally {
    session.endSession();
  }
  const left = e2e.aborted.find().toArray();
  checkEqual(JSON.stringify(left), JSON.stringify([{ _id: "kept" }]), "nothing of the abort is visible");
}

step("the second writer of a document gets a transient WriteConflict");
{
  e2e.conflict.insertOne({ _id: "abc123", qty: 1000 });
  const first = mongo.startSession();
  const second = mongo.startSession();
  try {
    first.startTransaction();
    second.startTransaction();
    first.getDatabase(DB_NAME).conflict.updateOne({ _id: "abc123" }, { $inc: { qty: -100 } });
    const conflict = errorOf(
      () => second.getDatabase(DB_NAME).conflict.updateOne({ _id: "abc123" }, { $inc: { qty: -1 } }),
      "the second writer must fail",
    );
    checkEqual(conflict.code, WRITE_CONFLICT, "the conflict's code");
    checkEqual(conflict.codeName, "WriteConflict", "the conflict's codeName");
    check(hasLabel(conflict, "TransientTransactionError"), `TransientTransactionError label in ${conflict.errorLabels}`);
    const commit = errorOf(() => second.commitTransaction(), "the conflicted transaction must not commit");
    checkEqual(commit.code, NO_SUCH_TRANSACTION, "committing the aborted transaction");
    first.commitTransaction();
  } finally {
    first.endSession();
    second.endSession();
  }
  checkEqual(e2e.conflict.findOne({ _id: "abc123" }).qty, 900, "only the first writer's update");
}

step("shell helpers");
{
  checkEqual(db.version(), "8.0.0", "db.version()");
  const hello = db.adminCommand({ hello: 1 });
  checkEqual(hello.isWritablePrimary, true, "hello.isWritablePrimary");
  checkEqual(hello.setName, "rs0", "hello.setName");
  checkEqual(rs.hello().setName, "rs0", "rs.hello().setName");

  const status = rs.status();
  checkEqual(status.ok, 1, "rs.status().ok");
  checkEqual(status.members.length, 1, "rs.status() members");
  checkEqual(status.members[0].stateStr, "PRIMARY", "rs.status() member state");

  const conf = rs.conf();
  checkEqual(conf._id, "rs0", "rs.conf()._id");
  checkEqual(conf.members.length, 1, "rs.conf() members");

  checkEqual(db.serverStatus().ok, 1, "db.serverStatus().ok");
  checkEqual(db.hostInfo().ok, 1, "db.hostInfo().ok");
  checkEqual(db.serverCmdLineOpts().parsed.replication.replSet, "rs0", "db.serverCmdLineOpts()");

  const dbs = show("dbs");
  check(JSON.stringify(dbs).includes(DB_NAME), `show dbs lists ${DB_NAME}: ${JSON.stringify(dbs)}`);
  const names = e2e.getMongo().getDBNames();
  check(names.includes(DB_NAME), `getDBNames lists ${DB_NAME}: ${names}`);

  const collections = e2e.getCollectionNames().sort();
  checkEqual(
    JSON.stringify(collections),
    JSON.stringify(["aborted", "conflict", "inventory", "manual", "orders"]),
    "getCollectionNames()",
  );
  use(DB_NAME);
  const shown = show("collections");
  check(JSON.stringify(shown).includes("inventory"), `show collections: ${JSON.stringify(shown)}`);

  const orders = db.orders.find({}, { _id: 0 }).toArray();
  checkEqual(JSON.stringify(orders), JSON.stringify([{ sku: "abc123", qty: 100 }]), "find().toArray()");
  checkEqual(db.orders.countDocuments(), 1, "countDocuments()");
  checkEqual(db.orders.estimatedDocumentCount(), 1, "estimatedDocumentCount()");

  checkEqual(db.orders.createIndex({ sku: 1 }), "sku_1", "createIndex()");
  const indexes = db.orders.getIndexes().map((index) => index.name).sort();
  checkEqual(JSON.stringify(indexes), JSON.stringify(["_id_", "sku_1"]), "getIndexes()");

  const stats = db.stats();
  checkEqual(stats.ok, 1, "db.stats().ok");
  checkEqual(stats.db, DB_NAME, "db.stats().db");
  // mongod sends counts as longs, which the shell shows as Long('5').
  checkEqual(stats.collections._bsontype, "Long", "db.stats().collections type");
  checkEqual(stats.collections.toNumber(), 5, "db.stats().collections");
  checkEqual(stats.objects.toNumber(), 6, "db.stats().objects");
  checkEqual(stats.indexes.toNumber(), 6, "db.stats().indexes");
  check(stats.dataSize > 0, `db.stats().dataSize ${stats.dataSize}`);
}

print("mongosh: all checks passed");
