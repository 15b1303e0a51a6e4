"""Postgres implementation of the privacy port: one user's rows in every table, read or erased."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from service.adapters.postgres.audit.tables import audit_entries
from service.adapters.postgres.boards.tables import (
    board_exclusions,
    board_members,
    board_repairs,
    board_scores,
    board_standings,
    score_ledger,
)
from service.adapters.postgres.goals.tables import goal_contributions, team_members
from service.adapters.postgres.leagues.tables import (
    league_members,
    league_placements,
    league_results,
)
from service.adapters.postgres.rules.tables import (
    badge_states,
    rule_counters,
    rule_events,
    rule_profiles,
    task_completions,
    task_states,
)
from service.adapters.postgres.social.tables import duel_sides, task_assists
from service.adapters.postgres.tables import check_ins, grant_outbox, streaks
from service.app.boards.ports import BoardKey
from service.app.privacy.ports import Erasure, Row, UserData
from service.domain.grant_delivery import GrantStatus

# Every table holding rows of one user, and the column naming the user. The tests check that
# every table with a user_id or member_id column is listed here.
USER_TABLES: tuple[tuple[sa.Table, str], ...] = (
    (streaks, "user_id"),
    (check_ins, "user_id"),
    (rule_profiles, "user_id"),
    (task_states, "user_id"),
    (task_completions, "user_id"),
    (badge_states, "user_id"),
    (rule_counters, "user_id"),
    (rule_events, "user_id"),
    (grant_outbox, "user_id"),
    (board_members, "member_id"),
    (board_scores, "member_id"),
    (score_ledger, "member_id"),
    (board_standings, "member_id"),
    (board_repairs, "member_id"),
    (board_exclusions, "member_id"),
    (goal_contributions, "user_id"),
    (team_members, "user_id"),
    (duel_sides, "user_id"),
    # Assists name the user helped and the friend who helped: either's erasure takes them.
    (task_assists, "user_id"),
    (task_assists, "helper_id"),
    (league_members, "user_id"),
    (league_placements, "user_id"),
    (league_results, "user_id"),
)
# Kept rather than deleted: grants (pseudonymised, see erase) and the repairs that finish the
# erasure in Redis.
_KEPT = {grant_outbox.name, board_repairs.name}
# Audit targets that are users: their ids are replaced by the pseudonym.
USER_TARGET_KINDS = ("user", "member")
_KEY = ("board_id", "partition", "period_id", "rookie")
_UNDELIVERED = (str(GrantStatus.PENDING), str(GrantStatus.DEAD))
_a = audit_entries.c


def _audit_of(user_id: str) -> sa.ColumnElement[bool]:
    return sa.or_(
        _a.actor == user_id,
        sa.and_(_a.target_kind.in_(USER_TARGET_KINDS), _a.target_id == user_id),
    )


class PostgresPrivacy:
    """Reads and erases a user's rows on the unit of work's connection."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def export(self, user_id: str) -> UserData:
        tables: dict[str, Sequence[Row]] = {}
        for table, column in (*USER_TABLES, (audit_entries, "")):
            where = _audit_of(user_id) if table is audit_entries else table.c[column] == user_id
            stmt = sa.select(table).where(where).order_by(*table.primary_key.columns)
            rows: list[Row] = [dict(row) for row in (await self._conn.execute(stmt)).mappings()]
            if rows:  # a table listed for two columns gives the rows of both
                tables[table.name] = [*tables.get(table.name, ()), *rows]
        return UserData(user_id, tables)

    async def erase(self, user_id: str, pseudonym: str, cancel_note: str) -> Erasure:
        # Check-ins and events hold these row locks until they commit: waiting for them here
        # means what they write is seen, and erased, below.
        for table in (streaks, rule_profiles):
            lock = sa.select(table.c.user_id).where(table.c.user_id == user_id).with_for_update()
            await self._conn.execute(lock)
        keys = await self._board_keys(user_id)
        await self._queue_removals(user_id)
        cancelled, kept = await self._pseudonymise_grants(user_id, pseudonym, cancel_note)
        deleted: dict[str, int] = {}
        for table, column in USER_TABLES:
            if table.name not in _KEPT:
                result = await self._conn.execute(
                    sa.delete(table).where(table.c[column] == user_id)
                )
                deleted[table.name] = result.rowcount
        audited = await self._pseudonymise_audit(user_id, pseudonym)
        return Erasure(pseudonym, deleted, cancelled, kept, audited, keys)

    async def forget_repairs(self, member_id: str) -> None:
        await self._conn.execute(
            sa.delete(board_repairs).where(board_repairs.c.member_id == member_id)
        )

    async def _board_keys(self, user_id: str) -> tuple[BoardKey, ...]:
        """Board-periods the user has a score on, or a Redis removal still queued for."""
        scored = sa.select(*(board_scores.c[n] for n in _KEY)).where(
            board_scores.c.member_id == user_id
        )
        queued = sa.select(*(board_repairs.c[n] for n in _KEY)).where(
            board_repairs.c.member_id == user_id
        )
        rows = await self._conn.execute(sa.union(scored, queued))
        return tuple(BoardKey(r.board_id, r.partition, r.period_id, r.rookie) for r in rows)

    async def _queue_removals(self, user_id: str) -> None:
        """Should the Redis step after commit fail, the repair pass removes the user there."""
        source = sa.select(*(board_scores.c[n] for n in _KEY), board_scores.c.member_id).where(
            board_scores.c.member_id == user_id
        )
        stmt = insert(board_repairs).from_select([*_KEY, "member_id"], source)
        await self._conn.execute(stmt.on_conflict_do_nothing())

    async def _pseudonymise_grants(
        self, user_id: str, pseudonym: str, note: str
    ) -> tuple[int, int]:
        """Cancel undelivered grants; keep every grant row under the pseudonym, whose ids
        (they spell the user id) become the pseudonym and the row id."""
        t = grant_outbox.c
        undelivered = t.status.in_(_UNDELIVERED)
        stmt = (
            sa.update(grant_outbox)
            .where(t.user_id == user_id)
            .values(
                status=sa.case((undelivered, str(GrantStatus.CANCELLED)), else_=t.status),
                last_error=sa.case((undelivered, note), else_=t.last_error),
                lease_owner=sa.case((undelivered, None), else_=t.lease_owner),
                user_id=pseudonym,
                idempotency_key=sa.literal(pseudonym + ":") + sa.cast(t.id, sa.Text),
                cause_ref=pseudonym,
                # The check-in behind the grant goes with the user's check-ins.
                cause_check_in=None,
            )
            .returning(t.status)
        )
        statuses = list((await self._conn.execute(stmt)).scalars())
        cancelled = statuses.count(str(GrantStatus.CANCELLED))
        return cancelled, len(statuses) - cancelled

    async def _pseudonymise_audit(self, user_id: str, pseudonym: str) -> int:
        changed: set[Any] = set()
        for stmt in (
            sa.update(audit_entries).where(_a.actor == user_id).values(actor=pseudonym),
            sa.update(audit_entries)
            .where(_a.target_kind.in_(USER_TARGET_KINDS), _a.target_id == user_id)
            .values(target_id=pseudonym),
        ):
            changed.update((await self._conn.execute(stmt.returning(_a.id))).scalars())
        return len(changed)
