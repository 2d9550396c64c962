"""End-to-end smoke test: PyMongo connects to a running `rotor serve`,
runs `ping` and `hello`, and discovers a replica-set primary.

Run by scripts/pymongo/run.sh with ROTOR_HOST and ROTOR_PORT set.
"""

from __future__ import annotations

import os

import pymongo
import pytest
from pymongo.topology_description import TOPOLOGY_TYPE


@pytest.fixture(scope="module")
def client():
    host = os.environ["ROTOR_HOST"]
    port = int(os.environ["ROTOR_PORT"])
    with pymongo.MongoClient(host, port, replicaSet="rs0", serverSelectionTimeoutMS=5000) as client:
        yield client


def test_ping_succeeds(client):
    assert client.admin.command("ping")["ok"] == 1.0


def test_hello_reports_a_writable_primary(client):
    hello = client.admin.command("hello")
    assert hello["isWritablePrimary"] is True
    assert hello["setName"] == "rs0"
    assert hello["primary"] == hello["me"]
    assert hello["maxWireVersion"] >= 21


def test_driver_discovers_a_replica_set_with_primary(client):
    client.admin.command("ping")
    description = client.topology_description
    assert description.topology_type == TOPOLOGY_TYPE.ReplicaSetWithPrimary
    assert client.primary is not None


def test_driver_negotiates_compression():
    host = os.environ["ROTOR_HOST"]
    port = int(os.environ["ROTOR_PORT"])
    with pymongo.MongoClient(host, port, compressors="zlib", serverSelectionTimeoutMS=5000) as client:
        assert client.admin.command("ping")["ok"] == 1.0
