"""The subscriber store and the send ledger, as SQLAlchemy tables; SQLite by default, PostgreSQL by URL.

The schema is created and changed only by the Alembic migrations in
`delivery/migrations/`; `open_store` brings a database up to date.
"""

from __future__ import annotations

import enum
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from sqlalchemy import (
    CheckConstraint,
    Connection,
    DateTime,
    Dialect,
    Engine,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ..errors import BroadsheetError
from ..settings import SETTINGS_FILE, Project


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A moment in UTC, handed back zone-aware by every database.

    PostgreSQL keeps the zone (`timestamp with time zone`); SQLite keeps the
    text of the time without it, so a time read back from SQLite is naive. The
    store writes only UTC, so such a time is UTC: given its zone back here,
    once, rather than by each reader.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("the store keeps zone-aware times only: a naive time would be read as UTC")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    # Named constraints, the same on every database, so that a migration can name what it alters or drops.
    metadata = MetaData(
        naming_convention={
            "pk": "pk_%(table_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ix": "ix_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
        }
    )


class Status(enum.StrEnum):
    """Where a subscriber stands; `delivery.lifecycle` alone changes it, by the rules of its table."""

    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    PENDING = "pending"
    """Signed up on the web form; not sent anything but the confirmation until they follow its link."""


class Subscriber(Base):
    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    """As the subscriber wrote it."""
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    """The address in lower case: addresses are unique whatever their case."""
    name: Mapped[str] = mapped_column(String(200), default="")
    locale: Mapped[str] = mapped_column(String(35))
    status: Mapped[Status] = mapped_column(
        # Stored as the value strings ("active"), in a VARCHAR as before: no CHECK constraint, no schema change.
        Enum(
            Status,
            native_enum=False,
            create_constraint=False,
            length=20,
            values_callable=lambda members: [m.value for m in members],
        ),
        default=Status.ACTIVE,
        index=True,
    )
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, default=utcnow)
    """When `status` last changed (or the subscriber was added): SendGrid's events from before then are about an
    earlier spell on the list, and change nothing. None only for a database too old to know (see migration 0008)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    confirmation_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """When the last sign-up confirmation went to this address: at most one an hour."""
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """When the subscriber consented: confirmed their sign-up on the web form, or as an import file says;
    None when not known (added by hand, or imported without it)."""
    consent_source: Mapped[str | None] = mapped_column(String(50), nullable=True)
    """Where the address came from: "web form", "import of FILE" or "added by hand"; None if added before this was kept."""
    consent_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    """The statement they agreed to, word for word in the language they read it in."""
    pending_consent_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    """The statement of their last sign-up on the web form, not confirmed yet: it becomes `consent_text` when
    they follow the confirmation link, and until then changes no consent recorded."""
    pending_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """For an address that left and signed up again: the name it gave, taken when it confirms. Until then the
    record (name, language, status) stays as it was."""
    pending_locale: Mapped[str | None] = mapped_column(String(35), nullable=True)
    """As `pending_name`, the language it chose. Set only while such a sign-up awaits its confirmation."""


class State(enum.StrEnum):
    """What became of one copy; see `delivery/ledger.py` for how a copy moves between these."""

    PENDING = "pending"
    """Recorded, not yet handed to the transport."""
    QUEUED = "queued"
    """Claimed by a run, not yet handed over: a run that stops gives it back, and so does the next run for a dead one."""
    SENDING = "sending"
    """Being handed to the transport; the answer not yet recorded. Left so by a dead process, its fate is unknown."""
    SENT = "sent"
    """The transport took it."""
    FAILED = "failed"
    """Refused for good (or deferred too often, or for too long)."""
    DEFERRED = "deferred"
    """Refused for now (SMTP 4xx): tried again later in the run, and by the next run."""
    UNKNOWN = "unknown"
    """Went out but its answer never came: maybe delivered, so sent again only by `send --retry-unknown`."""


class Run(Base):
    """One `broadsheet send` process working on an issue."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    issue: Mapped[str] = mapped_column(String(10), index=True)
    pid: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LedgerEntry(Base):
    """One subscriber's copy of one issue, and what became of it."""

    __tablename__ = "ledger"
    __table_args__ = (
        UniqueConstraint("issue", "subscriber_id", name="uq_ledger_issue_subscriber"),
        Index("ix_ledger_issue_state", "issue", "state"),
        Index("ix_ledger_issue_anonymous", "issue", "anonymous_id"),
        CheckConstraint(f"state IN ({', '.join(repr(state.value) for state in State)})", name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issue: Mapped[str] = mapped_column(String(10))
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL"), nullable=True
    )
    """None once the subscriber was forgotten: the row stays, counted, under `anonymous_id`."""
    anonymous_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    """A random id, one per forgotten subscriber and issue, tying their copy of the issue to its events and to nobody."""
    locale: Mapped[str] = mapped_column(String(35))
    state: Mapped[str] = mapped_column(String(10), default=State.PENDING.value)
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id"), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(String(500), default="")
    """The transport's last answer about the copy."""
    deferred_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """When the copy was first deferred; a copy deferred longer than `deferred_max_age_hours` fails."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Event(Base):
    """One event SendGrid reported about a copy of an issue: delivered, opened, clicked, bounced..."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_issue_kind", "issue", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sg_event_id: Mapped[str] = mapped_column(String(100), unique=True)
    """SendGrid's id of the event: a retried delivery of the same event is recorded once."""
    issue: Mapped[str | None] = mapped_column(String(10), nullable=True)
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL"), nullable=True
    )
    anonymous_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    """As in the ledger: the random id of a forgotten subscriber."""
    kind: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    """When the event happened, by SendGrid's clock."""


