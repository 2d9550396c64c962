#!/usr/bin/env python3
"""Writes the seed corpus of the run_command fuzz target (corpus/run_command).

A seed is a run of BSON command documents laid end to end (the target's
input format; see crates/engine/src/fuzzing.rs). Two sources:

- hand-made sequences below, one per area (writes with operators and
  pipelines, aggregation stages, find, findAndModify, bulkWrite, indexes,
  transactions, failpoints);
- with --spec DIR (PyMongo's test directory), the commands that the unified
  spec tests expect a driver to send (`commandStartedEvent.command`), in
  order, after inserts of the test's initial data. The spec's matchers
  ($$exists, $$unsetOrMatches, $$sessionLsid, ...) become plain values or
  go away.

Seeds found by the fuzzer itself (regression_*) are kept as they are.
Standard library only, so it runs anywhere: the BSON encoder below covers
the types the seeds use.
"""

import base64
import hashlib
import json
import os
import struct
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "run_command")
SEED_BYTES_MAX = 4096  # libFuzzer's default input size limit
COMMANDS_MAX = 8  # engine::fuzzing::COMMANDS_MAX
TESTS_PER_FILE_MAX = 4  # the rest of a file's tests mostly repeat its first ones
SPEC_DIRS = [
    "crud", "transactions", "sessions", "retryable_writes", "index_management",
    "collection_management", "command_monitoring", "run_command",
    "read_write_concern", "retryable_reads", "causal_consistency",
]


class Long(int):
    pass


class Raw:
    """A value given as its BSON type byte and encoded bytes."""

    def __init__(self, kind, data):
        self.kind, self.data = kind, data


def uuid(name):
    return Raw(0x05, struct.pack("<i", 16) + b"\x04" + hashlib.md5(name.encode()).digest())


def timestamp(t, i):
    return Raw(0x11, struct.pack("<II", i, t))


def cstring(s):
    return s.encode("utf-8") + b"\x00"


def element(key, value):
    k = cstring(key)
    if isinstance(value, Raw):
        return bytes([value.kind]) + k + value.data
    if isinstance(value, bool):
        return b"\x08" + k + (b"\x01" if value else b"\x00")
    if isinstance(value, Long):
        return b"\x12" + k + struct.pack("<q", value)
    if isinstance(value, int):
        if -2**31 <= value < 2**31:
            return b"\x10" + k + struct.pack("<i", value)
        return b"\x12" + k + struct.pack("<q", value)
    if isinstance(value, float):
        return b"\x01" + k + struct.pack("<d", value)
    if isinstance(value, str):
        s = value.encode("utf-8") + b"\x00"
        return b"\x02" + k + struct.pack("<i", len(s)) + s
    if value is None:
        return b"\x0a" + k
    if isinstance(value, dict):
        return b"\x03" + k + document(value)
    if isinstance(value, list):
        return b"\x04" + k + document({str(i): v for i, v in enumerate(value)})
    raise TypeError(type(value))


def document(fields):
    body = b"".join(element(k, v) for k, v in fields.items())
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def from_spec(value, sessions):
    """A spec test's extended JSON with matchers resolved; None drops it."""
    if isinstance(value, list):
        return [v for v in (from_spec(v, sessions) for v in value) if v is not DROP]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, inner), = value.items()
        if key == "$numberLong":
            return Long(int(inner))
        if key == "$numberInt":
            return int(inner)
        if key == "$numberDouble":
            return float(inner)
        if key == "$oid":
            return Raw(0x07, bytes.fromhex(inner))
        if key == "$date":
            ms = inner.get("$numberLong") if isinstance(inner, dict) else inner
            return Raw(0x09, struct.pack("<q", int(ms))) if isinstance(ms, (int, str)) and str(ms).lstrip("-").isdigit() else DROP
        if key == "$timestamp":
            return timestamp(inner["t"], inner["i"])
        if key == "$binary":
            data = base64.b64decode(inner["base64"])
            return Raw(0x05, struct.pack("<i", len(data)) + bytes([int(inner["subType"], 16)]) + data)
        if key == "$minKey":
            return Raw(0xFF, b"")
        if key == "$maxKey":
            return Raw(0x7F, b"")
        if key == "$$sessionLsid":
            return {"id": uuid(inner)}
        if key == "$$unsetOrMatches":
            return from_spec(inner, sessions)
        if key.startswith("$$"):
            return DROP
    out = {}
    for k, v in value.items():
        v = from_spec(v, sessions)
        if v is not DROP:
            out[k] = v
    return out


DROP = object()


