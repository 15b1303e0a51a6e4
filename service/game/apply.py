"""Applies a plan: writes what changed, in order, and reports each new version."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

from engagement_client import EngagementClient
from service.game.loader import load_game
from service.game.plan import Change, Plan, make_plan


@dataclass(frozen=True)
class Applied:
    """A resource written: the version it replaced (0 when new) and the one it now has."""

    change: Change
    old_version: int
    new_version: int


class ApplyError(RuntimeError):
    """The service refused a resource; those before it were applied, none after."""

    def __init__(self, change: Change, error: grpc.aio.AioRpcError, applied: list[Applied]) -> None:
        super().__init__(
            f"{change.resource.where}: {change.label}: {error.code().name}: {error.details()}"
        )
        self.change = change
        self.error = error
        self.applied = applied


async def apply_files(client: EngagementClient, paths: list[Path]) -> tuple[Plan, list[Applied]]:
    """Loads, plans and applies game files, as `engagement apply -f` does."""
    plan = await make_plan(client, load_game(paths))
    return plan, await apply_plan(client, plan)


async def apply_plan(client: EngagementClient, plan: Plan) -> list[Applied]:
    """Upserts every pending change in plan order; unchanged resources get no new version."""
    applied: list[Applied] = []
    for change in plan.pending:
        kind = change.resource.kind
        try:
            stored = await kind.upsert(client, change.resource.message)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
                raise
            raise ApplyError(change, exc, applied) from None
        old = 0 if change.live is None else kind.version_of(change.live)
        applied.append(Applied(change, old, kind.version_of(stored)))
    return applied
