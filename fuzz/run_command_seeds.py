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


SAMPLE = {"_id": 1, "n": 7, "l": Long(-5), "d": 2.5, "s": "Hello, World", "arr": [3, 1, 2], "objs": [{"k": "a", "v": 1}, {"k": "b", "v": 2}],
          "date": Raw(0x09, struct.pack("<q", 1700000000000)), "o": {"x": 1, "y": [1, {"z": 2}]}, "nil": None, "ts": timestamp(5, 6)}
EXPRESSIONS = {
    "arith": {"$add": ["$n", "$l", "$d"], "$subtract": ["$date", "$n"], "$multiply": ["$n", "$l"], "$divide": ["$n", "$d"], "$mod": ["$n", 3],
              "$abs": "$l", "$ceil": "$d", "$floor": "$d", "$round": ["$d", 1], "$trunc": ["$d", 0], "$pow": ["$n", 2], "$sqrt": "$n",
              "$exp": 1, "$ln": "$n", "$log": ["$n", 2], "$log10": 100},
    "strings": {"$concat": ["$s", "!"], "$substr": ["$s", 1, 3], "$substrBytes": ["$s", 0, 5], "$substrCP": ["$s", 7, 5], "$strLenBytes": "$s",
                "$strLenCP": "$s", "$toLower": "$s", "$toUpper": "$s", "$trim": {"input": "  x  "}, "$ltrim": {"input": "xxy", "chars": "x"},
                "$split": ["$s", ", "], "$indexOfBytes": ["$s", "o", 1, 9], "$indexOfCP": ["$s", "W"], "$strcasecmp": ["$s", "hello"],
                "$regexMatch": {"input": "$s", "regex": "w(or)ld", "options": "i"}, "$regexFind": {"input": "$s", "regex": "l+"},
                "$regexFindAll": {"input": "$s", "regex": "(o)"}, "$replaceOne": {"input": "$s", "find": "l", "replacement": "L"},
                "$replaceAll": {"input": "$s", "find": "l", "replacement": "L"}},
    "arrays": {"$arrayElemAt": ["$arr", -1], "$first": "$arr", "$last": "$arr", "$concatArrays": ["$arr", [4]], "$filter": {"input": "$arr", "as": "x", "cond": {"$gt": ["$$x", 1]}, "limit": 1},
               "$map": {"input": "$arr", "in": {"$add": ["$$this", 1]}}, "$reduce": {"input": "$arr", "initialValue": 0, "in": {"$max": ["$$value", "$$this"]}},
               "$range": [0, "$n", 3], "$reverseArray": "$arr", "$size": "$arr", "$slice": ["$arr", 1, 1], "$zip": {"inputs": ["$arr", [1]], "useLongestLength": True, "defaults": [0, 9]},
               "$in": [2, "$arr"], "$indexOfArray": ["$arr", 2, 0, 3], "$isArray": "$arr", "$sortArray": {"input": "$objs", "sortBy": {"v": -1}},
               "$arrayToObject": [[["k", 1]]], "$objectToArray": "$o", "$firstN": {"n": 2, "input": "$arr"}, "$maxN": {"n": 2, "input": "$arr"}},
    "sets_logic": {"$setUnion": ["$arr", [9]], "$setIntersection": ["$arr", [1]], "$setDifference": ["$arr", [1]], "$setEquals": ["$arr", [1, 2, 3]],
                   "$setIsSubset": [[1], "$arr"], "$anyElementTrue": ["$arr"], "$allElementsTrue": ["$arr"], "$and": ["$n", True], "$or": [False, "$nil"],
                   "$not": ["$nil"], "$cmp": ["$n", "$d"], "$eq": ["$n", 7], "$ne": ["$s", 1], "$cond": {"if": {"$gte": ["$n", 5]}, "then": "big", "else": "small"},
                   "$ifNull": ["$nil", "$missing", "dflt"], "$switch": {"branches": [{"case": {"$lt": ["$n", 0]}, "then": -1}], "default": 1},
                   "$let": {"vars": {"v": "$n"}, "in": {"$multiply": ["$$v", 2]}}, "$literal": {"$x": 1}},
    "types_objects": {"$type": "$ts", "$isNumber": "$d", "$toString": "$date", "$toInt": "12", "$toLong": "$d", "$toDouble": "$l", "$toDecimal": "$n",
                      "$toBool": "$s", "$toDate": "$l", "$toObjectId": "0123456789ab0123456789ab", "$convert": {"input": "$s", "to": "int", "onError": -1, "onNull": 0},
                      "$mergeObjects": ["$o", {"w": 1}], "$getField": {"field": "x", "input": "$o"}, "$setField": {"field": "q", "input": "$o", "value": 1},
                      "$unsetField": {"field": "x", "input": "$o"}, "$bsonSize": "$o", "$binarySize": "$s", "$tsSecond": "$ts", "$tsIncrement": "$ts", "$rand": {}},
    "dates": {"$year": "$date", "$month": {"date": "$date", "timezone": "America/New_York"}, "$dayOfMonth": "$date", "$hour": "$date", "$week": "$date", "$isoWeek": "$date",
              "$dateToString": {"date": "$date", "format": "%Y-%m-%dT%H:%M:%S.%LZ %j %U %G", "timezone": "+05:30"},
              "$dateFromString": {"dateString": "2020-02-29T10:00:00", "format": "%Y-%m-%dT%H:%M:%S", "onError": None},
              "$dateToParts": {"date": "$date", "iso8601": True}, "$dateFromParts": {"year": 2024, "month": 14, "day": -3, "hour": 25},
              "$dateAdd": {"startDate": "$date", "unit": "month", "amount": "$n"}, "$dateSubtract": {"startDate": "$date", "unit": "day", "amount": 400},
              "$dateDiff": {"startDate": "$date", "endDate": "$$NOW", "unit": "week", "startOfWeek": "mon"},
              "$dateTrunc": {"date": "$date", "unit": "quarter", "binSize": 2}},
}


