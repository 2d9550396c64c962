"""PyMongo over TLS: connects to a `rotor serve` started with
`--tls-cert/--tls-key/--tls-ca` (so client certificates are required),
verifying the server against a test CA, and runs a transaction. Plaintext
clients and TLS clients without a certificate must be refused.

Run by scripts/pymongo/run.sh, which generates the certificates with
openssl and sets ROTOR_HOST, ROTOR_TLS_PORT and ROTOR_TLS_DIR.
"""

from __future__ import annotations

import os

import pymongo
import pytest
from pymongo.errors import ServerSelectionTimeoutError

HOST = os.environ["ROTOR_HOST"]
PORT = int(os.environ["ROTOR_TLS_PORT"])
CERTS = os.environ["ROTOR_TLS_DIR"]
CA = os.path.join(CERTS, "ca.pem")
CLIENT = os.path.join(CERTS, "client-combined.pem")
# A refused client must fail fast, not after PyMongo's 30 s default.
REFUSED_TIMEOUT_MS = 3000


def connect(query: str, timeout_ms: int = 10000) -> pymongo.MongoClient:
    uri = f"mongodb://{HOST}:{PORT}/?replicaSet=rs0&{query}"
    return pymongo.MongoClient(uri, serverSelectionTimeoutMS=timeout_ms)


@pytest.fixture(scope="module")
def client():
    with connect(f"tls=true&tlsCAFile={CA}&tlsCertificateKeyFile={CLIENT}") as client:
        yield client


def test_tls_ping_and_hello_answer(client):
    assert client.admin.command("ping")["ok"] == 1.0
    assert client.admin.command("hello")["isWritablePrimary"] is True


def test_tls_transaction_commits(client):
    coll = client.tls_test.items
    coll.drop()
    with client.start_session() as session:
        with session.start_transaction():
            coll.insert_one({"_id": 1, "n": 1}, session=session)
            coll.update_one({"_id": 1}, {"$inc": {"n": 1}}, session=session)
    assert coll.find_one({"_id": 1}) == {"_id": 1, "n": 2}


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("tls=false", id="plaintext"),
        pytest.param(f"tls=true&tlsCAFile={CA}", id="no-client-certificate"),
    ],
)
def test_tls_server_refuses(query):
    with connect(query, REFUSED_TIMEOUT_MS) as refused:
        with pytest.raises(ServerSelectionTimeoutError):
            refused.admin.command("ping")
