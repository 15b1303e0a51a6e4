"""Admin handlers for rule definitions: upsert, read, list and archive; each change a version."""

from __future__ import annotations

from dataclasses import replace

from service.app.audit import SYSTEM, Actor, Change, record
from service.app.ports import UnitOfWork
from service.app.rules.outcomes import Rules
from service.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from service.domain.rules.checks import DefinitionKind
from service.domain.rules.definitions import BadgeDefinition, CriterionKind, TaskDefinition
from service.domain.rules.ruleset import Definition, RuleSet
from service.domain.validation import check_id


def check_references(definition: Definition, ruleset: RuleSet) -> None:
    """Tasks and badges a definition names must exist (archived ones do not count)."""
    if isinstance(definition, TaskDefinition):
        for index, prerequisite in enumerate(definition.prerequisites):
            if prerequisite not in ruleset.tasks:
                raise InvalidArgument(f"prerequisites[{index}]", f"no task {prerequisite!r}")
        for index, tier in enumerate(definition.tiers):
            if tier.badge_id and tier.badge_id not in ruleset.badges:
                raise InvalidArgument(f"tiers[{index}].badge_id", f"no badge {tier.badge_id!r}")
    if isinstance(definition, BadgeDefinition):
        criterion = definition.criterion
        if criterion.kind is CriterionKind.TASK_COMPLETIONS and criterion.task_id not in (
            ruleset.tasks
        ):
            raise InvalidArgument("criterion.task_id", f"no task {criterion.task_id!r}")


def check_no_dependants(task_id: str, tasks: list[Definition]) -> None:
    """A task that live tasks require must stay: archiving it would block their users for
    good, so they are archived or changed first."""
    dependants = sorted(
        t.task_id
        for t in tasks
        if isinstance(t, TaskDefinition) and not t.archived and task_id in t.prerequisites
    )
    if dependants:
        raise FailedPrecondition(
            f"task {task_id} is a prerequisite of the live tasks {', '.join(dependants)}: "
            "archive or change those first"
        )


async def upsert_definition(
    definition: Definition, *, uow: UnitOfWork, rules: Rules, actor: Actor = SYSTEM
) -> Definition:
    """Validate and store the definition's next version; evaluation follows it at once."""
    definition.validate()
    check_references(definition, await rules.catalog.current())
    async with uow:
        stored = await uow.definitions.add(replace(definition, archived=False))
        await record(uow, actor, rules.clock, _change("UpsertDefinition", stored))
        await uow.commit()
    await rules.catalog.changed()
    return stored


async def get_definition(
    kind: DefinitionKind, definition_id: str, *, uow: UnitOfWork
) -> Definition:
    check_id("definition_id", definition_id)
    async with uow:
        found = await uow.definitions.get(kind, definition_id)
    if found is None:
        raise NotFound(str(kind), definition_id)
    return found


async def list_definitions(
    kind: DefinitionKind, *, uow: UnitOfWork, include_archived: bool = False
) -> list[Definition]:
    async with uow:
        found = await uow.definitions.list(kind)
    return [d for d in found if include_archived or not d.archived]


async def archive_definition(
    kind: DefinitionKind,
    definition_id: str,
    *,
    uow: UnitOfWork,
    rules: Rules,
    actor: Actor = SYSTEM,
) -> Definition:
    """Store an archived version: events stop moving it; earned progress and grants stay."""
    check_id("definition_id", definition_id)
    async with uow:
        current = await uow.definitions.get(kind, definition_id)
        if kind is DefinitionKind.TASK and current is not None and not current.archived:
            check_no_dependants(definition_id, await uow.definitions.list(kind))
        stored = await uow.definitions.archive(kind, definition_id)
        # Archiving an archived definition stores nothing, so there is nothing to record.
        if stored is not None and current is not None and stored.version != current.version:
            await record(uow, actor, rules.clock, _change("ArchiveDefinition", stored))
            await uow.commit()
    if stored is None:
        raise NotFound(str(kind), definition_id)
    await rules.catalog.changed()
    return stored


def _change(method: str, stored: Definition) -> Change:
    """The change that stored `stored`: versions of one id are numbered 1, 2, 3..."""
    before = stored.version - 1 or None
    return Change(
        f"RulesAdminService/{method}", str(stored.KIND), stored.definition_id, before,
        stored.version,
    )  # fmt: skip
