"""The one way a Rotor conformance module turns a spec directory into tests.

Each `suites/test_rotor_<suite>.py` is copied into PyMongo's test/ package by
run.sh and calls `classes` with its spec directory: PyMongo's own
unified-format runner generates one class per spec file. The class-name
prefix keeps the suites' classes apart (several spec directories are named
'unified'), so no generated class is lost; the module name gives
compare.py the suite.
"""

from __future__ import annotations

from test.unified_format import generate_test_classes, get_test_path


def classes(module: str, prefix: str, *path: str, expected_failures: tuple[str, ...] = ()) -> dict:
    """The test classes of spec directory `path`, for `module`'s globals.

    `expected_failures` are description patterns PyMongo's runner marks as
    expected to fail: tests of APIs PyMongo itself lacks, marked as its own
    modules mark them.
    """
    return generate_test_classes(
        get_test_path(*path),
        module=module,
        class_name_prefix=prefix,
        expected_failures=list(expected_failures),
    )
