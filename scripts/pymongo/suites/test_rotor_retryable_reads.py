"""Rotor conformance: the retryable reads spec tests (see rotor_suite.py)."""

from __future__ import annotations

import rotor_suite

# PyMongo has no mapReduce, listDatabaseObjects or listCollectionObjects API.
globals().update(
    rotor_suite.classes(
        __name__,
        "RotorRetryableReads",
        "retryable_reads", "unified",
        expected_failures=("ListDatabaseObjects .*", "ListCollectionObjects .*", "MapReduce .*"),
    )
)
