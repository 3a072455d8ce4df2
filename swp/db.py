"""The database layer: where the practice lives, how it is opened, one transaction per command.

SQLite (one file, the default) and PostgreSQL (a URL) are both supported. Nothing here runs
at import time: an engine is made only when a command needs the database.

SQLite connections set and check `foreign_keys=ON`, `journal_mode=WAL`, `synchronous=FULL`
and `busy_timeout`. pysqlite's own transaction handling is switched off (as SQLAlchemy's
SQLite dialect docs describe) and swp emits `BEGIN` itself: `BEGIN IMMEDIATE` for commands
that write, so a writer takes the lock before it reads what it decides on. A writer waits up to
the busy timeout (10 s; SWP_BUSY_TIMEOUT_MS changes it) for another to finish, then gives up
with one clear line. Driver errors become one line each (`swp.dberrors.translate`); a SQLite
file is recognised, before it is opened, by `swp.dbfile.check_file`.

PostgreSQL (docs/deployment.md): a command that writes runs at SERIALIZABLE and first takes
`LOCK TABLE practice IN SHARE ROW EXCLUSIVE MODE` (before its snapshot, so after waiting it
sees the last writer's work): swp's writers take turns, as with BEGIN IMMEDIATE, while readers
never wait. It waits up to the same busy timeout (`lock_timeout`). Anything else that conflicts
(another tool writing) ends in a serialization failure, and `Database.run` runs the command
again from the start. A read runs at REPEATABLE READ: one consistent snapshot for all it reads.
This module and the migrations are the only places that know which dialect is in use.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Table
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.orm import Session

from swp.dberrors import translate
from swp.dbfile import check_file
from swp.errors import DatabaseError

DEFAULT_DB = "swp.db"
POSTGRES_SCHEMES = ("postgresql+psycopg", "postgresql", "postgres")
BUSY_TIMEOUT_MS = 10_000  # how long a command waits for another writer before giving up
# SWP_BUSY_TIMEOUT_MS overrides it (an operator's or a test's choice), within these bounds
BUSY_TIMEOUT_RANGE = (100, 3_600_000)
# Every Alembic revision this code knows, oldest first. A test checks it against the scripts.
KNOWN_REVISIONS = ("0001", "0015", "0016", "0013", "0012", "0011", "0018", "0019", "0020", "0021", "0022", "0023", "0024")
HEAD_REVISION = KNOWN_REVISIONS[-1]

T = TypeVar("T")


def busy_timeout_ms() -> int:
    """How long (ms) a command waits for a lock held by another writer: 10 s, or
    SWP_BUSY_TIMEOUT_MS (from 100 ms to an hour) when set."""
    raw = os.environ.get("SWP_BUSY_TIMEOUT_MS", "").strip()
    if not raw:
        return BUSY_TIMEOUT_MS
    low, high = BUSY_TIMEOUT_RANGE
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise DatabaseError(f"SWP_BUSY_TIMEOUT_MS must be a whole number of milliseconds from {low} "
                            f"to {high}, not {raw[:20]!r}")
    return int(raw)


@dataclass(frozen=True)
class Target:
    """Where a practice's database is: a SQLite file path, or a server URL."""

    url: str
    path: Path | None  # the SQLite file, when it is one

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def display(self) -> str:
        if self.path is not None:
            return str(self.path)
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)


def resolve(db: str | None) -> Target:
    """`--db` / SWP_DB: a path (SQLite) or a database URL; default swp.db here."""
    raw = db or DEFAULT_DB
    if "\x00" in raw:
        raise DatabaseError("the database path contains a NUL byte")
    if "://" in raw:
        if raw.startswith("sqlite:///"):
            path = Path(raw[len("sqlite:///") :]).expanduser().absolute()
            return Target(f"sqlite:///{path}", path)
        scheme, rest = raw.split("://", 1)
        if scheme.lower() in POSTGRES_SCHEMES:  # libpq's own spellings, as pg_dump takes them
            return Target(f"postgresql+psycopg://{rest}", None)
        raise DatabaseError(f"a practice lives in a SQLite file or a PostgreSQL database "
                            f"(postgresql+psycopg://ROLE@HOST/DATABASE), not {scheme[:30]}://")
    path = Path(raw).expanduser().absolute()
    return Target(f"sqlite:///{path}", path)


