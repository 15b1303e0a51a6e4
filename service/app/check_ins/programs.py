"""The check-in program: admin handlers, and the current version held in memory."""

from __future__ import annotations

from service.app.audit import SYSTEM, Actor, Change, record
from service.app.catalog import Catalog
from service.app.ports import Clock, UnitOfWork
from service.domain.check_in import CheckInProgram

# The version check-ins follow, reloaded when any replica stores a new one.
Programs = Catalog[CheckInProgram]


async def update_program(
    program: CheckInProgram,
    *,
    uow: UnitOfWork,
    programs: Programs,
    clock: Clock,
    actor: Actor = SYSTEM,
) -> CheckInProgram:
    """Validate `program` and store it as the next version."""
    program.validate()
    async with uow:
        before = await uow.programs.current()
        stored = await uow.programs.add(program)
        change = Change(
            "CheckInAdminService/UpdateCheckInProgram", "check_in_program", "current",
            before.version, stored.version,
        )  # fmt: skip
        await record(uow, actor, clock, change)
        await uow.commit()
    await programs.changed()
    return stored


async def get_program(*, uow: UnitOfWork) -> CheckInProgram:
    """The program version check-ins follow now, as stored."""
    async with uow:
        return await uow.programs.current()
