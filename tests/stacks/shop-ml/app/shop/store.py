"""The prediction store: PostgreSQL table `predictions`, through a small pool of psycopg connections."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

_SCHEMA = (
    # Two replicas start together: serialise the DDL, or CREATE ... IF NOT EXISTS can race in PostgreSQL.
    "SELECT pg_advisory_xact_lock(7301)",
    """CREATE TABLE IF NOT EXISTS predictions (
        request_id text NOT NULL,
        score integer NOT NULL,
        served_by text NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
    )""",
    "CREATE INDEX IF NOT EXISTS predictions_request_id ON predictions (request_id)",
)
_INSERT = "INSERT INTO predictions (request_id, score, served_by, at) VALUES (%s, %s, %s, now())"


class PoolExhausted(psycopg.OperationalError):
    """Every connection of the pool stayed busy for the whole wait."""


class Store:
    """Thread-safe; a connection that failed is dropped, never returned to the pool.

    At most `pool_size` connections exist at once: a request waits up to `acquire_timeout_s`
    for one and is refused after that. Without the bound, a stalled database link made every
    new request open a connection of its own, and the storm of connections and
    authentications kept the replica slow for seconds after the stall was over."""

    def __init__(
        self, dsn: str, pool_size: int = 8, connect_timeout_s: int = 2, acquire_timeout_s: float = 0.5
    ) -> None:
        self._dsn = dsn
        self._pool_size = pool_size
        self._connect_timeout_s = connect_timeout_s
        self._acquire_timeout_s = acquire_timeout_s
        self._slots = threading.BoundedSemaphore(pool_size)
        self._idle: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()

    def record(self, request_id: str, score: int, served_by: str) -> None:
        """Insert one prediction and commit; raises psycopg.Error when it is not durably stored."""
        self._run(_INSERT, (request_id, score, served_by))

    def ping(self) -> bool:
        """True when the database answers a query."""
        try:
            self._run("SELECT 1", ())
        except psycopg.Error:
            return False
        return True

    def _run(self, sql: str, params: tuple[object, ...]) -> None:
        """Run and commit; a pooled connection that turns out dead (database restarted) gets one retry on a fresh one."""
        if not self._slots.acquire(timeout=self._acquire_timeout_s):
            raise PoolExhausted(f"all {self._pool_size} database connections busy for {self._acquire_timeout_s:g} s")
        try:
            try:
                with self._connection(pooled=True) as conn:
                    self._execute(conn, sql, params)
            except psycopg.OperationalError:
                with self._connection(pooled=False) as conn:
                    self._execute(conn, sql, params)
        finally:
            self._slots.release()

    @staticmethod
    def _execute(conn: psycopg.Connection, sql: str, params: tuple[object, ...]) -> None:
        conn.execute(sql, params)
        conn.commit()

    @contextmanager
    def _connection(self, pooled: bool) -> Iterator[psycopg.Connection]:
        conn = self._take() if pooled else None
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        except BaseException:
            conn.close()
            raise
        self._idle.put(conn)  # at most pool_size connections exist: the slots bound them

    def _take(self) -> psycopg.Connection | None:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return None

    def _connect(self) -> psycopg.Connection:
        """A new connection, with the table created if it is missing (cheap, and it survives a recreated database)."""
        conn = psycopg.connect(self._dsn, connect_timeout=self._connect_timeout_s)
        try:
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.commit()
        except BaseException:
            conn.close()
            raise
        return conn
