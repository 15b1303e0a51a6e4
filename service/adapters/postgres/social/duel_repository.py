"""Postgres implementation of duels: types, duels and the sides that hold players and scores."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from service.adapters.postgres import documents
from service.adapters.postgres.driver import Driver, Row
from service.domain.duels import Duel, DuelState, DuelType, ScoringSide

_GET_TYPE = "select version, config from duel_types where type_id = $1"
_LIST_TYPES = "select version, config from duel_types order by type_id"
_PUT_TYPE = """
    insert into duel_types (type_id, version, config, updated_at) values ($1, 1, $2::jsonb, $3)
    on conflict (type_id) do update set version = duel_types.version + 1,
        config = excluded.config, updated_at = excluded.updated_at
    returning version
"""
_HOLD = "select pg_advisory_xact_lock(hashtextextended('duel-user:' || $1, 0))"
# The duel with both sides; a side whose user was erased reads as "".
_DUEL = """
    select d.duel_id, d.terms, d.state, d.created_at, d.respond_by, d.started_at, d.ends_at,
        d.winner_side, d.settled_at,
        coalesce(c.user_id, '') as challenger_id, coalesce(c.score, 0) as challenger_score,
        coalesce(o.user_id, '') as opponent_id, coalesce(o.score, 0) as opponent_score
    from duels d
    left join duel_sides c on c.duel_id = d.duel_id and c.side = 'challenger'
    left join duel_sides o on o.duel_id = d.duel_id and o.side = 'opponent'
"""
_FIND_REQUEST = (
    _DUEL
    + """
    where d.duel_id = (select duel_id from duel_sides where user_id = $1 and request_key = $2)
"""
)
_OPEN = """
    select count(*) as n from duel_sides s join duels d on d.duel_id = s.duel_id
    where s.user_id = $1 and d.type_id = $2
    and (d.state = 'active' or (d.state = 'pending' and s.side = 'challenger'))
"""
_ADD = """
    insert into duels (type_id, terms, event_types, state, created_at, respond_by)
    values ($1, $2::jsonb, $3, $4, $5, $6) returning duel_id
"""
_ADD_SIDES = """
    insert into duel_sides (duel_id, user_id, side, request_key)
    values ($1, $2, 'challenger', $4), ($1, $3, 'opponent', null)
"""
_GET = _DUEL + " where d.duel_id = $1"
_SAVE = """
    update duels set state = s.state, started_at = s.started_at, ends_at = s.ends_at,
        winner_side = s.winner_side, settled_at = s.settled_at
    from unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::text[],
        $6::timestamptz[]) as s(duel_id, state, started_at, ends_at, winner_side, settled_at)
    where duels.duel_id = s.duel_id
"""
_OF_USER = (
    _DUEL
    + """
    where d.duel_id in (
        select duel_id from duel_sides where user_id = $1 and ($3::bigint is null or duel_id < $3)
    ) and (cardinality($2::text[]) = 0 or d.state = any($2::text[]))
    order by d.duel_id desc limit $4
"""
)
_SCORING = """
    select d.duel_id, s.user_id, d.terms, d.started_at, d.ends_at
    from duels d join duel_sides s on s.duel_id = d.duel_id
    where d.state = 'active' and s.user_id = any($1::text[]) and d.event_types && $2::varchar[]
    order by d.duel_id
    for share of d
"""
_ADD_SCORES = """
    update duel_sides set score = least(score + s.step, 9007199254740992)
    from unnest($1::bigint[], $2::text[], $3::bigint[]) as s(duel_id, user_id, step)
    where duel_sides.duel_id = s.duel_id and duel_sides.user_id = s.user_id
