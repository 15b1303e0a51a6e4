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


def _apply_order(resources: Iterable[Resource]) -> list[Resource]:
    """Kinds in KINDS order; tasks after the tasks they name as prerequisites."""
    rank = {kind.name: index for index, kind in enumerate(KINDS)}
    ordered = sorted(resources, key=lambda r: rank[r.kind.name])
    tasks = [r for r in ordered if r.kind.name == "task"]
    placed: list[Resource] = []
    while tasks:
        waiting = {task.id for task in tasks}
        ready = [t for t in tasks if not set(getattr(t.message, "prerequisites", ())) & waiting]
        for task in ready or tasks[:1]:  # a cycle: the service names it
            placed.append(task)
            tasks.remove(task)
    return [r for r in ordered if r.kind.name != "task"] + placed


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
