"""Stored JSON documents: written and read one way for every kind, and older ones still read."""

from __future__ import annotations

import datetime as dt

from service.adapters.postgres import codec
from service.adapters.postgres.boards import codec as board_codec
from service.domain.boards import Aggregation, BoardDefinition, PeriodKind, SortOrder, TiePolicy
from service.domain.rewards import Reward, RewardKind

CREATED = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
# As stored before every kind went through one codec: rewards without valid_days.
STORED_BOARD = {
    "title": "Weekly", "sort_order": "higher_is_better", "aggregation": "sum",
    "tie_policy": "first_to_reach", "period": "weekly", "timezone": "Europe/Berlin",
    "week_start": 1, "season_start": None, "season_end": None, "retention_periods": 2,
    "source_event_types": ["order.paid"], "rookie_days": 0, "partition_attribute": "",
    "rewards": [{"first_rank": 1, "last_rank": 3,
                 "rewards": [{"kind": "points", "amount": 100, "item_code": ""}]}],
    "finalize_grace_seconds": 60,
}  # fmt: skip
STORED_PROGRAM = {
    "cycle": [[{"kind": "points", "amount": 10, "item_code": ""}]],
    "cycle_restarts_on_break": True,
    "milestones": [{"days": 7, "rewards": [{"kind": "coupon", "amount": 1, "item_code": "c7"}]}],
    "starting_freezes": 1, "freeze_earned_every_days": 7, "max_freezes": 3,
    "make_up_window_days": 3, "make_up_tickets_per_month": 2,
}  # fmt: skip


def test_a_board_stored_before_reads_the_same_and_writes_back_its_fields() -> None:
    row = {"board_id": "weekly", "version": 3, "created_at": CREATED, "config": STORED_BOARD}

    board = board_codec.board_from_row(row)

    assert board == BoardDefinition(
        "weekly", "Weekly", SortOrder.HIGHER_IS_BETTER, Aggregation.SUM,
        TiePolicy.FIRST_TO_REACH, PeriodKind.WEEKLY, "Europe/Berlin", retention_periods=2,
        source_event_types=("order.paid",), finalize_grace_seconds=60,
        rewards=board.rewards, version=3, created_at=CREATED,
    )  # fmt: skip
    assert board.rewards[0].rewards == (Reward(RewardKind.POINTS, 100),)
    written = board_codec.board_to_json(board)
    assert written.keys() == STORED_BOARD.keys()
    assert board_codec.board_from_row({**row, "config": written}) == board


def test_a_program_stored_before_reads_the_same() -> None:
    row = {"version": 2, "created_at": CREATED, "config": STORED_PROGRAM}

    program = codec.program_from_row(row)

    assert program.milestones[0].rewards == (Reward(RewardKind.COUPON, 1, "c7"),)
    assert (program.version, program.created_at, program.max_freezes) == (2, CREATED, 3)
    assert codec.program_from_row({**row, "config": codec.program_to_json(program)}) == program


def test_instants_come_back_on_utc_whatever_offset_was_stored() -> None:
    season = {**STORED_BOARD, "period": "season", "season_start": "2026-03-01T01:00:00+01:00",
              "season_end": "2026-04-01T00:00:00Z"}  # fmt: skip
    row = {"board_id": "s", "version": 1, "created_at": CREATED, "config": season}

    board = board_codec.board_from_row(row)

    assert board.season_start == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    assert board.season_start is not None
    assert board.season_start.tzinfo is dt.UTC
