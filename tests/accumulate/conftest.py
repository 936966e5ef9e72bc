"""Fixtures of the accumulate tests: a PostgreSQL store in a schema of its own, a queue."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest


@pytest.fixture
def pg_store_url(postgres_url: str) -> Iterator[str]:
    import psycopg

    schema = f"acc_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in postgres_url else "?"
    yield f"{postgres_url}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def queue(rabbitmq_url: str) -> Iterator[str]:
    """A fresh queue name; the queue and its dead-letter queue are deleted afterwards."""
    import pika

    from loglane.wire import dead_letter_queue

    name = f"loglane.test.acc.{uuid.uuid4().hex[:8]}"
    yield name
    conn = pika.BlockingConnection(pika.URLParameters(rabbitmq_url))
    ch = conn.channel()
    for q in (name, dead_letter_queue(name)):
        ch.queue_delete(q)
    conn.close()