_UNPOOLED: dict[tuple[str, int], Engine] = {}  # (url, busy timeout) -> engine, newest last
_UNPOOLED_MAX = 16
_UNPOOLED_LOCK = threading.Lock()


def unpooled_engine(target: Target) -> Engine:
    """The unpooled engine for the target, made once per process. It holds no connection
    between transactions (each opens the file or the server afresh), only what SQLAlchemy
    learns once per engine: the dialect's first look at the database and the cache of compiled
    statements. A program running several commands (the tests, a script calling swp's
    services) then compiles each statement once instead of once per command."""
    key = (target.url, busy_timeout_ms())
    with _UNPOOLED_LOCK:  # the members' page runs commands on several threads
        engine = _UNPOOLED.pop(key, None)
        if engine is None:
            engine = make_engine(target, pooled=False)
            while len(_UNPOOLED) >= _UNPOOLED_MAX:
                _UNPOOLED.pop(next(iter(_UNPOOLED))).dispose()
        _UNPOOLED[key] = engine
    return engine


def make_engine(target: Target, *, pooled: bool = False) -> Engine:
    """An engine for the target; SQLite connections get swp's pragmas and explicit BEGIN.
    A command opens one connection and closes it (no pool); a long-running process (the
    members' page) keeps a pool of them (`pooled`), each set up once."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import NullPool, QueuePool

    from swp import startup

    startup.resume()  # the command's own work begins: garbage is collected again
    busy_ms = busy_timeout_ms()
    # a pooled connection lost (a server restart) fails one request, and the pool drops it
    pool: dict[str, Any] = ({"poolclass": QueuePool, "pool_size": 8, "max_overflow": 32,
                             "pool_recycle": 3600}
                            if pooled else {"poolclass": NullPool})
    if not target.is_sqlite:
        try:
            engine = create_engine(target.url, **pool)
        except ImportError:
            raise DatabaseError("PostgreSQL needs its driver, psycopg: install swp with the postgres "
                                "extra (pip install -e '.[postgres]')") from None

        @event.listens_for(engine, "begin")
        def _pg_begin(conn: Connection) -> None:
            if conn.get_execution_options().get("swp_write"):
                conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = {busy_ms}")
            else:
                conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")

        return engine

    engine = create_engine(
        target.url,
        **pool,
        connect_args={"timeout": busy_ms / 1000, "check_same_thread": not pooled},
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # swp issues BEGIN itself
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            mode = cursor.fetchone()[0]
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys")
            fks = cursor.fetchone()[0]
            cursor.execute("PRAGMA synchronous")
            sync = cursor.fetchone()[0]
            cursor.execute("PRAGMA busy_timeout")
            busy = cursor.fetchone()[0]
        finally:
            cursor.close()
        if mode != "wal" or fks != 1 or sync != 2 or busy != busy_ms:
            raise DatabaseError(
                f"the database did not accept swp's settings (journal={mode}, "
                f"foreign_keys={fks}, synchronous={sync}, busy_timeout={busy})"
            )

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("swp_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def schema_revision(conn: Connection) -> str | None:
    """The Alembic revision of an open database, or None if it is not an swp database."""
    from sqlalchemy import inspect, text

    if not inspect(conn).has_table("alembic_version"):
        return None
    row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    return row[0] if row else None


def table_names(conn: Connection) -> list[str]:
    """The tables of an open database (on PostgreSQL, those of the schema where its tables are
    found: see `tables_schema`)."""
    from sqlalchemy import inspect

    return inspect(conn).get_table_names(schema=tables_schema(conn))


def check_schema(conn: Connection, target: Target) -> None:
    """Refuse a database that is not a practice at this swp's schema (exit 1, one line)."""
    revision = known_revision(conn, target)
    if revision != HEAD_REVISION:
        raise DatabaseError(
            f"{target.display} has an older schema ({revision}); run 'swp db upgrade' first"
        )


