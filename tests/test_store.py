"""The store: which database a project uses, opening one (migrating it), and errors a user can act on."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from broadsheet.delivery.store import (
    Base,
    LedgerEntry,
    Subscriber,
    alembic_config,
    database_url,
    open_store,
    project_store,
)
from broadsheet.errors import BroadsheetError
from broadsheet.settings import Project, Settings

TABLES = {"alembic_version", "subscribers", "runs", "ledger", "events", "forgotten", "offered"}


def _add_subscriber(engine: Engine, email: str = "aung@example.org") -> int:
    with Session(engine) as session:
        subscriber = Subscriber(email=email, email_key=email.lower(), name="Aung", locale="my")
        session.add(subscriber)
        session.commit()
        return subscriber.id


def test_opening_a_new_database_creates_the_tables_the_models_declare(store: Engine) -> None:
    assert set(inspect(store).get_table_names()) == TABLES
    with store.connect() as connection:
        # Tables, columns, types, nullability, indexes, unique and foreign keys alike.
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_opening_again_changes_nothing_and_the_database_stays_at_head(store_url: str) -> None:
    first = open_store(store_url)
    _add_subscriber(first)
    first.dispose()

    second = open_store(store_url)
    with second.connect() as connection:
        config = alembic_config(connection)
        config.stdout = io.StringIO()
        command.current(config)  # `alembic current`
        assert connection.scalar(select(func.count()).select_from(Subscriber)) == 1
    second.dispose()
    assert config.stdout.getvalue() == "0010 (head)\n"


def test_migrations_go_down_to_an_empty_database_and_up_again(store: Engine) -> None:
    with store.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert set(inspect(store).get_table_names()) <= {"alembic_version"}
    with store.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    assert set(inspect(store).get_table_names()) == TABLES


def test_migrations_down_and_up_keep_every_subscriber_copy_and_event(store: Engine) -> None:
    subscriber = _add_subscriber(store)
    with store.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO ledger (issue, subscriber_id, locale, state, attempts, detail, created_at, updated_at) "
                "VALUES ('2024-01-04', :id, 'my', 'sent', 1, '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"id": subscriber},
        )
        connection.execute(
            text(
                "INSERT INTO events (sg_event_id, issue, subscriber_id, kind, created_at) "
                "VALUES ('ev-1', '2024-01-04', :id, 'delivered', CURRENT_TIMESTAMP)"
            ),
            {"id": subscriber},
        )

    def counts() -> tuple[int, int, int]:
        with store.connect() as connection:
            return tuple(  # type: ignore[return-value]
                connection.scalar(text(f"SELECT count(*) FROM {table}"))
                for table in ("subscribers", "ledger", "events")
            )

    # Down past the revisions that dropped columns of `subscribers` (which SQLite must copy with care).
    with store.begin() as connection:
        command.downgrade(alembic_config(connection), "0003")
    assert counts() == (1, 1, 1)
    with store.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    assert counts() == (1, 1, 1)
    with store.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_0006_moves_the_statement_of_an_unconfirmed_sign_up_out_of_the_consent(store: Engine) -> None:
    with store.begin() as connection:
        command.downgrade(alembic_config(connection), "0005")
        for email, status, consented in (
            ("new@example.org", "pending", None),
            ("old@example.org", "active", "2024-01-01"),
        ):
            connection.execute(
                text(
                    "INSERT INTO subscribers (email, email_key, name, locale, status, created_at, updated_at, consented_at, consent_text) "
                    "VALUES (:email, :email, '', 'en', :status, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, :consented, 'Statement')"
                ),
                {"email": email, "status": status, "consented": consented},
            )
        command.upgrade(alembic_config(connection), "head")
    with Session(store) as session:
        rows = session.execute(
            select(Subscriber.email, Subscriber.consent_text, Subscriber.pending_consent_text).order_by(
                Subscriber.email
            )
        ).all()
    # Revision 0005 kept a pending sign-up's statement as its consent: from 0006 it waits for the confirmation.
    assert [tuple(row) for row in rows] == [
        ("new@example.org", None, "Statement"),
        ("old@example.org", "Statement", None),
    ]


def test_0010_checks_the_states_and_down_gives_older_versions_the_copies_as_they_knew_them(
    store: Engine,
) -> None:
    subscriber = _add_subscriber(store)
    with store.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO runs (id, issue, pid, host, started_at, heartbeat_at, finished_at) "
                "VALUES ('run', '2024-01-04', 1, 'host', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        for issue, state in (("2024-01-04", "unknown"), ("2024-01-11", "deferred"), ("2024-01-18", "queued")):
            connection.execute(
                text(
                    "INSERT INTO ledger (issue, subscriber_id, locale, state, run_id, attempts, detail, created_at, updated_at) "
                    "VALUES (:issue, :id, 'my', :state, 'run', 1, '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"issue": issue, "id": subscriber, "state": state},
            )
    with pytest.raises(IntegrityError), store.begin() as connection:
        connection.execute(text("UPDATE ledger SET state = 'lost' WHERE issue = '2024-01-04'"))

    with store.begin() as connection:
        command.downgrade(alembic_config(connection), "0009")
    with store.connect() as connection:
        rows = connection.execute(text("SELECT issue, state, run_id FROM ledger ORDER BY issue")).all()
    # Before 0010, a copy of unknown fate was one left `sending` by a finished run.
    assert [tuple(row) for row in rows] == [
        ("2024-01-04", "sending", "run"),
        ("2024-01-11", "pending", None),
        ("2024-01-18", "pending", None),
    ]


def test_processes_opening_a_new_database_at_once_all_succeed(store_url: str) -> None:
    opening = (
        "import sys; from broadsheet.delivery.store import open_store; open_store(sys.argv[1]).dispose()"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", opening, store_url], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    assert [process.communicate()[1] for process in processes] == ["", "", "", ""]
    assert [process.returncode for process in processes] == [0, 0, 0, 0]


def test_threads_opening_databases_at_once_all_succeed(tmp_path: Path) -> None:
    urls = [f"sqlite:///{tmp_path / name}.db" for name in ("a", "b", "c", "c", "c")]
    errors: list[BaseException] = []

    def open_in_thread(url: str) -> None:
        try:
            open_store(url).dispose()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_in_thread, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_ledger_rows_must_name_a_subscriber(store: Engine) -> None:
    with Session(store) as session:
        session.add(LedgerEntry(issue="2023-12-21", subscriber_id=999, locale="en"))
        with pytest.raises(IntegrityError):
            session.commit()


def test_a_subscriber_address_is_unique_whatever_its_case(store: Engine) -> None:
    _add_subscriber(store, "aung@example.org")
    with pytest.raises(IntegrityError):
        _add_subscriber(store, "Aung@Example.org")


def test_a_database_from_a_newer_broadsheet_is_refused(store_url: str) -> None:
    engine = open_store(store_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(BroadsheetError) as raised:
        open_store(store_url)
    assert (
        "has a schema this version of broadsheet does not know (Can't locate revision identified by '9999')"
        in raised.value.message
    )
    assert raised.value.message.endswith("; upgrade broadsheet")


def test_database_is_the_settings_sqlite_file_in_the_project_folder(tmp_path: Path) -> None:
    project = Project(tmp_path, Settings())
    assert database_url(project, {}) == f"sqlite:///{tmp_path / 'broadsheet.db'}"
    assert (
        database_url(project, {"BROADSHEET_DATABASE_URL": "sqlite:///data/list.db"})
        == f"sqlite:///{tmp_path / 'data/list.db'}"
    )


def test_absolute_and_in_memory_sqlite_urls_stay_as_they_are(tmp_path: Path) -> None:
    project = Project(tmp_path, Settings(database_url="sqlite:////var/lib/broadsheet.db"))
    assert database_url(project, {}) == "sqlite:////var/lib/broadsheet.db"
    assert database_url(project, {"BROADSHEET_DATABASE_URL": "sqlite:///:memory:"}) == "sqlite:///:memory:"


def test_environment_overrides_the_settings(tmp_path: Path) -> None:
    project = Project(tmp_path, Settings(database_url="sqlite:///ignored.db"))
    environ = {"BROADSHEET_DATABASE_URL": "postgresql://news:p%40ss@db.internal:5433/broadsheet"}
    assert database_url(project, environ) == "postgresql://news:p%40ss@db.internal:5433/broadsheet"


def test_a_malformed_url_is_reported_without_repeating_it(tmp_path: Path) -> None:
    project = Project(tmp_path, Settings())
    with pytest.raises(BroadsheetError) as raised:
        database_url(project, {"BROADSHEET_DATABASE_URL": "postgresql://news:s3cret@db:port/broadsheet"})
    assert raised.value.message == (
        "BROADSHEET_DATABASE_URL: Expected a database URL such as sqlite:///broadsheet.db "
        "or postgresql://user:password@host/database"
    )


def test_an_unreachable_server_is_reported_without_its_password() -> None:
    with pytest.raises(BroadsheetError) as raised:
        open_store("postgresql://news:s3cret@127.0.0.1:1/broadsheet")
    message = raised.value.message
    assert message.startswith(
        "cannot open the database postgresql+psycopg://news:***@127.0.0.1:1/broadsheet: "
    )
    assert "Connection refused" in message
    assert "s3cret" not in message


def test_an_unknown_kind_of_database_is_reported() -> None:
    with pytest.raises(BroadsheetError) as raised:
        open_store("nosuchdb://news:s3cret@db/broadsheet")
    assert (
        raised.value.message
        == "cannot use the database nosuchdb://news:***@db/broadsheet: Can't load plugin: sqlalchemy.dialects:nosuchdb"
    )


def test_an_sqlite_file_in_a_missing_folder_is_reported(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'broadsheet.db'}"
    with pytest.raises(BroadsheetError) as raised:
        open_store(url)
    assert raised.value.message == f"cannot open the database {url}: unable to open database file"


def test_project_store_opens_the_project_database_and_closes_it(tmp_path: Path) -> None:
    project = Project(tmp_path, Settings())
    with project_store(project, {}) as engine:
        _add_subscriber(engine)
    assert (tmp_path / "broadsheet.db").is_file()
    assert engine.pool.checkedout() == 0


def test_0008_dates_each_subscribers_last_change_of_status_no_later_than_it_was(store: Engine) -> None:
    with store.begin() as connection:
        command.downgrade(alembic_config(connection), "0006")
        for email, status, source, consented, created, updated in (
            (
                "confirmed@example.org",
                "active",
                "web form: snippet",
                "2024-03-01 10:00:00",
                "2024-02-01 10:00:00",
                "2024-03-05 10:00:00",
            ),
            (
                "imported@example.org",
                "active",
                "import of list.csv",
                "2023-01-01 00:00:00",
                "2024-02-01 10:00:00",
                "2024-03-05 10:00:00",
            ),
            (
                "left@example.org",
                "unsubscribed",
                "web form",
                "2024-03-01 10:00:00",
                "2024-02-01 10:00:00",
                "2024-04-01 10:00:00",
            ),
        ):
            connection.execute(
                text(
                    "INSERT INTO subscribers (email, email_key, name, locale, status, created_at, updated_at, consented_at, consent_source) "
                    "VALUES (:email, :email, '', 'en', :status, :created, :updated, :consented, :source)"
                ),
                {
                    "email": email,
                    "status": status,
                    "source": source,
                    "consented": consented,
                    "created": created,
                    "updated": updated,
                },
            )
        command.upgrade(alembic_config(connection), "head")
    with Session(store) as session:
        changed = {
            email: moment
            for email, moment in session.execute(select(Subscriber.email, Subscriber.status_changed_at))
        }
    # Their confirmation on the web form; when they were added; their record's last change.
    assert {email: moment.isoformat() if moment else None for email, moment in changed.items()} == {
        "confirmed@example.org": "2024-03-01T10:00:00+00:00",
        "imported@example.org": "2024-02-01T10:00:00+00:00",
        "left@example.org": "2024-04-01T10:00:00+00:00",
    }
