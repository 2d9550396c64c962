"""Rotor conformance: the read/write concern spec's operation tests, run by PyMongo's own unified-format runner.

Copied into PyMongo's test/ package by scripts/pymongo/run.sh. The class-name
prefix keeps these classes distinct from the other suites' (several spec
directories are named 'unified'), so no generated class is lost.
"""

from __future__ import annotations

from test.unified_format import generate_test_classes, get_test_path

_IS_SYNC = True

# PyMongo has no mapReduce API; its own module marks these tests the same way.

globals().update(
    generate_test_classes(
        get_test_path('read_write_concern', 'operation'), module=__name__, class_name_prefix="RotorReadWriteConcern",
        expected_failures=["(?i)MapReduce .*"]
    )
)