def known_revision(conn: Connection, target: Target) -> str:
    """The schema revision of a practice this swp knows (its head or an older one); anything
    else (no practice, another program's tables, a newer swp's schema) is refused."""
    revision = schema_revision(conn)
    if revision is None:
        if not table_names(conn):  # an empty database on a server: nothing set up yet
            raise DatabaseError(f"no practice at {target.display}: set one up with 'swp init', or pass --db")
        raise DatabaseError(f"{target.display} is not an swp practice (another program's database?)")
    if revision not in KNOWN_REVISIONS:
        raise DatabaseError(
            f"{target.display} was written by a newer swp (schema {revision}); upgrade swp"
        )
    return revision


def defences(conn: Connection) -> tuple[str, set[str], set[str], set[str]]:
    """The dialect's name, and the triggers, named constraints and indexes the database holds
    now (what `swp check` compares with what the schema should have)."""
    from sqlalchemy import text

    dialect = conn.dialect.name
    if dialect == "postgresql":
        triggers = {r[0] for r in conn.execute(text(
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))}
        constraints = {r[0] for r in conn.execute(text("SELECT conname FROM pg_constraint"))}
        # the indexes of the tables swp finds through the search path: not current_schema(),
        # the first schema on the path, which may be another (a role's own "$user" schema)
        indexes = {r[0] for r in conn.execute(text(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE pg_table_is_visible(i.indrelid)"))}
    else:
        import re

        triggers = {r[0] for r in conn.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'"))}
        sql = " ".join(r[0] or "" for r in conn.execute(text(
            "SELECT sql FROM sqlite_master WHERE type = 'table'")))
        constraints = set(re.findall(r"CONSTRAINT\s+\"?(\w+)", sql))
        indexes = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))}
    return dialect, triggers, constraints, indexes


def tables_schema(conn: Connection) -> str | None:
    """PostgreSQL: the schema where the practice's tables are found through the search path (the
    first schema on the path, current_schema(), may be another, such as a role's own "$user"
    schema); None on SQLite, which has one, and where no practice's table is found."""
    if conn.dialect.name != "postgresql":
        return None
    schema: str | None = conn.exec_driver_sql(
        "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relname = 'ledger_entry' AND c.relkind = 'r' AND pg_table_is_visible(c.oid)").scalar()
    return schema


def ledger_change_token(conn: Connection) -> object:
    """Something cheap to read that moves whenever a closed period's ledger entries could have
    changed: SQLite's schema version (a dropped or altered trigger moves it), PostgreSQL's row
    counters and triggers of the ledger table."""
    if conn.dialect.name == "sqlite":
        return conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
    return tuple(conn.exec_driver_sql(
        "SELECT pg_stat_get_tuples_inserted(r), pg_stat_get_tuples_updated(r), "
        "pg_stat_get_tuples_deleted(r), "
        "(SELECT string_agg(t.tgname::text || ':' || t.tgenabled::text || ':' || t.tgfoid::text, ',' "
        " ORDER BY t.tgname) FROM pg_trigger t WHERE t.tgrelid = r) "
        "FROM (SELECT 'ledger_entry'::regclass::oid AS r) AS ledger").first() or ())


def stores_as_bound(session: Session) -> bool:
    """Whether the database stores a value exactly as the driver bound it (SQLite: the text or
    number given is the text or number kept), so a digest of the bound values is a digest of
    the stored rows; a server may store a value in its own form, and is read back instead."""
    return session.get_bind().dialect.name == "sqlite"


def sqlite_schema_sql(conn: Connection, kind: str, name: str) -> str | None:
    """The stored SQL that makes the index or trigger `name` on SQLite (to drop it for a bulk
    write and make it again); None on PostgreSQL, or when there is no such thing."""
    if conn.dialect.name != "sqlite":
        return None
    sql: str | None = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = ? AND name = ?", (kind, name)).scalar()
    return sql


def login_role(conn: Connection) -> str | None:
    """PostgreSQL's session_user (the role that logged in); None on SQLite."""
    if conn.dialect.name != "postgresql":
        return None
    role: str = conn.exec_driver_sql("SELECT session_user").scalar_one()
    return role


def table_columns(conn: Connection) -> dict[str, list[str]]:
    """Every table of an open database and its columns, in one query."""
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(
            "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p "
            "WHERE m.type = 'table'").fetchall()
    else:
        from sqlalchemy import text

        rows = conn.execute(text(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = coalesce(:schema, current_schema())"),
            {"schema": tables_schema(conn)}).fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(table, []).append(column)
    return tables


def storage_problems(conn: Connection) -> dict[str, list[str] | None]:
    """The database engine's own checks of its storage, by name: the problems each found, or
    None where this engine has no such check (PostgreSQL keeps its own storage consistent and
    enforces foreign keys always; SQLite's integrity_check and foreign_key_check run here)."""
    if conn.dialect.name != "sqlite":
        return {"integrity": None, "foreign-keys": None}
    rows = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]
    integrity = [] if rows == ["ok"] else [f"SQLite integrity check: {r}" for r in rows]
    keys = [f"{r[0]} row {r[1]} refers to a missing {r[2]} row"
            for r in conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()]
    return {"integrity": integrity, "foreign-keys": keys}


def reset_sequences(conn: Connection, tables: Iterable[Table]) -> None:
    """After rows were written with their own ids (swp db copy): PostgreSQL's id sequences
    continue after the largest id. SQLite takes the next id from the table itself."""
    if conn.dialect.name != "postgresql":
        return
    from sqlalchemy import Integer

    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer):
            continue
        name, column = table.name, keys[0].name
        conn.exec_driver_sql(
            f"SELECT setval(seq, coalesce((SELECT max({column}) FROM {name}), 0) + 1, false) "
            f"FROM pg_get_serial_sequence('{name}', '{column}') AS seq WHERE seq IS NOT NULL")


