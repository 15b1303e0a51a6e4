"""Admin handlers for the check-in program."""

from __future__ import annotations

from service.app.ports import UnitOfWork
from service.domain.check_in import CheckInProgram


async def update_program(program: CheckInProgram, *, uow: UnitOfWork) -> CheckInProgram:
    """Validate `program` and store it as the next version."""
    program.validate()
    async with uow:
        stored = await uow.programs.add(program)
        await uow.commit()
    return stored


async def get_program(*, uow: UnitOfWork) -> CheckInProgram:
    """The program version check-ins follow now."""
    async with uow:
        return await uow.programs.current()