def expression_seed(name, exprs):
    fields = {f"f{i}": {op: arg} for i, (op, arg) in enumerate(exprs.items())}
    return [
        {"insert": "c", "documents": [SAMPLE]},
        {"aggregate": "c", "pipeline": [{"$project": fields}], "cursor": {}},
        {"update": "c", "updates": [{"q": {}, "u": [{"$set": fields}]}]},
        {"find": "c", "filter": {"$expr": {"$ne": [fields["f0"], "nope"]}}, "projection": {"f": fields["f1"]}},
    ]


for _name, _exprs in EXPRESSIONS.items():
    HAND_MADE["expressions_" + _name] = expression_seed(_name, _exprs)
HAND_MADE["accumulators_windows"] = [
    {"insert": "c", "documents": [dict(SAMPLE, _id=i, n=i, g=i % 2) for i in range(5)]},
    {"aggregate": "c", "pipeline": [{"$group": {"_id": "$g", "sum": {"$sum": "$n"}, "avg": {"$avg": "$n"}, "min": {"$min": "$n"}, "max": {"$max": "$s"},
                                               "first": {"$first": "$n"}, "last": {"$last": "$n"}, "push": {"$push": "$n"}, "set": {"$addToSet": "$g"},
                                               "sd": {"$stdDevPop": "$n"}, "sds": {"$stdDevSamp": "$d"}, "cnt": {"$count": {}}, "merged": {"$mergeObjects": "$o"},
                                               "top": {"$top": {"sortBy": {"n": -1}, "output": "$n"}}, "bot": {"$bottomN": {"n": 2, "sortBy": {"n": 1}, "output": ["$n", "$s"]}},
                                               "fN": {"$firstN": {"n": 2, "input": "$n"}}, "med": {"$median": {"input": "$n", "method": "approximate"}},
                                               "pct": {"$percentile": {"input": "$n", "p": [0.5, 0.9], "method": "approximate"}}}}], "cursor": {}},
    {"aggregate": "c", "pipeline": [{"$setWindowFields": {"partitionBy": "$g", "sortBy": {"n": 1}, "output": {
        "cum": {"$sum": "$n", "window": {"documents": ["unbounded", "current"]}}, "mov": {"$avg": "$n", "window": {"range": [-2, 2]}},
        "rank": {"$rank": {}}, "dense": {"$denseRank": {}}, "num": {"$documentNumber": {}}, "prev": {"$shift": {"output": "$n", "by": -1, "default": 0}},
        "der": {"$derivative": {"input": "$n"}, "window": {"documents": [-1, 0]}}, "int": {"$integral": {"input": "$n"}, "window": {"documents": [-1, 1]}},
        "ema": {"$expMovingAvg": {"input": "$n", "N": 2}}, "cov": {"$covariancePop": ["$n", "$d"], "window": {"documents": [-2, 0]}},
        "locf": {"$locf": "$nil"}, "lin": {"$linearFill": "$nil"}}}}], "cursor": {}},
    {"aggregate": "c", "pipeline": [{"$bucketAuto": {"groupBy": "$n", "buckets": 3, "granularity": "R5", "output": {"c": {"$sum": 1}}}},
                                    {"$densify": {"field": "_id.min", "range": {"step": 1, "bounds": "full"}}}], "cursor": {}},
]
HAND_MADE["query_and_update_operators"] = [
    {"insert": "c", "documents": [SAMPLE, dict(SAMPLE, _id=2, n=Long(2**40), arr=[[1, 2], {"a": 1}], s="x")]},
    {"find": "c", "filter": {"n": {"$mod": [4, 3]}, "arr": {"$all": [1], "$size": 3, "$elemMatch": {"$gt": 0, "$lt": 5}}, "s": {"$regex": "^h", "$options": "i"},
                            "o.y.1.z": {"$type": ["int", "double"], "$bitsAnySet": [1], "$bitsAllClear": 4}, "nil": {"$exists": True, "$not": {"$gt": 1}},
                            "$nor": [{"d": {"$in": [1, None]}}], "$jsonSchema": {"properties": {"n": {"bsonType": "number", "maximum": 10}}},
                            "$comment": "c", "date": {"$lte": Raw(0x09, struct.pack("<q", 2**53))}}, "sort": {"o.x": 1, "arr": -1},
     "projection": {"arr": {"$slice": [1, 1]}, "objs": {"$elemMatch": {"v": 2}}, "o.y": 1, "t": {"$toUpper": "$s"}}, "collation": {"locale": "fr", "strength": 1, "numericOrdering": True}},
    {"update": "c", "updates": [{"q": {"arr": 2}, "u": {"$set": {"arr.$": 20, "objs.$[o].v": 5, "o.y.$[].q": 1}, "$unset": {"nil": ""}, "$pull": {"arr": {"$gte": 3}},
                                                           "$pullAll": {"objs": [{"k": "a", "v": 1}]}, "$pop": {"arr": -1}, "$max": {"date": "$$NOW"}, "$rename": {"o.x": "o.w"}},
                                 "arrayFilters": [{"o.k": "b"}], "multi": True},
                                {"q": {"_id": 3}, "u": {"$setOnInsert": {"a.b.c": 1}, "$push": {"p": {"$each": [{"s": 2}, {"s": 1}], "$sort": {"s": 1}, "$slice": 3}}}, "upsert": True}]},
    {"distinct": "c", "key": "arr", "query": {"$expr": {"$isArray": "$arr"}}, "collation": {"locale": "en"}},
]