def spec_seeds(spec_root):
    for area in SPEC_DIRS:
        root = os.path.join(spec_root, area)
        for dirpath, _, files in sorted(os.walk(root)):
            for name in sorted(files):
                if not name.endswith(".json"):
                    continue
                try:
                    suite = json.load(open(os.path.join(dirpath, name)))
                except (ValueError, UnicodeDecodeError):
                    continue
                if not isinstance(suite, dict) or "tests" not in suite:
                    continue
                setup = []
                for data in suite.get("initialData", []):
                    docs = from_spec(data.get("documents", []), {})
                    if docs:
                        setup.append({"insert": data["collectionName"], "documents": docs,
                                      "$db": data["databaseName"]})
                for n, test in enumerate(suite["tests"][:TESTS_PER_FILE_MAX]):
                    commands = list(setup)
                    for expected in test.get("expectEvents", []):
                        for event in expected.get("events", []):
                            started = event.get("commandStartedEvent")
                            if started and "command" in started:
                                command = from_spec(started["command"], {})
                                if "databaseName" in started:
                                    command["$db"] = started["databaseName"]
                                commands.append(command)
                    if len(commands) > len(setup):
                        yield f"spec_{area}_{name[:-5]}_{n}", commands


LSID = {"id": uuid("fuzz")}
HAND_MADE = {
    "write_operators": [
        {"insert": "c", "documents": [{"_id": 1, "a": [1, {"b": 2}], "s": "x"}, {"_id": 2, "a": 5}]},
        {"update": "c", "updates": [
            {"q": {"_id": 1}, "u": {"$set": {"a.$[e].b": 3}, "$inc": {"n": 1}, "$push": {"l": {"$each": [3, 1], "$sort": 1, "$slice": -5, "$position": 0}}},
             "arrayFilters": [{"e.b": {"$gte": 2}}]},
            {"q": {"a": {"$gt": 1}}, "u": {"$mul": {"a": 2}, "$min": {"m": 0}, "$rename": {"s": "t"}, "$currentDate": {"d": {"$type": "timestamp"}}}, "multi": True},
            {"q": {"_id": 9}, "u": {"$setOnInsert": {"z": 1}, "$addToSet": {"k": {"$each": [1, 1]}}, "$bit": {"b": {"and": 5}}}, "upsert": True}]},
        {"update": "c", "updates": [{"q": {}, "u": [{"$set": {"sum": {"$add": ["$a", 1]}}}, {"$unset": "t"}, {"$replaceWith": {"$mergeObjects": ["$$ROOT", {"p": "$_id"}]}}], "multi": True}]},
        {"delete": "c", "deletes": [{"q": {"a": {"$in": [10, 20]}}, "limit": 0}, {"q": {"_id": 9}, "limit": 1}]},
        {"find": "c", "filter": {"$or": [{"a": {"$elemMatch": {"b": 3}}}, {"sum": {"$exists": True}}]}, "sort": {"_id": -1}, "projection": {"a.$": 1, "_id": 0}},
    ],
    "aggregate_stages": [
        {"insert": "c", "documents": [{"_id": i, "g": i % 3, "v": i * 1.5, "t": Raw(0x09, struct.pack("<q", 1700000000000 + i * 3600000)), "tags": ["a", "b"][: i % 3]} for i in range(6)]},
        {"insert": "o", "documents": [{"_id": 1, "g": 0, "name": "zero"}, {"_id": 2, "g": 1, "name": "one"}]},
        {"aggregate": "c", "pipeline": [
            {"$match": {"$expr": {"$gt": ["$v", 1]}}},
            {"$unwind": {"path": "$tags", "preserveNullAndEmptyArrays": True, "includeArrayIndex": "i"}},
            {"$lookup": {"from": "o", "localField": "g", "foreignField": "g", "as": "o"}},
            {"$group": {"_id": "$g", "n": {"$sum": 1}, "avg": {"$avg": "$v"}, "all": {"$push": "$$ROOT"}, "top": {"$topN": {"n": 2, "sortBy": {"v": -1}, "output": "$v"}}}},
            {"$sort": {"_id": 1}}, {"$project": {"n": 1, "avg": {"$round": ["$avg", 1]}, "k": {"$size": "$all"}}}],
         "cursor": {"batchSize": 2}},
        {"aggregate": "c", "pipeline": [
            {"$setWindowFields": {"partitionBy": "$g", "sortBy": {"t": 1}, "output": {"run": {"$sum": "$v", "window": {"documents": ["unbounded", "current"]}}, "rank": {"$rank": {}}, "d": {"$derivative": {"input": "$v", "unit": "hour"}, "window": {"range": [-1, 0], "unit": "hour"}}}}},
            {"$bucket": {"groupBy": "$v", "boundaries": [0, 2, 5, 100], "default": "other", "output": {"n": {"$sum": 1}}}}],
         "cursor": {}},
        {"aggregate": "c", "pipeline": [
            {"$facet": {"a": [{"$bucketAuto": {"groupBy": "$v", "buckets": 2}}], "b": [{"$sortByCount": "$g"}], "c": [{"$count": "n"}]}},
            {"$replaceRoot": {"newRoot": {"$arrayToObject": [[["k", {"$size": "$a"}]]]}}}],
         "cursor": {}},
        {"aggregate": 1, "pipeline": [
            {"$documents": [{"x": 1, "s": "Hello"}, {"x": {"$numberDecimal": "2"}, "s": "b"}]},
            {"$set": {"r": {"$range": [0, 5, 2]}, "m": {"$map": {"input": [1, 2], "as": "e", "in": {"$multiply": ["$$e", "$x"]}}},
                      "str": {"$concat": [{"$toUpper": "$s"}, {"$substrCP": ["$s", 1, 2]}]}, "c": {"$switch": {"branches": [{"case": {"$eq": ["$x", 1]}, "then": "one"}], "default": "many"}},
                      "dt": {"$dateToString": {"date": "$$NOW", "format": "%Y-%m-%d"}}, "red": {"$reduce": {"input": [1, 2, 3], "initialValue": 0, "in": {"$add": ["$$value", "$$this"]}}}}},
            {"$densify": {"field": "x", "range": {"step": 1, "bounds": "full"}}},
            {"$fill": {"output": {"s": {"value": "none"}}}}],
         "cursor": {}},
        {"aggregate": "c", "pipeline": [{"$graphLookup": {"from": "c", "startWith": "$g", "connectFromField": "g", "connectToField": "_id", "as": "chain", "maxDepth": 3}},
                                        {"$unionWith": {"coll": "o", "pipeline": [{"$match": {"g": 1}}]}}, {"$out": "out"}], "cursor": {}},
        {"aggregate": "c", "pipeline": [{"$merge": {"into": "m", "on": "_id", "whenMatched": [{"$set": {"x": "$$new.v"}}], "whenNotMatched": "insert"}}], "cursor": {}},
    ],
    "find_and_modify": [
        {"insert": "c", "documents": [{"_id": 1, "a": 1}, {"_id": 2, "a": 2}]},
        {"findAndModify": "c", "query": {"a": {"$gte": 1}}, "sort": {"a": -1}, "update": {"$inc": {"a": 10}}, "new": True, "fields": {"a": 1}},
        {"findAndModify": "c", "query": {"_id": 3}, "update": [{"$set": {"b": "$$NOW"}}], "upsert": True, "new": True},
        {"findAndModify": "c", "query": {"_id": 1}, "remove": True},
        {"count": "c", "query": {"a": {"$type": "number"}}},
        {"distinct": "c", "key": "a", "query": {}},
    ],
    "bulk_write": [
        {"bulkWrite": 1, "ops": [
            {"insert": 0, "document": {"_id": 1, "x": 1}},
            {"update": 0, "filter": {"_id": 1}, "updateMods": {"$set": {"x": 2}}},
            {"update": 1, "filter": {"_id": 7}, "updateMods": {"x": 3}, "upsert": True, "multi": False},
            {"delete": 0, "filter": {"x": {"$lt": 0}}, "multi": True}],
         "nsInfo": [{"ns": "test.c"}, {"ns": "test.d"}], "ordered": False, "errorsOnly": False, "$db": "admin"},
        {"getMore": Long(1), "collection": "$cmd.bulkWrite", "$db": "admin"},
    ],
    "indexes_and_ddl": [
        {"create": "c", "validator": {"$jsonSchema": {"bsonType": "object", "required": ["a"], "properties": {"a": {"bsonType": "int", "minimum": 0}}}}, "validationLevel": "moderate"},
        {"createIndexes": "c", "indexes": [
            {"key": {"a": 1, "b": -1}, "name": "ab", "unique": True, "partialFilterExpression": {"a": {"$gt": 0}}},
            {"key": {"s": 1}, "name": "s_ci", "collation": {"locale": "en", "strength": 2}},
            {"key": {"$**": 1}, "name": "wild", "wildcardProjection": {"a": 1}}]},
        {"insert": "c", "documents": [{"a": 1, "b": 1}, {"a": 1, "b": 1}, {"a": "bad"}], "ordered": False},
        {"listIndexes": "c", "cursor": {}},
        {"collMod": "c", "validator": {"a": {"$exists": True}}, "validationAction": "warn"},
        {"create": "v", "viewOn": "c", "pipeline": [{"$match": {"a": 1}}]},
        {"find": "v", "filter": {}, "hint": {"a": 1}},
        {"renameCollection": "test.c", "to": "test.d", "dropTarget": True, "$db": "admin"},
    ],
    "transaction_commit": [
        {"insert": "c", "documents": [{"_id": 1}], "lsid": LSID, "txnNumber": Long(1), "startTransaction": True, "autocommit": False, "readConcern": {"level": "snapshot"}},
        {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$inc": {"n": 1}}}], "lsid": LSID, "txnNumber": Long(1), "autocommit": False},
        {"find": "c", "filter": {"_id": 1}, "lsid": LSID, "txnNumber": Long(1), "autocommit": False},
        {"insert": "c", "documents": [{"_id": 1}]},
        {"commitTransaction": 1, "lsid": LSID, "txnNumber": Long(1), "autocommit": False, "writeConcern": {"w": "majority"}, "$db": "admin"},
        {"commitTransaction": 1, "lsid": LSID, "txnNumber": Long(1), "autocommit": False, "$db": "admin"},
        {"find": "c", "filter": {}, "readConcern": {"level": "majority", "afterClusterTime": timestamp(1, 1)}},
    ],
    "transaction_abort": [
        {"create": "c"},
        {"aggregate": "c", "pipeline": [{"$match": {}}], "cursor": {"batchSize": 0}, "lsid": LSID, "txnNumber": Long(2), "startTransaction": True, "autocommit": False},
        {"findAndModify": "c", "query": {}, "update": {"$set": {"x": 1}}, "upsert": True, "lsid": LSID, "txnNumber": Long(2), "autocommit": False},
        {"delete": "c", "deletes": [{"q": {}, "limit": 0}], "lsid": LSID, "txnNumber": Long(2), "autocommit": False},
        {"abortTransaction": 1, "lsid": LSID, "txnNumber": Long(2), "autocommit": False, "$db": "admin"},
        {"insert": "c", "documents": [{"_id": 2}], "lsid": LSID, "txnNumber": Long(3)},
        {"insert": "c", "documents": [{"_id": 2}], "lsid": LSID, "txnNumber": Long(3)},
        {"endSessions": [LSID], "$db": "admin"},
    ],
    "failpoints": [
        {"configureFailPoint": "failCommand", "mode": {"times": 2}, "data": {"failCommands": ["insert", "find"], "errorCode": 112, "errorLabels": ["TransientTransactionError"], "blockConnection": True, "blockTimeMS": 1000}, "$db": "admin"},
        {"insert": "c", "documents": [{}]},
        {"configureFailPoint": "onPrimaryTransactionalWrite", "mode": {"skip": 1}, "data": {"failBeforeCommitExceptionCode": 91}, "$db": "admin"},
        {"update": "c", "updates": [{"q": {}, "u": {"$set": {"a": 1}}}, {"q": {}, "u": {"$set": {"b": 1}}}], "lsid": LSID, "txnNumber": Long(4)},
        {"configureFailPoint": "failCommand", "mode": "off", "$db": "admin"},
        {"setParameter": 1, "transactionLifetimeLimitSeconds": 1, "$db": "admin"},
        {"getParameter": "*", "$db": "admin"},
    ],
    "admin_and_cursors": [
        {"insert": "c", "documents": [{"_id": i} for i in range(5)]},
        {"find": "c", "batchSize": 2, "sort": {"_id": 1}, "skip": 1, "limit": 4},
        {"getMore": Long(1), "collection": "c", "batchSize": 1},
        {"killCursors": "c", "cursors": [Long(1), Long(2)]},
        {"explain": {"find": "c", "filter": {"_id": {"$gt": 1}}}, "verbosity": "executionStats"},
        {"listCollections": 1, "filter": {"name": {"$regex": "^c"}}, "nameOnly": True},
        {"listDatabases": 1, "nameOnly": True, "$db": "admin"},
        {"hello": 1, "$db": "admin"},
    ],
}


def write_seed(name, commands):
    data = b"".join(document(c) for c in commands[:COMMANDS_MAX])
    while len(data) > SEED_BYTES_MAX and len(commands) > 1:
        commands = commands[:-1]
        data = b"".join(document(c) for c in commands[:COMMANDS_MAX])
    if len(data) > SEED_BYTES_MAX:
        return False
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    return True


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        if not name.startswith("regression_"):
            os.remove(os.path.join(OUT, name))
    written = 0
    for name, commands in HAND_MADE.items():
        written += write_seed(name, [from_spec(c, {}) for c in commands])
    if len(sys.argv) == 3 and sys.argv[1] == "--spec":
        for name, commands in spec_seeds(sys.argv[2]):
            written += write_seed(name, commands)
    print(f"{written} seeds in {OUT}")


if __name__ == "__main__":
    main()
