"""Rotor conformance: the read/write concern spec tests (see rotor_suite.py)."""

from __future__ import annotations

import rotor_suite

# PyMongo has no mapReduce API.
globals().update(
    rotor_suite.classes(
        __name__,
        "RotorReadWriteConcern",
        "read_write_concern", "operation",
        expected_failures=("(?i)MapReduce .*",),
    )
)
