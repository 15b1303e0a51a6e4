"""Translations between leaderboard protos and board definitions, references and entries."""

from __future__ import annotations

from collections.abc import Iterable

import leaderboard as lb
from service.app.boards.mapping import BoardRef
from service.domain.boards import (
    Aggregation,
    BoardDefinition,
    PeriodKind,
    RankReward,
    SortOrder,
    TiePolicy,
)
from service.entrypoints.grpc_api.convert import (
    instant_from_pb,
    instant_to_pb,
    reward_to_pb,
    rewards_from_pb,
)
from service.entrypoints.grpc_api.enums import EnumTable
from service.gen.engagement.v1 import leaderboard_pb2 as pb
from service.protobuf_time import timestamp

_SORT = EnumTable(
    {
        SortOrder.HIGHER_IS_BETTER: pb.SORT_ORDER_HIGHER_IS_BETTER,
        SortOrder.LOWER_IS_BETTER: pb.SORT_ORDER_LOWER_IS_BETTER,
    }
)
_AGGREGATION = EnumTable(
    {
        Aggregation.SUM: pb.AGGREGATION_SUM,
        Aggregation.MAX: pb.AGGREGATION_MAX,
        Aggregation.MIN: pb.AGGREGATION_MIN,
        Aggregation.LAST: pb.AGGREGATION_LAST,
    }
)
_TIES = EnumTable(
    {
        TiePolicy.FIRST_TO_REACH: pb.TIE_POLICY_FIRST_TO_REACH,
        TiePolicy.DENSE: pb.TIE_POLICY_DENSE,
        TiePolicy.COMPETITION: pb.TIE_POLICY_COMPETITION,
    }
)
_PERIODS = EnumTable(
    {
        PeriodKind.ALL_TIME: pb.PERIOD_KIND_ALL_TIME,
        PeriodKind.DAILY: pb.PERIOD_KIND_DAILY,
        PeriodKind.WEEKLY: pb.PERIOD_KIND_WEEKLY,
        PeriodKind.MONTHLY: pb.PERIOD_KIND_MONTHLY,
        PeriodKind.SEASON: pb.PERIOD_KIND_SEASON,
    }
)


def board_from_pb(message: pb.Board) -> BoardDefinition:
    period = message.period
    return BoardDefinition(
        board_id=message.board_id,
        title=message.title,
        sort_order=_SORT.from_pb(message.sort_order, "board.sort_order"),
        aggregation=_AGGREGATION.from_pb(message.aggregation, "board.aggregation"),
        tie_policy=_TIES.from_pb(message.tie_policy, "board.tie_policy"),
        period=_PERIODS.from_pb(period.kind, "board.period.kind"),
        timezone=message.timezone or "UTC",
        week_start=period.week_start or 1,
        season_start=instant_from_pb(period, "season_start", "board.period.season_start"),
        season_end=instant_from_pb(period, "season_end", "board.period.season_end"),
        retention_periods=message.retention_periods,
        source_event_types=tuple(message.source_event_types),
        rookie_days=message.rookie_days,
        partition_attribute=message.partition_attribute,
        rewards=tuple(
            RankReward(t.first_rank, t.last_rank, rewards_from_pb(t.rewards, f"board.rewards[{i}]"))
            for i, t in enumerate(message.rewards)
        ),
        finalize_grace_seconds=message.finalize_grace_seconds,
    )


def board_to_pb(board: BoardDefinition) -> pb.Board:
    period = pb.Period(kind=_PERIODS.to_pb(board.period), week_start=board.week_start)
    if board.season_start and board.season_end:
        period.season_start.CopyFrom(timestamp(board.season_start))
        period.season_end.CopyFrom(timestamp(board.season_end))
    return pb.Board(
        board_id=board.board_id,
        title=board.title,
        sort_order=_SORT.to_pb(board.sort_order),
        aggregation=_AGGREGATION.to_pb(board.aggregation),
        tie_policy=_TIES.to_pb(board.tie_policy),
        period=period,
        timezone=board.timezone,
        retention_periods=board.retention_periods,
        source_event_types=board.source_event_types,
        rookie_days=board.rookie_days,
        partition_attribute=board.partition_attribute,
        rewards=[
            pb.RankReward(
                first_rank=t.first_rank,
                last_rank=t.last_rank,
                rewards=[reward_to_pb(r) for r in t.rewards],
            )
            for t in board.rewards
        ],
        finalize_grace_seconds=board.finalize_grace_seconds,
        version=board.version,
        created_at=timestamp(board.created_at) if board.created_at else None,
    )


def ref_from_pb(message: pb.BoardRef) -> BoardRef:
    return BoardRef(message.board_id, message.partition, message.rookie, message.period_id)


def entry_to_pb(entry: lb.Entry) -> pb.Entry:
    meta = entry.metadata
    if meta is None:  # the common case on a read of 100 entries: build nothing more
        return pb.Entry(member_id=entry.member_id, score=entry.score, rank=entry.rank)
    return pb.Entry(
        member_id=entry.member_id,
        score=entry.score,
        rank=entry.rank,
        display_name=meta.display_name or "",
        avatar_url=meta.avatar_url or "",
    )


def entries_to_pb(entries: Iterable[lb.Entry]) -> list[pb.Entry]:
    return [entry_to_pb(entry) for entry in entries]


def period_to_pb(period: lb.Period, final: bool, current: bool) -> pb.BoardPeriod:
    return pb.BoardPeriod(
        period_id=period.period_id,
        start=instant_to_pb(period.start),
        end=instant_to_pb(period.end),
        final=final,
        current=current,
    )
