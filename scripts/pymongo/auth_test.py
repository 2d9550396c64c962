"""PyMongo authenticates to `rotor serve --auth` with SCRAM, as to a mongod.

Run by run.sh against a fresh in-memory server started with --auth (on
ROTOR_HOST:ROTOR_PORT), once over plain TCP and once over TLS: when
ROTOR_TLS_CA names a CA file, every client connects with `tls=true` and
`tlsCAFile` (the server runs with --tls-cert/--tls-key and requires TLS). Each check is a function; the script prints one
line per check and a closing "N passed, N failed" line, and exits non-zero
if any check failed. Checks run in order: the first creates the first user
through the localhost exception, which the later ones log in as.
"""

import os
import sys
import traceback

from pymongo import MongoClient
from pymongo.errors import OperationFailure

HOST = os.environ.get("ROTOR_HOST", "127.0.0.1")
PORT = int(os.environ["ROTOR_PORT"])
TLS_CA = os.environ.get("ROTOR_TLS_CA")
TLS = {"tls": True, "tlsCAFile": TLS_CA} if TLS_CA else {}


def client(**options):
    return MongoClient(
        HOST, PORT, directConnection=True, serverSelectionTimeoutMS=10_000, **TLS, **options
    )


def as_user(user, password, db="shop", mechanism="SCRAM-SHA-256"):
    return client(username=user, password=password, authSource=db, authMechanism=mechanism)


def expect_failure(code, action):
    try:
        action()
    except OperationFailure as error:
        assert error.code == code, f"expected code {code}, got {error.code}: {error}"
        return error
    raise AssertionError(f"expected OperationFailure {code}, but it succeeded")


def check_localhost_exception_creates_the_first_user():
    with client() as anonymous:
        expect_failure(13, lambda: anonymous.shop.items.find_one())
        anonymous.admin.command("createUser", "root", pwd="rootpw", roles=["root"])
        error = expect_failure(
            13, lambda: anonymous.admin.command("createUser", "late", pwd="x", roles=["root"])
        )
        assert "requires authentication" in str(error), error


def check_root_creates_users_with_scram_sha_256():
    with as_user("root", "rootpw", db="admin") as root:
        root.shop.command("createUser", "app", pwd="apppw", roles=["readWrite"])
        root.shop.command("createUser", "reader", pwd="readerpw", roles=["read"])
        status = root.admin.command("connectionStatus")
        assert status["authInfo"]["authenticatedUsers"] == [{"user": "root", "db": "admin"}], status


def check_a_transaction_runs_authenticated():
    with as_user("app", "apppw") as app:
        items = app.shop.items
        with app.start_session() as session:
            with session.start_transaction():
                items.insert_one({"_id": 1, "sku": "a"}, session=session)
                items.insert_one({"_id": 2, "sku": "b"}, session=session)
        assert items.count_documents({}) == 2


def check_negotiated_and_sha1_mechanisms_work():
    with client(username="app", password="apppw", authSource="shop") as negotiated:
        assert negotiated.shop.items.count_documents({}) == 2
    with as_user("app", "apppw", mechanism="SCRAM-SHA-1") as sha1:
        assert sha1.shop.items.count_documents({}) == 2


def check_wrong_password_fails_with_18():
    with as_user("app", "wrong") as wrong:
        error = expect_failure(18, lambda: wrong.shop.command("ping"))
        assert "Authentication failed" in str(error), error
    with as_user("nobody", "wrong") as unknown:
        expect_failure(18, lambda: unknown.shop.command("ping"))


def check_read_user_cannot_insert():
    with as_user("reader", "readerpw") as reader:
        assert reader.shop.items.find_one({"_id": 1})["sku"] == "a"
        error = expect_failure(13, lambda: reader.shop.items.insert_one({"_id": 3}))
        assert "not authorized on shop" in str(error), error


CHECKS = [
    check_localhost_exception_creates_the_first_user,
    check_root_creates_users_with_scram_sha_256,
    check_a_transaction_runs_authenticated,
    check_negotiated_and_sha1_mechanisms_work,
    check_wrong_password_fails_with_18,
    check_read_user_cannot_insert,
]


def main():
    failed = 0
    for check in CHECKS:
        try:
            check()
            print(f"ok   {check.__name__}")
        except Exception:
            failed += 1
            print(f"FAIL {check.__name__}")
            traceback.print_exc()
    print(f"{len(CHECKS) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
