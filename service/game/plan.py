"""What applying game files would change: each resource against what is live, as a diff."""

from __future__ import annotations

import asyncio
import difflib
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml
from google.protobuf.message import Message

from engagement_client import EngagementClient
from service.game.kinds import KINDS
from service.game.loader import Resource
from service.game.messages import canonical


class Action(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Change:
    """One resource of the files and what applying it would do."""

    resource: Resource
    action: Action
    live: Message | None

    @property
    def label(self) -> str:
        return f"{self.resource.kind.name} {self.resource.id}"

    def diff(self) -> list[str]:
        """Unified diff lines from what is live to what the files say."""
        output_only = self.resource.kind.output_only
        new = dump(canonical(self.resource.message, output_only)).splitlines()
        old = [] if self.live is None else dump(canonical(self.live, output_only)).splitlines()
        lines = difflib.unified_diff(old, new, "live", self.resource.where, lineterm="", n=2)
        return list(lines)[2:]


@dataclass(frozen=True)
class Plan:
    """Every resource of the files in apply order, and what is live but in no file."""

    changes: list[Change]
    # (kind, id) of live resources that no file names: left alone, but reported as drift.
    unmanaged: list[tuple[str, str]]

    @property
    def pending(self) -> list[Change]:
        return [change for change in self.changes if change.action != Action.UNCHANGED]


def dump(spec: dict[str, Any]) -> str:
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=100)


def _action(resource: Resource, live: Message | None) -> Action:
    if live is None:
        return Action.CREATE
    output_only = resource.kind.output_only
    if canonical(resource.message, output_only) == canonical(live, output_only):
        return Action.UNCHANGED
    return Action.UPDATE


def _needs(resource: Resource) -> set[tuple[str, str]]:
    """What a resource names that must exist before it: the service checks these."""
    message: Any = resource.message
    if resource.kind.name == "task":
        tasks = {("task", task_id) for task_id in message.prerequisites}
        return tasks | {("badge", tier.badge_id) for tier in message.tiers if tier.badge_id}
    if resource.kind.name == "badge":
        criterion = message.criterion
        named = {("task", criterion.task_id), ("board", criterion.board_id)}
        return {(kind, name) for kind, name in named if name}
    return set()


def _apply_order(resources: Iterable[Resource]) -> list[Resource]:
    """KINDS order, except that whatever a resource names goes before it."""
    rank = {kind.name: index for index, kind in enumerate(KINDS)}
    waiting = sorted(resources, key=lambda r: rank[r.kind.name])
    placed: list[Resource] = []
    while waiting:
        pending = {(r.kind.name, r.id) for r in waiting}
        ready = next((r for r in waiting if not _needs(r) & pending), waiting[0])  # a cycle:
        placed.append(ready)  # the service names it
        waiting.remove(ready)
    return placed


async def make_plan(client: EngagementClient, resources: list[Resource]) -> Plan:
    """Reads what is live for every kind the files use (one list call per kind)."""
    kinds = [kind for kind in KINDS if any(r.kind is kind for r in resources)]
    listed = await asyncio.gather(*(kind.list_all(client) for kind in kinds))
    live = {
        (kind.name, kind.id_of(message)): message
        for kind, messages in zip(kinds, listed, strict=True)
        for message in messages
    }
    changes = []
    for resource in _apply_order(resources):
        found = live.get((resource.kind.name, resource.id))
        changes.append(Change(resource, _action(resource, found), found))
    named = {(r.kind.name, r.id) for r in resources}
    unmanaged = sorted(key for key in live if key not in named)
    return Plan(changes, unmanaged)
