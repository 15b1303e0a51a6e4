"""The check-in program: admin handlers, and the current version held in memory."""

from __future__ import annotations

from service.app.catalog import Catalog
from service.app.ports import UnitOfWork
from service.domain.check_in import CheckInProgram

# The version check-ins follow, reloaded when any replica stores a new one.
Programs = Catalog[CheckInProgram]


async def update_program(
    program: CheckInProgram, *, uow: UnitOfWork, programs: Programs
) -> CheckInProgram:
    """Validate `program` and store it as the next version."""
    program.validate()
    async with uow:
        stored = await uow.programs.add(program)
        await uow.commit()
    await programs.changed()
    return stored


async def get_program(*, uow: UnitOfWork) -> CheckInProgram:
    """The program version check-ins follow now, as stored."""
    async with uow:
        return await uow.programs.current()
