"""CheckInService and CheckInAdminService: protos in, handlers called, protos out."""

from __future__ import annotations

from service.app.check_ins import handlers as check_ins
from service.app.check_ins import programs
from service.bootstrap import App
from service.entrypoints.grpc_api import convert
from service.entrypoints.grpc_api.actor import current_actor
from service.entrypoints.grpc_api.context import Context
from service.gen.engagement.v1 import check_in_admin_pb2 as admin_pb
from service.gen.engagement.v1 import check_in_admin_pb2_grpc as admin_grpc
from service.gen.engagement.v1 import check_in_pb2 as pb
from service.gen.engagement.v1 import check_in_pb2_grpc as pb_grpc


def _check_in_response(result: check_ins.CheckInResult, user_id: str) -> pb.CheckInResponse:
    return pb.CheckInResponse(
        check_in=convert.day_record_to_pb(result.record),
        already_checked_in=result.already_checked_in,
        streak=convert.streak_to_pb(user_id, result.streak),
        grants=[convert.grant_to_pb(g) for g in result.grants],
        frozen_days=[day.isoformat() for day in result.frozen_days],
    )


class CheckInServicer(pb_grpc.CheckInServiceServicer):
    """Player-facing check-ins and streaks."""

    def __init__(self, app: App) -> None:
        self._app = app

    async def CheckIn(self, request: pb.CheckInRequest, context: Context) -> pb.CheckInResponse:
        cmd = check_ins.CheckIn(request.user_id, request.timezone)
        app = self._app
        result = await check_ins.check_in(
            cmd, uow=app.uow(), programs=app.programs, clock=app.clock, rules=app.rules
        )
        return _check_in_response(result, request.user_id)

    async def MakeUpCheckIn(
        self, request: pb.MakeUpCheckInRequest, context: Context
    ) -> pb.MakeUpCheckInResponse:
        cmd = check_ins.MakeUpCheckIn(request.user_id, request.day, request.timezone)
        app = self._app
        result = await check_ins.make_up_check_in(
            cmd, uow=app.uow(), programs=app.programs, clock=app.clock, rules=app.rules
        )
        return pb.MakeUpCheckInResponse(
            check_in=convert.day_record_to_pb(result.record),
            streak=convert.streak_to_pb(request.user_id, result.streak),
            grants=[convert.grant_to_pb(g) for g in result.grants],
        )

    async def GetStreak(
        self, request: pb.GetStreakRequest, context: Context
    ) -> pb.GetStreakResponse:
        query = check_ins.GetStreak(request.user_id, request.timezone)
        app = self._app
        view = await check_ins.get_streak(
            query, uow=app.reader(), programs=app.programs, clock=app.clock
        )
        return pb.GetStreakResponse(streak=convert.streak_to_pb(request.user_id, view))

    async def GetCheckInCalendar(
        self, request: pb.GetCheckInCalendarRequest, context: Context
    ) -> pb.GetCheckInCalendarResponse:
        query = check_ins.GetCalendar(request.user_id, request.month, request.timezone)
        app = self._app
        result = await check_ins.get_calendar(
            query, uow=app.reader(), programs=app.programs, clock=app.clock
        )
        return pb.GetCheckInCalendarResponse(
            month=f"{result.month:%Y-%m}",
            days=[
                pb.CalendarDay(day=d.day.isoformat(), status=convert.day_status_to_pb(d.status))
                for d in result.days
            ],
            streak=convert.streak_to_pb(request.user_id, result.streak),
            today_rewards=[convert.reward_to_pb(r) for r in result.today_rewards],
        )


class CheckInAdminServicer(admin_grpc.CheckInAdminServiceServicer):
    """Game-ops configuration of the check-in program."""

    def __init__(self, app: App) -> None:
        self._app = app

    async def UpdateCheckInProgram(
        self, request: admin_pb.UpdateCheckInProgramRequest, context: Context
    ) -> admin_pb.UpdateCheckInProgramResponse:
        program = convert.program_from_pb(request.program)
        stored = await programs.update_program(
            program, uow=self._app.uow(), programs=self._app.programs,
            clock=self._app.clock, actor=current_actor(),
        )  # fmt: skip
        return admin_pb.UpdateCheckInProgramResponse(program=convert.program_to_pb(stored))

    async def GetCheckInProgram(
        self, request: admin_pb.GetCheckInProgramRequest, context: Context
    ) -> admin_pb.GetCheckInProgramResponse:
        program = await programs.get_program(uow=self._app.uow())
        return admin_pb.GetCheckInProgramResponse(program=convert.program_to_pb(program))
