"""The Alembic revisions build exactly the schema the table modules describe."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from service.adapters.postgres import codec, migrate
from service.adapters.postgres.schema import metadata

pytestmark = pytest.mark.integration


async def test_the_migrated_schema_matches_the_tables(empty_database_url: str) -> None:
    engine = create_async_engine(empty_database_url)
    await migrate.upgrade(engine)
    async with engine.connect() as conn:
        differences = await conn.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), metadata
            )
        )
    await engine.dispose()

    assert differences == []


async def test_check_in_timezones_become_the_users_one_timezone(empty_database_url: str) -> None:
    engine = create_async_engine(empty_database_url)
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(migrate._config(sync), "0007"))
        streak = (
            "insert into streaks (user_id, timezone, current, longest, freezes, cycle_day,"
            " milestone_reached, make_up_month, make_ups_used, updated_at)"
            " values (:user, :tz, 1, 1, 0, 1, 0, '', 0, :at)"
        )
        profile = (
            "insert into rule_profiles (user_id, timezone, segments, xp, level, updated_at)"
            " values (:user, :tz, '{}', 0, 1, :at)"
        )
        rows = [
            (streak, "checked-in-only", "Europe/Berlin", "2026-03-10"),
            (streak, "defaulted", "Europe/Berlin", "2026-03-01"),
            (profile, "defaulted", "UTC", "2026-03-10"),
            (streak, "event-later", "Europe/Berlin", "2026-03-01"),
            (profile, "event-later", "Asia/Tokyo", "2026-03-10"),
            (streak, "check-in-later", "Europe/Berlin", "2026-03-10"),
            (profile, "check-in-later", "Asia/Tokyo", "2026-03-01"),
            (profile, "events-only", "UTC", "2026-03-01"),
        ]
        for sql, user, timezone, at in rows:
            await conn.execute(
                sa.text(sql),
                {
                    "user": user,
                    "tz": timezone,
                    "at": dt.datetime.fromisoformat(at + "T00:00+00:00"),
                },
            )
        await conn.run_sync(lambda sync: command.upgrade(migrate._config(sync), "0008"))
        result = await conn.execute(sa.text("select user_id, timezone from rule_profiles"))
        found: dict[str, str] = {row.user_id: row.timezone for row in result}
    await engine.dispose()

    assert found == {
        "checked-in-only": "Europe/Berlin",
        "defaulted": "Europe/Berlin",
        "event-later": "Asia/Tokyo",
        "check-in-later": "Europe/Berlin",
        "events-only": "",
    }


async def test_queued_check_in_grants_get_their_check_in_as_cause(
    empty_database_url: str,
) -> None:
    engine = create_async_engine(empty_database_url)
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(migrate._config(sync), "0008"))
        await conn.execute(
            sa.text(
                "insert into check_ins (user_id, day, status, at, timezone, cycle_day, streak,"
                " streak_started_on, program_version) values ('ann', '2026-03-12', 'checked_in',"
                " '2026-03-12T12:00:00+00', 'UTC', 1, 3, '2026-03-10', 1)"
            )
        )
        for key, kind, ref in (
            ("g1", "check_in", "check_in:ann:2026-03-12"),
            ("g2", "task", "task:buy/event:e1"),
        ):
            await conn.execute(
                sa.text(
                    "insert into grant_outbox (idempotency_key, user_id, kind, amount, item_code,"
                    " reason, cause_kind, cause_ref, definition_version)"
                    " values (:key, 'ann', 'points', 10, '', 'r', :kind, :ref, 1)"
                ),
                {"key": key, "kind": kind, "ref": ref},
            )
        await conn.run_sync(lambda sync: command.upgrade(migrate._config(sync), "0009"))
        result = await conn.execute(
            sa.text("select idempotency_key, cause_check_in from grant_outbox order by 1")
        )
        found = {row.idempotency_key: row.cause_check_in for row in result}
    await engine.dispose()

    assert found["g2"] is None
    record = codec.day_from_json(found["g1"])
    assert (record.day, record.streak, record.at) == (
        dt.date(2026, 3, 12), 3, dt.datetime(2026, 3, 12, 12, tzinfo=dt.UTC),
    )  # fmt: skip
