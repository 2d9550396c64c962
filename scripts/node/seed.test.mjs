// The Node.js MongoDB driver against `rotor serve` (ROTOR_URI): it
// discovers the one-member replica set, runs the seed's orders/inventory
// transaction with `session.withTransaction`, aborts, and meets a write
// conflict between two sessions. Run by scripts/node/run.sh with node:test.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { MongoClient } from "mongodb";

const WRITE_CONFLICT = 112;
const NO_SUCH_TRANSACTION = 251;

let client;
let db;

before(async () => {
  client = new MongoClient(process.env.ROTOR_URI, { serverSelectionTimeoutMS: 10000 });
  await client.connect();
  db = client.db("node_e2e");
  await db.dropDatabase();
});

after(async () => {
  await client.close();
});

test("withTransaction commits the seed's order and inventory update", async () => {
  const orders = db.collection("orders");
  const inventory = db.collection("inventory");
  await inventory.insertOne({ sku: "abc123", qty: 1000 });
  const session = client.startSession();
  try {
    await session.withTransaction(async () => {
      await orders.insertOne({ sku: "abc123", qty: 100 }, { session });
      await inventory.updateOne(
        { sku: "abc123", qty: { $gte: 100 } },
        { $inc: { qty: -100 } },
        { session },
      );
    });
  } finally {
    await session.endSession();
  }
  assert.equal((await inventory.findOne({ sku: "abc123" })).qty, 900);
  assert.equal(await orders.countDocuments({ sku: "abc123" }), 1);
});

test("abortTransaction discards the transaction's writes", async () => {
  const coll = db.collection("aborted");
  const session = client.startSession();
  try {
    session.startTransaction();
    await coll.insertOne({ _id: 1 }, { session });
    assert.equal(await coll.countDocuments({}, { session }), 1, "reads its own writes");
    assert.equal(await coll.countDocuments({}), 0, "others never see uncommitted writes");
    await session.abortTransaction();
  } finally {
    await session.endSession();
  }
  assert.equal(await coll.countDocuments({}), 0);
});

test("the second writer of a document gets a transient WriteConflict", async () => {
  const coll = db.collection("conflict");
  await coll.insertOne({ _id: "abc123", qty: 1000 });
  const first = client.startSession();
  const second = client.startSession();
  try {
    first.startTransaction();
    second.startTransaction();
    await coll.updateOne({ _id: "abc123" }, { $inc: { qty: -100 } }, { session: first });
    const conflict = await coll
      .updateOne({ _id: "abc123" }, { $inc: { qty: -1 } }, { session: second })
      .then(() => null, (error) => error);
    assert.ok(conflict, "the second writer must fail");
    assert.equal(conflict.code, WRITE_CONFLICT);
    assert.ok(conflict.hasErrorLabel("TransientTransactionError"));
    const commit = await second.commitTransaction().then(() => null, (error) => error);
    assert.equal(commit?.code, NO_SUCH_TRANSACTION);
    await first.commitTransaction();
  } finally {
    await first.endSession();
    await second.endSession();
  }
  assert.equal((await coll.findOne({ _id: "abc123" })).qty, 900);
});