class Forgotten(Base):
    """An address whose owner asked to be forgotten, kept only as a keyed hash so that no import adds it again."""

    __tablename__ = "forgotten"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """HMAC-SHA256 of the address's `email_key` with BROADSHEET_SECRET, in hex: the address cannot be read back."""
    forgotten_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# -- Curation (broadsheet collect): not delivery, but the same database -----------


class Offered(Base):
    """A URL that `broadsheet collect` offered for an issue: once deleted by the editor, it is not offered again."""

    __tablename__ = "offered"
    __table_args__ = (UniqueConstraint("issue", "url", name="uq_offered_issue_url"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issue: Mapped[str] = mapped_column(String(10))
    """The issue's date, YYYY-MM-DD."""
    url: Mapped[str] = mapped_column(Text)
    """As written into the issue: cleaned, after permanent redirects."""
    offered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


DATABASE_URL_VARIABLE = "BROADSHEET_DATABASE_URL"
MIGRATIONS = "broadsheet.delivery:migrations"
"""Where Alembic finds the migrations: a folder of this package, installed with it."""

_MIGRATION_LOCK = 7_402_113_960
"""PostgreSQL advisory lock held while migrating; any number other programs on the database do not use."""

_MIGRATING = threading.Lock()

_EXAMPLES = "such as sqlite:///broadsheet.db or postgresql://user:password@host/database"


def database_url(project: Project, environ: Mapping[str, str]) -> str:
    """The project's database: `BROADSHEET_DATABASE_URL` when set, else the `database_url` setting.

    A relative SQLite path is relative to the project folder, so every command
    finds the same file wherever it is run from.
    """
    given = environ.get(DATABASE_URL_VARIABLE)
    source = DATABASE_URL_VARIABLE if given else f"{project.root / SETTINGS_FILE}: database_url"
    written = given or project.settings.database_url
    url = _parse(written, source)
    path = url.database
    if (
        url.get_backend_name() != "sqlite"
        or not path
        or path == ":memory:"
        or path.startswith("file:")
        or Path(path).is_absolute()
    ):
        return written
    return url.set(database=str(project.root / path)).render_as_string(hide_password=False)


def open_store(url: str) -> Engine:
    """An engine on the database at `url`, its schema first brought up to date by the migrations.

    Opening a database that is already up to date changes nothing. Raises
    `BroadsheetError` for a URL naming no usable database, a database that
    cannot be reached, or one migrated by a newer version of broadsheet.
    """
    parsed = _parse(url, "the database URL")
    shown = parsed.render_as_string(hide_password=True)
    try:
        # hide_parameters: a failed statement's message (which reaches logs) never shows an address.
        engine = create_engine(parsed, hide_parameters=True, **_engine_options(parsed))
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise BroadsheetError(f"cannot use the database {shown}: {_reason(exc)}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _configure_sqlite)
    try:
        _migrate(engine, shown)
    except BaseException:
        engine.dispose()
        raise
    return engine


@contextmanager
def project_store(project: Project, environ: Mapping[str, str] = os.environ) -> Iterator[Engine]:
    """The project's store (see `database_url`), open for a `with` block; its connections closed after."""
    engine = open_store(database_url(project, environ))
    try:
        yield engine
    finally:
        engine.dispose()


def alembic_config(connection: Connection) -> Config:
    """Alembic's configuration for the store's migrations, working on `connection`.

    For the functions of `alembic.command`: `command.current(alembic_config(c))`
    shows the revision of a database, and `command.revision(alembic_config(c),
    message, autogenerate=True)` writes the next migration from the models.
    """
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes["connection"] = connection
    return config


def _parse(url: str, source: str) -> URL:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        # The text may hold a password: never repeat it.
        raise BroadsheetError(f"{source}: Expected a database URL {_EXAMPLES}") from None
    # psycopg (version 3) is the PostgreSQL driver broadsheet installs; SQLAlchemy's default is psycopg2.
    return parsed.set(drivername="postgresql+psycopg") if parsed.drivername == "postgresql" else parsed


def _engine_options(url: URL) -> dict[str, Any]:
    if url.get_backend_name() == "sqlite":
        # Wait for another process's write (a send in progress) rather than fail at once.
        return {"connect_args": {"timeout": 30}}
    # A connection dropped by a restarted server or an idle timeout is replaced, not handed to a send.
    options: dict[str, Any] = {"pool_pre_ping": True, "pool_recycle": 1800}
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = 10
    if url.get_driver_name() == "psycopg":
        # psycopg prepares a statement run five times; PostgreSQL's generic plan for a prepared
        # `email_key IN (...500 parameters)` rebuilds the list for every row: 0.5 s a query.
        connect_args["prepare_threshold"] = None
    return {**options, "connect_args": connect_args} if connect_args else options


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # SQLite ignores foreign keys unless each connection asks: a deleted subscriber's ledger rows would stay.
    cursor.execute("PRAGMA foreign_keys = ON")
    # A send commits each copy's answer before the next copy goes: with a rollback journal and full
    # syncs that is 3-20 ms a commit on this project's machines; in WAL mode with NORMAL syncs, a
    # fraction of a millisecond. A commit survives the process being killed; only a crash of the
    # machine itself may lose the last ones. WAL also lets readers (`serve`, `--status`) read during a send.
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _migrate(engine: Engine, shown: str) -> None:
    try:
        connection = engine.connect()
    except DBAPIError as exc:
        raise BroadsheetError(f"cannot open the database {shown}: {_reason(exc)}") from None
    try:
        # Alembic keeps the migration it runs in globals: one at a time in a process. Two processes
        # opening a new database at once would both create the tables: one waits for the other.
        with _MIGRATING, connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            elif connection.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            command.upgrade(alembic_config(connection), "head")
    except DBAPIError as exc:
        raise BroadsheetError(f"cannot bring the database {shown} up to date: {_reason(exc)}") from None
    except CommandError as exc:
        raise BroadsheetError(
            f"the database {shown} has a schema this version of broadsheet does not know ({exc}); upgrade broadsheet"
        ) from None
    finally:
        connection.close()


def failure(exc: BaseException) -> BroadsheetError:
    """What a command says when the database fails under it (its server restarted, its disk full): the driver's
    reason, and that what was committed before stays."""
    return BroadsheetError(
        f"the database failed: {_reason(exc)}. What was recorded before stays; run the command again once the "
        "database works (a send takes up where it stopped)"
    )


def _reason(exc: BaseException) -> str:
    """The driver's own words for what went wrong, on one line."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return " ".join(line.strip() for line in str(cause).splitlines() if line.strip())