def nest(levels, wrap, leaf):
    for _ in range(levels):
        leaf = wrap(leaf)
    return leaf


# Nesting just under, at and past each depth limit (documents and filters
# 100, expressions 150, the wire 200), where recursion must stop cleanly.
for _levels in (99, 101, 151, 250):
    _deep = [
        {"insert": "c", "documents": [{"_id": 1, "d": nest(_levels, lambda v: {"a": v}, 1)}, {"_id": 2, "l": nest(_levels, lambda v: [v], 1)}]},
        {"find": "c", "filter": nest(_levels, lambda v: {"$and": [v]}, {"a": 1}), "projection": {"d": nest(_levels // 2, lambda v: {"a": v}, 1)}},
        {"find": "c", "filter": {"l": nest(_levels, lambda v: {"$elemMatch": v}, {"$gt": 0})}, "sort": {"d": 1}},
        {"find": "c", "filter": {"d": nest(_levels, lambda v: {"$not": v}, {"$eq": 1})}},
        {"find": "c", "filter": {"$jsonSchema": nest(_levels, lambda v: {"anyOf": [v]}, {"bsonType": "int"})}},
        {"aggregate": "c", "pipeline": [{"$project": {"x": nest(_levels, lambda v: {"$add": [v, 1]}, "$_id"), "y": nest(_levels, lambda v: {"$literal": v}, 1)}}], "cursor": {}},
        {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"d": nest(_levels, lambda v: {"a": v}, 2), "l": nest(_levels, lambda v: [v], 2)}}, "upsert": True},
                                    {"q": {"_id": 3}, "u": [{"$set": {"e": nest(_levels, lambda v: {"$max": [v]}, 1)}}], "upsert": True}]},
        {"aggregate": "c", "pipeline": [nest(min(_levels, 30), lambda v: {"$lookup": {"from": "c", "pipeline": [v], "as": "x"}}, {"$match": {}})], "cursor": {}},
        {"bulkWrite": 1, "ops": [{"update": 0, "filter": nest(_levels, lambda v: {"$or": [v]}, {}), "updateMods": {"$set": {"a": nest(_levels, lambda v: [v], 1)}}}], "nsInfo": [{"ns": "test.c"}], "$db": "admin"},
    ]
    for _n, _command in enumerate(_deep):
        HAND_MADE[f"nesting_{_levels}_{_n}"] = [{"insert": "c", "documents": [{"_id": 1, "a": [1, {"b": 1}]}]}, _command]


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
    sys.setrecursionlimit(20000)  # the nesting seeds go 250 levels deep
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
