"""GoalService and GoalAdminService: protos in, goal handlers called, protos out."""

from __future__ import annotations

from service.app.goals import admin as goal_admin
from service.app.goals import reads as goal_reads
from service.app.goals.admin import Goals
from service.bootstrap import App
from service.entrypoints.grpc_api.actor import current_actor
from service.entrypoints.grpc_api.context import Context
from service.entrypoints.grpc_api.goals import convert
from service.gen.engagement.v1 import goals_pb2 as pb
from service.gen.engagement.v1 import goals_pb2_grpc as pb_grpc


class GoalServicer(pb_grpc.GoalServiceServicer):
    """Goals as a player sees them."""

    def __init__(self, app: App) -> None:
        self._app = app

    async def GetGoal(self, request: pb.GetGoalRequest, context: Context) -> pb.GetGoalResponse:
        view = await goal_reads.get_goal(
            request.goal_id, request.user_id, uow=self._app.reader(), clock=self._app.clock
        )
        return pb.GetGoalResponse(goal=convert.progress_to_pb(view))

    async def ListGoals(
        self, request: pb.ListGoalsRequest, context: Context
    ) -> pb.ListGoalsResponse:
        query = goal_reads.ListGoals(
            request.user_id, request.include_ended, request.page_size, request.page_token
        )
        page = await goal_reads.list_goals(
            query, uow=self._app.reader(), clock=self._app.clock, tokens=self._app.page_tokens
        )
        return pb.ListGoalsResponse(
            goals=[convert.progress_to_pb(v) for v in page.goals],
            next_page_token=page.next_page_token,
        )


class GoalAdminServicer(pb_grpc.GoalAdminServiceServicer):
    """Goal definitions and teams, for game ops."""

    def __init__(self, app: App) -> None:
        self._app = app

    def _goals(self) -> Goals:
        catalog = self._app.rules.goals
        assert catalog is not None, "the composition root always builds the goal catalog"
        return Goals(catalog, self._app.clock)

    async def UpsertGoal(
        self, request: pb.UpsertGoalRequest, context: Context
    ) -> pb.UpsertGoalResponse:
        goal = convert.goal_from_pb(request.goal)
        saved = await goal_admin.upsert_goal(
            goal, uow=self._app.uow(), goals=self._goals(), actor=current_actor()
        )
        return pb.UpsertGoalResponse(goal=convert.goal_to_pb(saved))

    async def GetGoalDefinition(
        self, request: pb.GetGoalDefinitionRequest, context: Context
    ) -> pb.GetGoalDefinitionResponse:
        goal = await goal_admin.get_definition(request.goal_id, uow=self._app.reader())
        return pb.GetGoalDefinitionResponse(goal=convert.goal_to_pb(goal))

    async def ListGoalDefinitions(
        self, request: pb.ListGoalDefinitionsRequest, context: Context
    ) -> pb.ListGoalDefinitionsResponse:
        page = await goal_admin.list_definitions(
            request.page_size, request.page_token, uow=self._app.reader(),
            tokens=self._app.page_tokens,
        )  # fmt: skip
        return pb.ListGoalDefinitionsResponse(
            goals=[convert.goal_to_pb(g) for g in page.goals], next_page_token=page.next_page_token
        )

    async def CreateTeam(
        self, request: pb.CreateTeamRequest, context: Context
    ) -> pb.CreateTeamResponse:
        team, created = await goal_admin.create_team(
            request.team_id, request.name, uow=self._app.uow(), clock=self._app.clock,
            actor=current_actor(),
        )  # fmt: skip
        return pb.CreateTeamResponse(team=convert.team_to_pb(team), created=created)

    async def AddTeamMembers(
        self, request: pb.AddTeamMembersRequest, context: Context
    ) -> pb.AddTeamMembersResponse:
        team, added = await goal_admin.change_members(
            request.team_id, list(request.user_ids), add=True, uow=self._app.uow(),
            clock=self._app.clock, actor=current_actor(),
        )  # fmt: skip
        return pb.AddTeamMembersResponse(team=convert.team_to_pb(team), added=added)

    async def RemoveTeamMembers(
        self, request: pb.RemoveTeamMembersRequest, context: Context
    ) -> pb.RemoveTeamMembersResponse:
        team, removed = await goal_admin.change_members(
            request.team_id, list(request.user_ids), add=False, uow=self._app.uow(),
            clock=self._app.clock, actor=current_actor(),
        )  # fmt: skip
        return pb.RemoveTeamMembersResponse(team=convert.team_to_pb(team), removed=removed)

    async def ListTeamMembers(
        self, request: pb.ListTeamMembersRequest, context: Context
    ) -> pb.ListTeamMembersResponse:
        page = await goal_admin.list_members(
            request.team_id, request.page_size, request.page_token, uow=self._app.reader(),
            tokens=self._app.page_tokens,
        )  # fmt: skip
        return convert.members_to_pb(page)