"""
_DUE = {
    DuelState.PENDING: "respond_by",
    DuelState.ACTIVE: "ends_at",
}


def terms_to_json(duel_type: DuelType) -> str:
    return documents.to_json(duel_type)


def _terms(doc: Any, version: int | None = None) -> DuelType:
    terms: DuelType = documents.from_document(DuelType, doc)
    return terms if version is None else replace(terms, version=version)


def _duel(row: Row) -> Duel:
    side = row["winner_side"]
    winner = row["challenger_id"] if side == "challenger" else (
        row["opponent_id"] if side == "opponent" else ""
    )  # fmt: skip
    return Duel(
        row["duel_id"], _terms(row["terms"]), row["challenger_id"], row["opponent_id"],
        DuelState(row["state"]), row["created_at"], row["respond_by"], row["started_at"],
        row["ends_at"], row["challenger_score"], row["opponent_score"], winner, row["settled_at"],
    )  # fmt: skip


def _winner_side(duel: Duel) -> str:
    return duel.side_of(duel.winner_id) if duel.winner_id else ""


class PostgresDuels:
    """Duels on the unit of work's asyncpg connection."""

    def __init__(self, driver: Driver) -> None:
        self._driver = driver

    async def get_type(self, type_id: str) -> DuelType | None:
        row = await self._driver.fetchrow(_GET_TYPE, type_id)
        return _terms(row["config"], row["version"]) if row else None

    async def list_types(self) -> list[DuelType]:
        rows = await self._driver.fetch(_LIST_TYPES)
        return [_terms(row["config"], row["version"]) for row in rows]

    async def put_type(self, duel_type: DuelType, at: dt.datetime) -> DuelType:
        doc = terms_to_json(replace(duel_type, version=0))
        row = await self._driver.fetchrow(_PUT_TYPE, duel_type.type_id, doc, at)
        assert row is not None
        return replace(duel_type, version=row["version"])

    async def hold_user(self, user_id: str) -> None:
        await self._driver.execute(_HOLD, user_id)

    async def find_request(self, challenger_id: str, request_key: str) -> Duel | None:
        row = await self._driver.fetchrow(_FIND_REQUEST, challenger_id, request_key)
        return _duel(row) if row else None

    async def open_count(self, user_id: str, type_id: str) -> int:
        row = await self._driver.fetchrow(_OPEN, user_id, type_id)
        assert row is not None
        return int(row["n"])

    async def add(self, duel: Duel, request_key: str) -> Duel:
        terms = duel.terms
        row = await self._driver.fetchrow(
            _ADD, terms.type_id, terms_to_json(terms), list(terms.event_types), str(duel.state),
            duel.created_at, duel.respond_by,
        )  # fmt: skip
        assert row is not None
        duel_id = row["duel_id"]
        await self._driver.execute(
            _ADD_SIDES, duel_id, duel.challenger_id, duel.opponent_id, request_key
        )
        return replace(duel, duel_id=duel_id)

    async def get(self, duel_id: int, *, lock: bool = False) -> Duel | None:
        row = await self._driver.fetchrow(_GET + (" for update of d" if lock else ""), duel_id)
        return _duel(row) if row else None

    async def save(self, duels: Sequence[Duel]) -> None:
        if not duels:
            return
        await self._driver.execute(
            _SAVE, [d.duel_id for d in duels], [str(d.state) for d in duels],
            [d.started_at for d in duels], [d.ends_at for d in duels],
            [_winner_side(d) for d in duels], [d.settled_at for d in duels],
        )  # fmt: skip

    async def of_user(
        self, user_id: str, states: Sequence[DuelState], before_id: int | None, limit: int
    ) -> list[Duel]:
        rows = await self._driver.fetch(
            _OF_USER, user_id, [str(s) for s in states], before_id, limit
        )
        return [_duel(row) for row in rows]

    async def scoring_sides(
        self, user_ids: Sequence[str], event_types: Sequence[str]
    ) -> list[ScoringSide]:
        rows = await self._driver.fetch(_SCORING, sorted(set(user_ids)), sorted(set(event_types)))
        sides = []
        for row in rows:
            terms = _terms(row["terms"])
            sides.append(
                ScoringSide(
                    row["duel_id"], row["user_id"], terms.event_types, terms.measure,
                    row["started_at"], row["ends_at"],
                )
            )  # fmt: skip
        return sides

    async def add_scores(self, steps: Mapping[tuple[int, str], int]) -> None:
        if not steps:
            return
        keys = sorted(steps)
        await self._driver.execute(
            _ADD_SCORES, [k[0] for k in keys], [k[1] for k in keys], [steps[k] for k in keys]
        )

    async def claim_due(self, state: DuelState, before: dt.datetime, limit: int) -> list[Duel]:
        column = _DUE[state]
        query = _DUEL + (
            f" where d.state = $1 and d.{column} <= $2 order by d.{column}, d.duel_id"
            " limit $3 for update of d skip locked"
        )
        rows = await self._driver.fetch(query, str(state), before, limit)
        return [_duel(row) for row in rows]