def rows_where_in(session: Session, table: Table, columns: tuple[str, ...], column: str,
                  values: list[Any]) -> Iterator[tuple[Any, ...]]:
    """The `columns` of the rows of `table` whose `column` is one of `values` (an import's
    batch of refs), asked through the driver with the values as parameters rather than
    compiled by SQLAlchemy one by one; a column SQLAlchemy converts when it reads (a date) is
    converted by its own result processor, so the values are those the ORM would give."""
    if not values:
        return
    from sqlalchemy import select

    dialect = session.get_bind().dialect
    mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(dialect.paramstyle)
    if mark is None:
        query = select(*(table.c[name] for name in columns)).where(table.c[column].in_(values))
        for row in session.execute(query):
            yield tuple(row)
        return
    quote = dialect.identifier_preparer.quote
    sql = (f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(table.name)} "
           f"WHERE {quote(column)} IN ({', '.join([mark] * len(values))})")
    readers = [table.c[name].type._cached_result_processor(dialect, None) for name in columns]
    if not any(readers):
        yield from (tuple(row) for row in session.connection().exec_driver_sql(sql, tuple(values)))
        return
    for row in session.connection().exec_driver_sql(sql, tuple(values)):
        yield tuple(value if read is None or value is None else read(value)
                    for read, value in zip(readers, row, strict=True))


def prepare_bulk_write(session: Session) -> None:
    """Before a bulk insert (ledger import): SQLite gets a page cache of 1 MiB for this
    connection, a bound on memory however long the file (a bigger cache filled as the table
    grew, and was no faster: docs/performance.md); a server manages its own memory."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("PRAGMA cache_size = -1024")


def alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "swp:migrations")
    config.attributes["connection"] = connection
    return config


def migrate(connection: Connection, revision: str = "head") -> None:
    """Bring the schema to `revision` inside the caller's transaction."""
    from alembic import command

    command.upgrade(alembic_config(connection), revision)


