"""Motor runs the seed's examples unchanged against `rotor serve`.

The seed is Motor's AsyncIOMotorClientSession documentation: with_transaction
over orders and inventory, a scoped start_transaction that commits on success
and aborts on error, end_session, and the session's cluster and operation
times. ROTOR_URI names the server (scripts/pymongo/run.sh sets it).
"""

import asyncio
import os

import pytest
from motor.motor_asyncio import AsyncIOMotorClient
from pymongo.errors import OperationFailure

URI = os.environ.get("ROTOR_URI", "mongodb://127.0.0.1:27017/?directConnection=true")


def run(coro):
    return asyncio.run(coro)


async def fresh_client():
    client = AsyncIOMotorClient(URI, serverSelectionTimeoutMS=10_000)
    await client.drop_database("seed")
    await client.seed.inventory.insert_one({"sku": "abc123", "qty": 500})
    await client.seed.orders.insert_one({"x": 1})
    return client


def test_with_transaction_runs_the_seed_coroutine_and_returns_its_value():
    async def scenario():
        client = await fresh_client()

        async def coro(session):
            orders = session.client.seed.orders
            inventory = session.client.seed.inventory
            inserted_id = await orders.insert_one({"sku": "abc123", "qty": 100}, session=session)
            await inventory.update_one(
                {"sku": "abc123", "qty": {"$gte": 100}}, {"$inc": {"qty": -100}}, session=session
            )
            return inserted_id

        async with await client.start_session() as session:
            inserted = await session.with_transaction(coro)
            assert not session.in_transaction
            assert session.cluster_time is not None
            assert session.operation_time is not None
            assert session.session_id["id"] is not None
        assert inserted.inserted_id is not None
        assert (await client.seed.inventory.find_one({"sku": "abc123"}))["qty"] == 400
        assert await client.seed.orders.count_documents({"sku": "abc123"}) == 1
        client.close()

    run(scenario())


def test_scoped_transaction_commits_on_success_and_aborts_on_error():
    async def scenario():
        client = await fresh_client()
        collection = client.seed.orders
        async with await client.start_session() as s:
            async with s.start_transaction():
                await collection.delete_one({"x": 1}, session=s)
                await collection.insert_one({"x": 2}, session=s)
        assert [d["x"] async for d in collection.find({}, {"_id": 0})] == [2]

        with pytest.raises(RuntimeError):
            async with await client.start_session() as s:
                async with s.start_transaction():
                    await collection.insert_one({"x": 3}, session=s)
                    raise RuntimeError("abort me")
        assert await collection.count_documents({"x": 3}) == 0
        client.close()

    run(scenario())


def test_end_session_aborts_and_conflicts_carry_the_transient_label():
    async def scenario():
        client = await fresh_client()
        inventory = client.seed.inventory
        first = await client.start_session()
        second = await client.start_session()
        first.start_transaction()
        second.start_transaction()
        await inventory.update_one({"sku": "abc123"}, {"$inc": {"qty": 1}}, session=first)
        with pytest.raises(OperationFailure) as conflict:
            await inventory.update_one({"sku": "abc123"}, {"$inc": {"qty": 1}}, session=second)
        assert conflict.value.code == 112
        assert conflict.value.has_error_label("TransientTransactionError")
        await first.end_session()
        assert first.has_ended
        assert (await inventory.find_one({"sku": "abc123"}))["qty"] == 500
        await second.end_session()
        client.close()

    run(scenario())
