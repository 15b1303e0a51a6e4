"""Grow the seeded population in Postgres: copies of the users seeded through the API, and a
board of a million members.

Calls through the API would take a quarter of an hour for 100,000 users; copying the rows that
the real code paths wrote for the template users takes seconds and keeps every row one that the
service itself could have written. The copies of template user `seed-i` are
`seed-(i + k * templates)`.
"""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from service.adapters.postgres import tables
from service.adapters.postgres.boards import tables as board_tables
from service.adapters.postgres.rules import tables as rule_tables
from service.settings import DatabaseSettings

# Every table holding one user's state, keyed by `user_id`. Events, grants and their
# idempotency records are history, not state, and are not copied.
USER_TABLES = (
    tables.streaks,
    tables.check_ins,
    rule_tables.rule_profiles,
    rule_tables.task_states,
    rule_tables.task_completions,
    rule_tables.badge_states,
    rule_tables.rule_counters,
)
_SEED = "seed-"


def _copy_users(table: sa.Table) -> sa.TextClause:
    """Insert the copies of every template user's rows of `table`."""
    names = [column.name for column in table.columns]
    index = f"substr(t.user_id, {len(_SEED) + 1})::int"
    values = [
        f"'{_SEED}' || ({index} + k * :templates)" if name == "user_id" else f"t.{name}"
        for name in names
    ]
    return sa.text(
        f"insert into {table.name} ({', '.join(names)}) "
        f"select {', '.join(values)} from {table.name} t "
        "cross join generate_series(1, :copies) k "
        f"where t.user_id like '{_SEED}%' and {index} < :templates "
        f"and {index} + k * :templates < :users"
    )


# The board's other members, `seed-<templates>` onwards, beside the template users' own rows.
_FILL_MEMBERS = sa.text(
    f"insert into {board_tables.board_members.name} (board_id, member_id, first_seen_at) "
    f"select :board, '{_SEED}' || g, now() "
    "from generate_series(cast(:first as int), cast(:last as int)) g on conflict do nothing"
)
# Members `<prefix><first>`..`<prefix><last>` of one board-period, with scores spread over
# 0..999,999 and reached times over the day from :start_ms.
FILL_SCORES = sa.text(
    f"insert into {board_tables.board_scores.name} "
    "(board_id, partition, period_id, rookie, member_id, score, reached_at_ms, revision) "
    "select :board, :partition, :period, false, :prefix || g, (g::bigint * 7919) % 1000000, "
    ":start_ms + (g::bigint * 86413) % 86400000, nextval('board_score_revisions') "
    "from generate_series(cast(:first as int), cast(:last as int)) g"
)
_BOARD_PERIOD = sa.text(
    "select partition, period_id from board_scores where board_id = :board and not rookie limit 1"
)


async def populate(
    database_url: str, *, templates: int, users: int, board: str, members: int
) -> None:
    """Copy the `templates` users up to `users` users; fill `board` up to `members` members."""
    url = DatabaseSettings(database_url=database_url).database_url
    engine = create_async_engine(url, pool_size=len(USER_TABLES) + 2)
    copy: dict[str, object] = {
        "templates": templates,
        "users": users,
        "copies": -(-users // templates) - 1,
    }
    statements: list[tuple[sa.TextClause, dict[str, object]]] = [
        (_copy_users(table), copy) for table in USER_TABLES
    ]
    async with engine.connect() as conn:  # the period the template users scored in
        partition, period = (await conn.execute(_BOARD_PERIOD, {"board": board})).one()
    fill: dict[str, object] = {
        "board": board, "partition": partition, "period": period, "prefix": _SEED,
        "first": templates, "last": members - 1,
        "start_ms": int((time.time() - 86_400) * 1000),
    }  # fmt: skip
    statements += [(_FILL_MEMBERS, fill), (FILL_SCORES, fill)]

    async def run(statement: sa.TextClause, values: dict[str, object]) -> None:
        async with engine.begin() as conn:
            await conn.execute(statement, values)

    async def vacuum(table: sa.Table) -> None:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(sa.text(f"vacuum (analyze) {table.name}"))

    try:
        # Independent inserts, so side by side: Postgres spreads them over its cores.
        await asyncio.gather(*(run(statement, values) for statement, values in statements))
        # What autovacuum would have done by the time a real population is this large: hint
        # bits, the visibility map and statistics. Without it the first read of every row
        # writes its page, and the runs would measure that.
        filled = (*USER_TABLES, board_tables.board_members, board_tables.board_scores)
        await asyncio.gather(*(vacuum(table) for table in filled))
    finally:
        await engine.dispose()
