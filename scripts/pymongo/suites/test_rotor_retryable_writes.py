"""Rotor conformance: the retryable writes spec tests, run by PyMongo's own unified-format runner.

Copied into PyMongo's test/ package by scripts/pymongo/run.sh. The class-name
prefix keeps these classes distinct from the other suites' (several spec
directories are named 'unified'), so no generated class is lost.
"""

from __future__ import annotations

from test.unified_format import generate_test_classes, get_test_path

_IS_SYNC = True

globals().update(
    generate_test_classes(
        get_test_path('retryable_writes', 'unified'), module=__name__, class_name_prefix="RotorRetryableWrites"
    )
)
