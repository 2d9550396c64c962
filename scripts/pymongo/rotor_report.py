"""A pytest plugin that records every test's outcome as JSON for compare.py.

Loaded with `-p rotor_report`; writes to $ROTOR_REPORT. A test counts as
failed if its setup, call or teardown failed; as skipped if it was skipped
and nothing failed. The first lines of the failure are kept so compare.py
can group failures by cause.
"""

from __future__ import annotations

import json
import os

_RANK = {"passed": 0, "skipped": 1, "failed": 2}
_MESSAGE_CHARS_MAX = 2000  # enough for the error line; keeps the report small

_results: dict[str, dict[str, str]] = {}


def pytest_runtest_logreport(report):
    outcome = report.outcome
    if outcome == "passed" and report.when != "call":
        outcome = None  # setup/teardown passing says nothing about the test
    if outcome is None:
        _results.setdefault(report.nodeid, {"outcome": "passed", "message": ""})
        return
    current = _results.get(report.nodeid, {"outcome": "passed", "message": ""})
    if _RANK[outcome] >= _RANK[current["outcome"]]:
        message = ""
        if outcome == "failed":
            message = str(report.longrepr)[-_MESSAGE_CHARS_MAX:]
        elif outcome == "skipped" and isinstance(report.longrepr, tuple):
            message = str(report.longrepr[2])
        _results[report.nodeid] = {"outcome": outcome, "message": message}


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("ROTOR_REPORT")
    if path:
        with open(path, "w") as out:
            json.dump(_results, out, indent=0, sort_keys=True)
