"""Translations between the social protos (duels, assists) and the domain, both ways."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from service.app.social.assists import Assisted
from service.domain.duels import MAX_WINDOW, Duel, DuelState, DuelType
from service.domain.errors import InvalidArgument
from service.domain.rules.definitions import Measure
from service.entrypoints.grpc_api.convert import (
    grant_to_pb,
    instant_to_pb,
    reward_to_pb,
    rewards_from_pb,
)
from service.entrypoints.grpc_api.enums import EnumTable
from service.gen.engagement.v1 import definitions_pb2 as defs_pb
from service.gen.engagement.v1 import social_pb2 as pb

STATES = EnumTable({
    DuelState.PENDING: pb.DUEL_STATE_PENDING, DuelState.ACTIVE: pb.DUEL_STATE_ACTIVE,
    DuelState.DECLINED: pb.DUEL_STATE_DECLINED, DuelState.EXPIRED: pb.DUEL_STATE_EXPIRED,
    DuelState.SETTLED: pb.DUEL_STATE_SETTLED, DuelState.CANCELLED: pb.DUEL_STATE_CANCELLED,
})  # fmt: skip
_MEASURES = EnumTable({Measure.COUNT: defs_pb.MEASURE_COUNT, Measure.SUM: defs_pb.MEASURE_SUM})
DEFAULT_OPEN = DuelType("", "", (), Measure.COUNT, MAX_WINDOW, MAX_WINDOW).max_open_per_user


def _span(seconds: int, field: str) -> dt.timedelta:
    # Range checks are the domain's; this one only keeps the value a timedelta can hold.
    if not 0 < seconds <= int(MAX_WINDOW.total_seconds()) * 10:
        raise InvalidArgument(field, "must be a positive number of seconds, within 900 days")
    return dt.timedelta(seconds=seconds)


def duel_type_from_pb(m: pb.DuelType) -> DuelType:
    return DuelType(
        type_id=m.type_id,
        title=m.title,
        description=m.description,
        event_types=tuple(m.event_types),
        measure=_MEASURES.from_pb(m.measure, "duel_type.measure", Measure.COUNT),
        window=_span(m.window_seconds, "duel_type.window_seconds"),
        respond_within=_span(m.respond_within_seconds, "duel_type.respond_within_seconds"),
        winner_rewards=rewards_from_pb(m.winner_rewards, "duel_type.winner_rewards"),
        participation_rewards=rewards_from_pb(
            m.participation_rewards, "duel_type.participation_rewards"
        ),
        draw_rewards=rewards_from_pb(m.draw_rewards, "duel_type.draw_rewards"),
        max_open_per_user=m.max_open_per_user or DEFAULT_OPEN,
        archived=m.archived,
    )


def duel_type_to_pb(t: DuelType) -> pb.DuelType:
    return pb.DuelType(
        type_id=t.type_id, title=t.title, description=t.description,
        event_types=t.event_types, measure=_MEASURES.to_pb(t.measure),
        window_seconds=int(t.window.total_seconds()),
        respond_within_seconds=int(t.respond_within.total_seconds()),
        winner_rewards=[reward_to_pb(r) for r in t.winner_rewards],
        participation_rewards=[reward_to_pb(r) for r in t.participation_rewards],
        draw_rewards=[reward_to_pb(r) for r in t.draw_rewards],
        max_open_per_user=t.max_open_per_user, archived=t.archived, version=t.version,
    )  # fmt: skip


def duel_to_pb(d: Duel) -> pb.Duel:
    return pb.Duel(
        duel_id=d.duel_id, type_id=d.terms.type_id, title=d.terms.title,
        challenger_id=d.challenger_id, opponent_id=d.opponent_id, state=STATES.to_pb(d.state),
        created_at=instant_to_pb(d.created_at), respond_by=instant_to_pb(d.respond_by),
        started_at=instant_to_pb(d.started_at), ends_at=instant_to_pb(d.ends_at),
        challenger_score=d.challenger_score, opponent_score=d.opponent_score,
        winner_id=d.winner_id, settled_at=instant_to_pb(d.settled_at),
    )  # fmt: skip


def states_from_pb(values: Iterable[int]) -> list[DuelState]:
    return [STATES.from_pb(v, f"states[{i}]") for i, v in enumerate(values)]  # type: ignore[arg-type]


def assisted_to_pb(done: Assisted) -> pb.AssistTaskResponse:
    r = done.record
    return pb.AssistTaskResponse(
        assist_id=r.assist_id, progress_added=r.progress, progress=r.progress_after,
        target=r.target, tiers_reached=r.tiers_reached,
        grants=[grant_to_pb(g) for g in done.grants], duplicate=done.duplicate,
    )  # fmt: skip
