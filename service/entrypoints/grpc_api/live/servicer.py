"""LiveService: a user's live updates streamed to a mobile app backend."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator

from service.app.live.watch import watch
from service.bootstrap import App
from service.entrypoints.grpc_api.context import Context
from service.entrypoints.grpc_api.live.convert import watch_from_pb, watched_to_pb
from service.gen.engagement.v1 import live_pb2 as pb
from service.gen.engagement.v1 import live_pb2_grpc as pb_grpc


class LiveServicer(pb_grpc.LiveServiceServicer):
    """Streams; the interceptors authenticate, limit, check and map errors as for calls."""

    def __init__(self, app: App) -> None:
        self._app = app

    async def WatchUser(
        self, request: pb.WatchUserRequest, context: Context
    ) -> AsyncIterator[pb.WatchUserResponse]:
        live = self._app.live
        updates = watch(
            watch_from_pb(request), reader=live.reader, boards=self._app.boards,
            watchers=live.watchers, settings=live.settings, monotonic=time.monotonic,
        )  # fmt: skip
        # Closed here, at once, whichever way the stream ends (a cancellation included).
        async with contextlib.aclosing(updates):
            async for item in updates:
                response = watched_to_pb(item)
                if response is not None:
                    yield response
