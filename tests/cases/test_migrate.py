"""Tests of the migrations: a new database, an existing 0001 database, and the models' match."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from cases import repository
from cases.db import make_engine, make_sessionmaker
from cases.deadlines import default_profiles
from cases.migrate import alembic_config, upgrade
from cases.models import Base
from cases.pii import PiiCipher, Sealed
from cases.views import CaseView
from tests.casedb import TEST_PII_KEY

NEW_TABLES = {"consents", "outbox", "survey_responses"}


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty SQLite file; PII_KEY unset so that only explicit keys count."""
    monkeypatch.delenv("PII_KEY", raising=False)
    return f"sqlite:///{tmp_path / 'cases.db'}"


def version(engine: Engine) -> str:
    """The Alembic revision the database is at."""
    with engine.connect() as connection:
        return str(connection.scalar(text("SELECT version_num FROM alembic_version")))


def seed_0001(url: str) -> Engine:
    """A database at 0001 holding one petitioner (plaintext phone), one case, two events."""
    command.upgrade(alembic_config(url), "0001")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO petitioners (id, name, phone, created_at)"
                " VALUES (1, '王建国', '13800138000', '2026-03-01 01:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO channel_identities (id, petitioner_id, channel, user_id, active,"
                " created_at) VALUES (1, 1, 'wechat', 'openid-1', 1, '2026-03-01 01:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO cases (id, reference, submission_key, petitioner_id, channel,"
                " user_id, kind, category, grade, deadline_profile, fields, received_at)"
                " VALUES (1, 'XF-2026-000001', 'k1', 1, 'wechat', 'openid-1', 'complaint',"
                " NULL, 'normal', '520', '{\"facts\": \"停水\"}', '2026-03-02 01:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO case_events (id, case_id, type, at, actor, data) VALUES"
                " (1, 1, 'received', '2026-03-02 01:00:00', 'wechat', '{}'),"
                " (2, 1, 'accepted', '2026-03-03 01:00:00', 'staff', '{}')"
            )
        )
    return engine


class TestNewDatabase:
    """Upgrading an empty database."""

    def test_upgrade_head_creates_every_table(self, url: str) -> None:
        """The head revision creates the new tables and columns."""
        upgrade(url)
        engine = make_engine(url)
        inspector = inspect(engine)
        assert NEW_TABLES <= set(inspector.get_table_names())
        petitioner_columns = {column["name"] for column in inspector.get_columns("petitioners")}
        assert {"phone", "phone_masked", "phone_hash", "id_number", "address"} <= petitioner_columns
        assert version(engine) == "0002"
        engine.dispose()

    def test_models_match_the_migrations(self, url: str) -> None:
        """Autogenerate finds nothing to add: the migrations build exactly the models' schema."""
        upgrade(url)
        engine = make_engine(url)
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        engine.dispose()
        assert differences == []

    def test_downgrade_and_upgrade_again(self, url: str) -> None:
        """0002 can be reverted on an empty database and applied again."""
        upgrade(url)
        command.downgrade(alembic_config(url), "0001")
        engine = make_engine(url)
        assert not NEW_TABLES & set(inspect(engine).get_table_names())
        upgrade(url)
        assert version(engine) == "0002"
        engine.dispose()


class TestFrom0001:
    """Upgrading a database that 0001 filled, with phones in clear."""

    def test_phones_sealed_events_numbered(self, url: str) -> None:
        """With the key, the phone is sealed, masked and hashed; events get 1, 2."""
        engine = seed_0001(url)
        upgrade(url, pii_key=TEST_PII_KEY)
        cipher = PiiCipher(TEST_PII_KEY)
        with engine.connect() as connection:
            phone, masked, phone_hash = connection.execute(
                text("SELECT phone, phone_masked, phone_hash FROM petitioners")
            ).one()
            seqs = connection.execute(text("SELECT seq FROM case_events ORDER BY id")).scalars()
            assert list(seqs) == [1, 2]
            flags = connection.execute(text("SELECT anonymous, first_time FROM cases")).one()
            assert tuple(flags) == (0, 0)
        assert phone != "13800138000" and cipher.open(Sealed(phone)) == "13800138000"
        assert masked == "138****8000"
        assert phone_hash == cipher.lookup_hash("13800138000")
        engine.dispose()

    def test_old_case_works_after_the_upgrade(self, url: str) -> None:
        """The migrated case renders masked and takes its next event."""
        engine = seed_0001(url)
        upgrade(url, pii_key=TEST_PII_KEY)
        sessions = make_sessionmaker(engine, pii=PiiCipher(TEST_PII_KEY))
        with sessions.begin() as session:
            case = repository.add_event(
                session,
                "XF-2026-000001",
                repository.NewEvent(type=repository.EventType.ASSIGNED, data={"unit": "水务局"}),
            )
            body = CaseView(default_profiles()).render(case)
            assert body["status"] == "in_progress"
            assert body["fields"]["phone"] == "138****8000"
            assert repository.phone_of(session, case.petitioner) == "13800138000"
        engine.dispose()

    def test_key_from_the_environment(self, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without an explicit key, PII_KEY from the environment seals the phones."""
        engine = seed_0001(url)
        monkeypatch.setenv("PII_KEY", TEST_PII_KEY)
        upgrade(url)
        with engine.connect() as connection:
            phone = connection.scalar(text("SELECT phone FROM petitioners"))
        assert PiiCipher(TEST_PII_KEY).open(Sealed(phone)) == "13800138000"
        engine.dispose()

    def test_no_key_stops_before_any_change(self, url: str) -> None:
        """Phones in clear and no key: the upgrade refuses and the database stays at 0001."""
        engine = seed_0001(url)
        with pytest.raises(RuntimeError, match="PII_KEY"):
            upgrade(url)
        assert version(engine) == "0001"
        assert not NEW_TABLES & set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT phone FROM petitioners")) == "13800138000"
        engine.dispose()

    def test_no_phones_needs_no_key(self, url: str) -> None:
        """A 0001 database without phones upgrades without a key."""
        command.upgrade(alembic_config(url), "0001")
        upgrade(url)
        engine = make_engine(url)
        assert version(engine) == "0002"
        engine.dispose()

    def test_downgrade_without_key_refused(self, url: str) -> None:
        """Sealed phones and no key: the downgrade refuses instead of leaving tokens behind."""
        engine = seed_0001(url)
        upgrade(url, pii_key=TEST_PII_KEY)
        with pytest.raises(RuntimeError, match="PII_KEY"):
            command.downgrade(alembic_config(url), "0001")
        assert version(engine) == "0002"
        engine.dispose()

    def test_downgrade_opens_the_phones_again(self, url: str) -> None:
        """Back to 0001 with the key, the phone is in clear again, as 0001 expects."""
        engine = seed_0001(url)
        upgrade(url, pii_key=TEST_PII_KEY)
        command.downgrade(alembic_config(url, pii_key=TEST_PII_KEY), "0001")
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT phone FROM petitioners")) == "13800138000"
        assert version(engine) == "0001"
        engine.dispose()
