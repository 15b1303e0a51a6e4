"""Translations between live.proto and the live feed's values, and the feed's encoding."""

from __future__ import annotations

import logging

from google.protobuf.message import DecodeError

from service.app.boards.mapping import BoardRef
from service.app.live.ports import CheckedIn, FeedEntry, SeasonEnded, Stamped, Update
from service.app.live.watch import Gap, Heartbeat, Ranked, Watched, WatchUser
from service.domain.duels import Duel
from service.domain.goals import GoalChange
from service.domain.rewards import Grant
from service.domain.rules.state import BadgeUnlock, LevelUp, TaskChange, TaskCompletion
from service.entrypoints.grpc_api.boards.convert import ref_from_pb
from service.entrypoints.grpc_api.convert import day_record_to_pb, grant_to_pb
from service.entrypoints.grpc_api.leagues.convert import season_to_pb
from service.entrypoints.grpc_api.rules.convert import (
    completion_to_pb,
    level_up_to_pb,
    task_change_to_pb,
    unlock_to_pb,
)
from service.entrypoints.grpc_api.social.convert import duel_to_pb
from service.gen.engagement.v1 import leaderboard_pb2 as board_pb
from service.gen.engagement.v1 import live_pb2 as pb
from service.protobuf_time import timestamp

log = logging.getLogger(__name__)


def watch_from_pb(request: pb.WatchUserRequest) -> WatchUser:
    return WatchUser(
        request.user_id, request.after_id, tuple(ref_from_pb(ref) for ref in request.boards)
    )


def update_to_pb(stamped: Stamped) -> pb.LiveUpdate:
    """The update as stored in the feed: every field but its id, which Redis assigns."""
    message = pb.LiveUpdate(occurred_at=timestamp(stamped.at))
    _set_kind(message, stamped.update)
    return message


def _set_kind(message: pb.LiveUpdate, update: Update) -> None:
    match update:
        case TaskChange():
            message.task_progress.CopyFrom(task_change_to_pb(update))
        case TaskCompletion():
            message.task_completed.CopyFrom(completion_to_pb(update))
        case BadgeUnlock():
            message.badge_unlocked.CopyFrom(unlock_to_pb(update))
        case LevelUp():
            message.level_up.CopyFrom(level_up_to_pb(update))
        case Grant():
            message.grant_decided.CopyFrom(grant_to_pb(update))
        case CheckedIn():
            message.checked_in.CopyFrom(
                pb.CheckInUpdate(check_in=day_record_to_pb(update.record), streak=update.streak)
            )
        case Duel():
            message.duel_changed.CopyFrom(duel_to_pb(update))
        case SeasonEnded():
            message.league_season_ended.CopyFrom(
                pb.LeagueSeasonEnded(league_id=update.league_id, season=season_to_pb(update.season))
            )
        case GoalChange():
            message.goal_changed.CopyFrom(
                pb.GoalUpdate(
                    goal_id=update.goal_id, total=update.total, contribution=update.contribution,
                    qualifies=update.qualifies, reached_targets=update.reached,
                )
            )  # fmt: skip


def encode_update(stamped: Stamped) -> bytes:
    """The feed's body of an update (the Feed adapter's `encode`)."""
    return update_to_pb(stamped).SerializeToString()


def _ref_to_pb(ref: BoardRef) -> board_pb.BoardRef:
    return board_pb.BoardRef(
        board_id=ref.board_id, partition=ref.partition, rookie=ref.rookie, period_id=ref.period_id
    )


def watched_to_pb(item: Watched) -> pb.WatchUserResponse | None:
    """The response for what the watch produced; None for an entry that does not decode."""
    match item:
        case FeedEntry():
            try:
                update = pb.LiveUpdate.FromString(item.body)
            except DecodeError:
                log.error("live feed entry %s does not decode; skipped", item.id)
                return None
            update.id = item.id
        case Heartbeat():
            update = pb.LiveUpdate(id=item.position, heartbeat=pb.Heartbeat())
        case Gap():
            update = pb.LiveUpdate(id=item.position, gap=pb.Gap(kept_after_id=item.kept_after))
        case Ranked():
            change = item.change
            update = pb.LiveUpdate(
                id=item.position,
                rank_changed=pb.RankChange(
                    board=_ref_to_pb(change.ref), period_id=change.period_id, rank=change.rank,
                    score=change.score, total_members=change.total_members,
                ),
            )  # fmt: skip
    return pb.WatchUserResponse(update=update)
