"""Rotor conformance: the transactions spec tests (see rotor_suite.py)."""

from __future__ import annotations

import rotor_suite

globals().update(rotor_suite.classes(__name__, "RotorTransactions", "transactions", "unified"))
