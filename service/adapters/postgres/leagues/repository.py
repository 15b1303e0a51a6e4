"""Postgres implementation of the league port: definitions, tiers, cohorts and seasons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from service.adapters.postgres.leagues import codec as league_codec
from service.adapters.postgres.leagues.tables import (
    league_cohorts,
    league_definitions,
    league_members,
    league_placements,
    league_results,
    league_seasons,
)
from service.app.leagues.ports import Member, PastSeason, Placement, SeasonKey
from service.domain.leagues import LeagueDefinition, Outcome, Result

_d = league_definitions.c
_m = league_members.c
_c = league_cohorts.c
_p = league_placements.c
_r = league_results.c
_s = league_seasons.c
_NEWER = sa.alias(league_definitions, "newer")
_LATEST = sa.select(league_definitions).where(
    ~sa.exists().where(_NEWER.c.league_id == _d.league_id, _NEWER.c.version > _d.version)
)


def cohort_name(tier_id: str, number: int) -> str:
    """The cohort's partition of the league's board: tier and number, e.g. "gold-3"."""
    return f"{tier_id}-{number}"


class PostgresLeagues:
    """League state on the unit of work's connection."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def _lock(self, name: str) -> None:
        await self._conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(name))))

    async def all_current(self) -> list[LeagueDefinition]:
        rows = (await self._conn.execute(_LATEST)).mappings()
        return [league_codec.league_from_row(row) for row in rows]

    async def get(self, league_id: str) -> LeagueDefinition | None:
        row = (await self._conn.execute(_LATEST.where(_d.league_id == league_id))).mappings()
        found = row.one_or_none()
        return league_codec.league_from_row(found) if found else None

    async def add(self, league: LeagueDefinition) -> LeagueDefinition:
        # Versions of one league are serialised; the insert's snapshot sees the previous one.
        await self._lock(f"league:{league.league_id}")
        version = sa.select(sa.func.coalesce(sa.func.max(_d.version), 0) + 1).where(
            _d.league_id == league.league_id
        )
        stmt = (
            sa.insert(league_definitions)
            .values(
                league_id=league.league_id,
                version=version.scalar_subquery(),
                config=league_codec.league_to_json(league),
            )
            .returning(*league_definitions.c)
        )
        row = (await self._conn.execute(stmt)).mappings().one()
        return league_codec.league_from_row(row)

    async def members(self, league_id: str, user_ids: Iterable[str]) -> dict[str, Member]:
        stmt = sa.select(_m.user_id, _m.tier_id, _m.joined_at).where(
            _m.league_id == league_id, _m.user_id.in_(list(user_ids))
        )
        rows = await self._conn.execute(stmt)
        return {r.user_id: Member(r.tier_id, r.joined_at) for r in rows}

    async def placements(
        self, league_id: str, period_id: str, user_ids: Iterable[str]
    ) -> dict[str, Placement]:
        stmt = sa.select(_p.user_id, _p.tier_id, _p.cohort).where(
            _p.league_id == league_id, _p.period_id == period_id, _p.user_id.in_(list(user_ids))
        )
        return {r.user_id: Placement(r.tier_id, r.cohort) for r in await self._conn.execute(stmt)}

    async def lock_forming(self, league_id: str, period_id: str) -> None:
        await self._lock(f"league-forming:{league_id}:{period_id}")

    async def place(
        self, season: SeasonKey, user_id: str, tier_id: str, size: int, at: dt.datetime
    ) -> str:
        where = (
            _c.league_id == season.league_id,
            _c.period_id == season.period_id,
            _c.tier_id == tier_id,
        )
        newest = sa.select(_c.cohort_no, _c.members).where(*where).order_by(_c.cohort_no.desc())
        row = (await self._conn.execute(newest.limit(1))).one_or_none()
        if row is not None and row.members < size:
            number = row.cohort_no
            await self._conn.execute(
                sa.update(league_cohorts)
                .where(*where, _c.cohort_no == number)
                .values(members=_c.members + 1)
            )
        else:
            number = row.cohort_no + 1 if row is not None else 1
            await self._conn.execute(
                sa.insert(league_cohorts).values(
                    league_id=season.league_id,
                    period_id=season.period_id,
                    tier_id=tier_id,
                    cohort_no=number,
                    members=1,
                )
            )
        cohort = cohort_name(tier_id, number)
        await self._conn.execute(
            sa.insert(league_placements).values(
                league_id=season.league_id,
                period_id=season.period_id,
                user_id=user_id,
                tier_id=tier_id,
                cohort=cohort,
                placed_at=at,
            )
        )
        member = insert(league_members).values(
            league_id=season.league_id, user_id=user_id, tier_id=tier_id, joined_at=at
        )
        await self._conn.execute(member.on_conflict_do_nothing())
        return cohort

    async def cohorts(self, league_id: str, period_id: str) -> list[tuple[str, str]]:
        stmt = (
            sa.select(_c.tier_id, _c.cohort_no)
            .where(_c.league_id == league_id, _c.period_id == period_id)
            .order_by(_c.tier_id, _c.cohort_no)
        )
        rows = await self._conn.execute(stmt)
        return [(r.tier_id, cohort_name(r.tier_id, r.cohort_no)) for r in rows]

    async def season_placements(self, league_id: str, period_id: str) -> dict[str, Placement]:
        stmt = sa.select(_p.user_id, _p.tier_id, _p.cohort).where(
            _p.league_id == league_id, _p.period_id == period_id
        )
        return {r.user_id: Placement(r.tier_id, r.cohort) for r in await self._conn.execute(stmt)}

    async def idle_members(
        self, league_id: str, period_id: str, joined_before: dt.datetime
    ) -> dict[str, str]:
        placed = sa.exists().where(
            _p.league_id == league_id, _p.period_id == period_id, _p.user_id == _m.user_id
        )
        stmt = sa.select(_m.user_id, _m.tier_id).where(
            _m.league_id == league_id, _m.joined_at < joined_before, ~placed
        )
        return {r.user_id: r.tier_id for r in await self._conn.execute(stmt)}

    async def any_member_before(self, league_id: str, instant: dt.datetime) -> bool:
        stmt = sa.select(sa.exists().where(_m.league_id == league_id, _m.joined_at < instant))
        return bool((await self._conn.execute(stmt)).scalar())

    async def lock_season(self, league_id: str, period_id: str) -> None:
        await self._lock(f"league-season:{league_id}:{period_id}")

    async def ended(self, league_id: str, period_id: str) -> bool:
        stmt = sa.select(sa.exists().where(_s.league_id == league_id, _s.period_id == period_id))
        return bool((await self._conn.execute(stmt)).scalar())

    async def end(
        self, season: SeasonKey, results: Sequence[Result], grants: int, at: dt.datetime
    ) -> None:
        if results:
            rows = [_result_row(season, r) for r in results]
            await self._conn.execute(sa.insert(league_results), rows)
        await self.set_tiers(season.league_id, {r.user_id: r.next_tier_id for r in results})
        await self._conn.execute(
            sa.insert(league_seasons).values(
                league_id=season.league_id,
                period_id=season.period_id,
                period_start=season.period_start,
                members=len(results),
                grants=grants,
                ended_at=at,
            )
        )

    async def set_tiers(self, league_id: str, tiers: Mapping[str, str]) -> None:
        if not tiers:
            return
        stmt = (
            sa.update(league_members)
            .where(_m.league_id == league_id, _m.user_id == sa.bindparam("uid"))
            .values(tier_id=sa.bindparam("tier"))
        )
        rows = [{"uid": user, "tier": tier} for user, tier in sorted(tiers.items())]
        await self._conn.execute(stmt, rows)

    async def history(
        self, league_id: str, user_id: str, below: dt.datetime | None, limit: int
    ) -> list[PastSeason]:
        stmt = sa.select(league_results).where(_r.league_id == league_id, _r.user_id == user_id)
        if below is not None:
            stmt = stmt.where(_r.period_start < below)
        stmt = stmt.order_by(_r.period_start.desc()).limit(limit)
        rows = (await self._conn.execute(stmt)).mappings()
        return [PastSeason(r["period_id"], r["period_start"], _result_of(r)) for r in rows]


def _result_row(season: SeasonKey, result: Result) -> dict[str, object]:
    return {
        "league_id": season.league_id, "period_id": season.period_id,
        "user_id": result.user_id, "period_start": season.period_start,
        "tier_id": result.tier_id, "cohort": result.cohort, "rank": result.rank,
        "score": result.score, "outcome": str(result.outcome),
        "next_tier_id": result.next_tier_id,
        "rewards": league_codec.rewards_to_json(result.rewards),
    }  # fmt: skip


def _result_of(row: Mapping[Any, Any]) -> Result:
    return Result(
        row["user_id"],
        row["tier_id"],
        row["cohort"],
        row["rank"],
        row["score"],
        Outcome(row["outcome"]),
        row["next_tier_id"],
        league_codec.rewards_from_json(row["rewards"]),
    )
