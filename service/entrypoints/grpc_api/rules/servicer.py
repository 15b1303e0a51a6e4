"""EventService, PlayerService and RulesAdminService: protos in, handlers called, protos out."""

from __future__ import annotations

from service.app.rules import definitions, events, insight, player
from service.app.rules.views import Tracked
from service.bootstrap import App
from service.entrypoints.grpc_api.actor import current_actor
from service.entrypoints.grpc_api.context import Context
from service.entrypoints.grpc_api.rules import convert
from service.entrypoints.grpc_api.rules import definition_convert as defs
from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import events_pb2_grpc as events_grpc
from service.gen.engagement.v1 import player_pb2 as player_pb
from service.gen.engagement.v1 import player_pb2_grpc as player_grpc
from service.gen.engagement.v1 import rules_admin_pb2 as admin_pb
from service.gen.engagement.v1 import rules_admin_pb2_grpc as admin_grpc


class EventServicer(events_grpc.EventServiceServicer):
    """Events from internal services."""

    def __init__(self, app: App) -> None:
        self._app = app

    def _count(self, tracked: Tracked) -> None:
        outcome = "duplicate" if tracked.duplicate else tracked.status.value
        self._app.metrics.event(outcome, tracked.effects.rejected)

    async def TrackEvent(
        self, request: events_pb.TrackEventRequest, context: Context
    ) -> events_pb.TrackEventResponse:
        cmd = convert.track_event_from_pb(request)
        tracked = await self._app.events.track(cmd)
        self._count(tracked)
        return events_pb.TrackEventResponse(effects=convert.tracked_to_pb(tracked))

    async def TrackEvents(
        self, request: events_pb.TrackEventsRequest, context: Context
    ) -> events_pb.TrackEventsResponse:
        cmds = convert.track_events_from_pb(request)
        done = await events.track_events(cmds, uow=self._app.uow(), rules=self._app.rules)
        for tracked in done:
            self._count(tracked)
        return events_pb.TrackEventsResponse(effects=[convert.tracked_to_pb(t) for t in done])


class PlayerServicer(player_grpc.PlayerServiceServicer):
    """Tasks, badges and levels as a player sees them."""

    def __init__(self, app: App) -> None:
        self._app = app

    async def ListTasks(
        self, request: player_pb.ListTasksRequest, context: Context
    ) -> player_pb.ListTasksResponse:
        views = await player.list_tasks(
            request.user_id, uow=self._app.reader(), rules=self._app.rules
        )
        return player_pb.ListTasksResponse(tasks=[convert.task_view_to_pb(v) for v in views])

    async def ClaimTaskReward(
        self, request: player_pb.ClaimTaskRewardRequest, context: Context
    ) -> player_pb.ClaimTaskRewardResponse:
        claimed = await player.claim_task_reward(
            request.user_id, request.task_id, uow=self._app.uow(), rules=self._app.rules
        )
        return convert.claimed_to_pb(claimed)

    async def ListBadges(
        self, request: player_pb.ListBadgesRequest, context: Context
    ) -> player_pb.ListBadgesResponse:
        views = await player.list_badges(
            request.user_id, uow=self._app.reader(), rules=self._app.rules
        )
        return convert.badges_to_pb(views)

    async def GetProfile(
        self, request: player_pb.GetProfileRequest, context: Context
    ) -> player_pb.GetProfileResponse:
        view = await player.get_profile(
            request.user_id, uow=self._app.reader(), rules=self._app.rules
        )
        return player_pb.GetProfileResponse(profile=convert.profile_view_to_pb(view))


class RulesAdminServicer(admin_grpc.RulesAdminServiceServicer):
    """Definitions of the rules engine and insight into them, for game ops."""

    def __init__(self, app: App) -> None:
        self._app = app

    async def UpsertDefinition(
        self, request: admin_pb.UpsertDefinitionRequest, context: Context
    ) -> admin_pb.UpsertDefinitionResponse:
        draft = convert.valid_definition_from_pb(request.definition)
        stored = await definitions.upsert_definition(
            draft, uow=self._app.uow(), rules=self._app.rules, actor=current_actor()
        )
        return admin_pb.UpsertDefinitionResponse(definition=defs.definition_to_pb(stored))

    async def GetDefinition(
        self, request: admin_pb.GetDefinitionRequest, context: Context
    ) -> admin_pb.GetDefinitionResponse:
        kind = defs.kind_from_pb(request.kind)
        found = await definitions.get_definition(
            kind, defs.definition_id_from_pb(kind, request.definition_id), uow=self._app.uow()
        )
        return admin_pb.GetDefinitionResponse(definition=defs.definition_to_pb(found))

    async def ListDefinitions(
        self, request: admin_pb.ListDefinitionsRequest, context: Context
    ) -> admin_pb.ListDefinitionsResponse:
        found = await definitions.list_definitions(
            defs.kind_from_pb(request.kind),
            uow=self._app.uow(),
            include_archived=request.include_archived,
        )
        return admin_pb.ListDefinitionsResponse(
            definitions=[defs.definition_to_pb(d) for d in found]
        )

    async def ArchiveDefinition(
        self, request: admin_pb.ArchiveDefinitionRequest, context: Context
    ) -> admin_pb.ArchiveDefinitionResponse:
        kind = defs.kind_from_pb(request.kind)
        archived = await definitions.archive_definition(
            kind,
            defs.definition_id_from_pb(kind, request.definition_id),
            uow=self._app.uow(),
            rules=self._app.rules,
            actor=current_actor(),
        )
        return admin_pb.ArchiveDefinitionResponse(definition=defs.definition_to_pb(archived))

    async def DryRunDefinition(
        self, request: admin_pb.DryRunDefinitionRequest, context: Context
    ) -> admin_pb.DryRunDefinitionResponse:
        draft, days = convert.dry_run_from_pb(request)
        report = await insight.dry_run(draft, days, uow=self._app.uow(), rules=self._app.rules)
        return convert.dry_run_to_pb(report)

    async def ExplainProgress(
        self, request: admin_pb.ExplainProgressRequest, context: Context
    ) -> admin_pb.ExplainProgressResponse:
        explanation = await insight.explain_progress(
            request.user_id,
            defs.kind_from_pb(request.kind),
            request.definition_id,
            uow=self._app.uow(),
            rules=self._app.rules,
        )
        return convert.explanation_to_pb(explanation)

    async def SetUserSegments(
        self, request: admin_pb.SetUserSegmentsRequest, context: Context
    ) -> admin_pb.SetUserSegmentsResponse:
        profile = await player.set_segments(
            request.user_id, list(request.segments), uow=self._app.uow(),
            clock=self._app.clock, actor=current_actor(),
        )  # fmt: skip
        return admin_pb.SetUserSegmentsResponse(segments=profile.segments)

    async def ListFlaggedEvents(
        self, request: admin_pb.ListFlaggedEventsRequest, context: Context
    ) -> admin_pb.ListFlaggedEventsResponse:
        query = insight.ListFlagged(request.user_id, request.page_size, request.page_token)
        return convert.flagged_to_pb(
            await insight.list_flagged(query, uow=self._app.uow(), tokens=self._app.page_tokens)
        )