class Database:
    """An opened target. Use `transaction()` for one unit of work."""

    def __init__(self, target: Target, *, pooled: bool = False):
        self.target = target
        self.pooled = pooled
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = (make_engine(self.target, pooled=True) if self.pooled
                            else unpooled_engine(self.target))
        return self._engine

    def dispose(self) -> None:
        if self._engine is not None and self.pooled:
            self._engine.dispose()
        self._engine = None

    @contextmanager
    def connect(self, *, write: bool) -> Iterator[Connection]:
        from sqlalchemy.exc import DBAPIError

        try:
            with self.engine.connect() as conn:
                conn.execution_options(swp_write=write)
                yield conn
        except DBAPIError as exc:
            raise translate(exc) from exc

    @contextmanager
    def transaction(self, *, write: bool, check: bool = True) -> Iterator[Session]:
        """One transaction as a SQLModel Session; commits on success, rolls back on any error."""
        from sqlalchemy.exc import DBAPIError
        from sqlmodel import Session as SQLModelSession

        with self.connect(write=write) as conn:
            try:
                with conn.begin():
                    if check:
                        if write and not self.target.is_sqlite:
                            _take_writers_turn(conn)
                        self._check_schema(conn)
                    session = SQLModelSession(bind=conn, expire_on_commit=False, autoflush=True)
                    try:
                        yield session
                        session.flush()
                    finally:
                        session.close()
            except DBAPIError as exc:
                if check and sqlstate(exc) == "42P01":  # no practice table: say what it is
                    with conn.begin():
                        check_schema(conn, self.target)
                raise translate(exc) from exc

    def _check_schema(self, conn: Connection) -> None:
        """check_schema; a pooled connection that passed it once reads just the revision."""
        info = conn.connection.info if self.pooled else {}
        if info.get("swp_schema_checked"):
            revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            if revision == HEAD_REVISION:
                return
        check_schema(conn, self.target)
        if self.pooled:
            info["swp_schema_checked"] = True

    def run(self, fn: Callable[[Session], T], *, write: bool) -> T:
        """Run fn(session) in one transaction. On PostgreSQL a serialization failure or a
        deadlock (another program's write crossed this one) rolls it back, and fn runs again
        from the start, after a short random pause, up to RETRIES times in all."""
        attempts = 1 if self.target.is_sqlite else RETRIES
        for attempt in range(attempts):
            try:
                with self.transaction(write=write) as session:
                    return fn(session)
            except DatabaseError as exc:
                if sqlstate(exc.__cause__) in RETRY_SQLSTATES and attempt + 1 < attempts:
                    time.sleep(random.uniform(0, min(0.5, 0.01 * 2 ** attempt)))
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover


RETRIES = 8  # attempts in all of one command on PostgreSQL (Database.run)
RETRY_SQLSTATES = ("40001", "40P01")  # serialization_failure, deadlock_detected


def sqlstate(exc: BaseException | None) -> str | None:
    """The SQLSTATE of a driver error wrapped by SQLAlchemy (PostgreSQL's; None on SQLite)."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None)


def _take_writers_turn(conn: Connection) -> None:
    """PostgreSQL: one swp writer at a time, like SQLite's BEGIN IMMEDIATE. LOCK TABLE takes no
    snapshot, so the SERIALIZABLE snapshot is taken after the turn comes, and sees everything the
    previous writer committed. The lock is on the practice's one row's table: SHARE ROW EXCLUSIVE
    conflicts with itself and with writes to that table, never with reads. It needs the UPDATE
    privilege on `practice`, which a role that runs swp has anyway (a resolution may change the
    practice's status), so the append-only tables need no UPDATE privilege (docs/deployment.md)."""
    conn.exec_driver_sql("LOCK TABLE practice IN SHARE ROW EXCLUSIVE MODE")


def open_database(db: str | None, *, pooled: bool = False) -> Database:
    target = resolve(db)
    check_file(target)
    return Database(target, pooled=pooled)


def lock_for_append(session: Session, table: str) -> None:
    """Serialise appends to a chained table. SQLite's BEGIN IMMEDIATE already has; PostgreSQL
    takes a transaction-scoped advisory lock named after the table."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        from sqlalchemy import text

        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": table})
