"""Every RPC of every service the server registers, fed generated and hostile requests.

Requests come from the proto descriptors (`tests/support/fuzz_requests.py`), so RPCs added
later are fuzzed without a change here. A run sends at least ENGAGEMENT_FUZZ_REQUESTS
(10,000) requests in batches of BATCH concurrent calls and asserts:

- no call ends INTERNAL or UNKNOWN, and none runs past its deadline; a server-streaming call
  (WatchUser) either ends with one of the allowed statuses or sends its first response within
  a short deadline, after which
  the client cancels it;
- calls go with an operator token or a player's token for the request's user; about one in
  six of the requests a player may not make (another user's, an admin or service RPC) goes
  with a player token for someone else, and every one of them is PERMISSION_DENIED;
- the server is still healthy at the end (health SERVING, stores answering, a call served);
- a rejected request changes nothing. After every batch the test takes a fingerprint of the
  state: per Postgres table, its row count and the sum of a 64-bit hash of every row's text,
  and a digest of `DUMP` of every Redis key under the test's prefix (rate-limit buckets
  excepted: taking a token is what a refused call is meant to do). The server runs no
  background writers in this test (no upkeep, no relay), and every call's writes are done
  when it answers, so when no call of a batch succeeded the fingerprints before and after it
  must be equal. The tables stay small (thousands of rows), so this costs a few milliseconds
  a batch, where a fingerprint around every single call would cost minutes.

The run is seeded: the seed is printed, and ENGAGEMENT_FUZZ_SEED=<seed> repeats it. A failure
names the seed, the RPC and the request. Counts by status and by RPC are printed at the end.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import functools
import hashlib
import os
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
import redis.asyncio as redis
import sqlalchemy as sa
from google.protobuf import descriptor_pool, text_format
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, Phase, given
from hypothesis import seed as hypothesis_seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.postgres.schema import metadata
from service.bootstrap import App
from service.entrypoints.grpc_api.access import ACCESS, PLAYER
from service.entrypoints.grpc_api.auth import AUTHORIZATION
from service.entrypoints.grpc_api.limits import user_of
from service.entrypoints.grpc_api.server import RunningServer, stores_answer
from service.entrypoints.grpc_api.services import SERVICE_NAMES
from service.gen.engagement.v1 import check_in_pb2 as pb
from service.gen.engagement.v1 import check_in_pb2_grpc as pb_grpc
from service.settings import Settings
from tests.support import auth
from tests.support.clock import MovableClock
from tests.support.fuzz_requests import Known, Requests, raw_bodies
from tests.support.fuzz_seed import page_tokens, seed_server

pytestmark = pytest.mark.e2e

BATCH = 4
DEADLINE_SECONDS = 20.0
# A server-streaming call either fails, or streams: its first response must come within this
# deadline (the stream then ends by the client's cancellation).
STREAM_DEADLINE_SECONDS = 5.0
FORBIDDEN = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DEADLINE_EXCEEDED)
# Services whose calls a player's app backend makes for its player.
PLAYER_SERVICES = (
    "CheckInService", "PlayerService", "LeaderboardService", "WalletService", "DuelService",
    "AssistService", "LiveService", "LeagueService",
)  # fmt: skip

Metadata = tuple[tuple[str, str], ...]


@functools.cache
def call_metadata(scope: str) -> Metadata:
    """The call metadata carrying a credential for `scope`: "ops" (an operator token with the
    scopes ops and service), or "player:<user>" / "intruder:<user>" (a player token for the
    user; an intruder's request names another user or needs another scope)."""
    kind, _, user = scope.partition(":")
    credential = auth.token() if kind == "ops" else auth.token(user, "player")
    return ((AUTHORIZATION, f"Bearer {credential}"),)


@pytest.fixture
def credentials() -> Callable[[str], Metadata]:
    return call_metadata


@pytest.fixture
async def bare_channel(server: RunningServer) -> AsyncIterator[grpc.aio.Channel]:
    """A channel without credentials of its own: each call sends those of its request."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield channel


def player_refused(rpc: Rpc) -> bool:
    """Whether a player acting for someone else (or beyond its scope) must be refused."""
    access = ACCESS[rpc.path]
    return PLAYER not in access.scopes or access.user_field is not None


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The limiter runs on every call but never refuses one: the fuzz is about the handlers.
    return settings.model_copy(
        update={"user_rate_limit_per_second": 1e6, "user_rate_limit_burst": 1_000_000}
    )


@dataclass(frozen=True)
class Rpc:
    path: str
    method: MethodDescriptor

    @property
    def name(self) -> str:
        return self.method.full_name.removeprefix("engagement.v1.")


@dataclass(frozen=True)
class Request:
    rpc: Rpc
    body: bytes
    message: Message | None  # None for raw bodies
    scope: str

    def describe(self) -> str:
        if self.message is None:
            return f"raw body {self.body[:200].hex()} ({len(self.body)} bytes)"
        text = text_format.MessageToString(self.message, as_one_line=True)
        return text if len(text) < 2000 else text[:2000] + f"... ({len(self.body)} bytes)"


def registered_rpcs() -> list[Rpc]:
    pool = descriptor_pool.Default()
    return [
        Rpc(f"/{name}/{m.name}", m)
        for name in SERVICE_NAMES
        for m in pool.FindServiceByName(name).methods
        if not m.client_streaming
    ]


def request_strategy(known: Known, rpcs: Sequence[Rpc]) -> st.SearchStrategy[Request]:
    """Of every 7 requests, 3 look valid, 2 are hostile and 2 are raw bodies."""
    sane, hostile = Requests(known, hostile=False), Requests(known, hostile=True)
    kinds = st.sampled_from(("sane",) * 3 + ("hostile",) * 2 + ("raw",) * 2)
    strategies = {
        rpc.path: {
            "sane": sane.message(rpc.method.input_type),
            "hostile": hostile.message(rpc.method.input_type),
            "raw": raw_bodies(hostile, rpc.method.input_type),
        }
        for rpc in rpcs
    }

    raw_scopes = st.sampled_from(("ops", f"player:{known.users[0]}"))

    @st.composite
    def request(draw: Callable[..., Any]) -> Request:
        rpc = draw(st.sampled_from(rpcs))
        kind = draw(kinds)
        drawn = draw(strategies[rpc.path][kind])
        if kind == "raw":  # an operator's, or a player's for a user the server knows
            return Request(rpc, drawn, None, draw(raw_scopes))
        # The user the RPC's scope names (a duel's challenger, an assist's helper), else the
        # request's user.
        acting = ACCESS[rpc.path].user_field
        user = getattr(drawn, acting) if acting else user_of(drawn)
        as_player = (
            rpc.method.containing_service.name in PLAYER_SERVICES and user and draw(st.booleans())
        )
        scope = f"player:{user}" if as_player else "ops"
        if player_refused(rpc) and draw(st.integers(0, 5)) == 0:
            scope = "intruder:" + ("intruder" if user != "intruder" else "intruder-2")
        return Request(rpc, drawn.SerializeToString(), drawn, scope)

    return request()


@dataclass
class Tally:
    by_status: collections.Counter[str] = field(default_factory=collections.Counter)
    by_rpc: dict[str, collections.Counter[str]] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter)
    )
    compared: int = 0
    changed: int = 0

    intruders: collections.Counter[str] = field(default_factory=collections.Counter)

    def add(self, request: Request, code: grpc.StatusCode) -> None:
        self.by_status[code.name] += 1
        self.by_rpc[request.rpc.name][code.name] += 1
        if request.scope.startswith("intruder:"):
            self.intruders[code.name] += 1

    def report(self, seed: int) -> str:
        lines = [f"fuzz seed {seed}: {sum(self.by_status.values())} requests, "
                 f"{self.compared} rejected batches checked for state changes"]  # fmt: skip
        lines += [f"  {code:<22}{n:>7}" for code, n in self.by_status.most_common()]
        lines.append(f"  player credentials beyond their scope: {dict(self.intruders)}")
        for name in sorted(self.by_rpc):
            counts = self.by_rpc[name]
            lines.append(f"  {name:<52}{sum(counts.values()):>6}  OK {counts['OK']:>5}")
        return "\n".join(lines)


class Fuzzer:
    """Sends batches of requests and checks every answer and the state around it."""

    def __init__(
        self, channel: grpc.aio.Channel, state: Fingerprint, credentials: Callable[[str], Metadata]
    ) -> None:
        self.channel, self.state, self.credentials = channel, state, credentials
        self.tally = Tally()
        self.seed = 0
        self.last = ""
        # The first case of each kind of failure (what, RPC, status), reported at the end.
        self.failures: dict[tuple[str, str, str], str] = {}

    async def send_batch(self, batch: Sequence[Request]) -> None:
        codes = await asyncio.gather(*(self._send(r) for r in batch))
        now = await self.state.take()
        if all(code != grpc.StatusCode.OK for code in codes):
            self.tally.compared += 1
            if now != self.last:
                self._fail("a batch of rejected requests changed the state", batch, codes)
        elif now != self.last:
            self.tally.changed += 1  # the fingerprint does see what calls change
        self.last = now

    async def _call(self, request: Request) -> None:
        """Make the call; a streaming one until its first response, then cancel it."""
        metadata = self.credentials(request.scope) or None
        if not request.rpc.method.server_streaming:
            call = self.channel.unary_unary(
                request.rpc.path, request_serializer=None, response_deserializer=None
            )
            await call(request.body, timeout=DEADLINE_SECONDS, metadata=metadata)
            return
        stream = self.channel.unary_stream(
            request.rpc.path, request_serializer=None, response_deserializer=None
        )
        responses = stream(request.body, timeout=STREAM_DEADLINE_SECONDS, metadata=metadata)
        try:
            first = await responses.read()
            if first is grpc.aio.EOF:  # type: ignore[attr-defined]
                await responses.code()  # an error raises from read(); this is an OK end
        finally:
            responses.cancel()

    async def _send(self, request: Request) -> grpc.StatusCode:
        started = time.monotonic()
        try:
            await self._call(request)
            code = grpc.StatusCode.OK
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            if code in FORBIDDEN:
                self._fail(f"{code.name}: {exc.details()}", [request], [code])
        if request.scope.startswith("intruder:") and code != grpc.StatusCode.PERMISSION_DENIED:
            self._fail(f"a player beyond its scope got {code.name}", [request], [code])
        elapsed = time.monotonic() - started
        if elapsed >= DEADLINE_SECONDS:
            self._fail(f"took {elapsed:.1f}s", [request], [code])
        self.tally.add(request, code)
        return code

    def _fail(self, what: str, batch: Sequence[Request], codes: Sequence[grpc.StatusCode]) -> None:
        kind = (
            what.split(":", maxsplit=1)[0],
            batch[0].rpc.name if len(batch) == 1 else "",
            codes[0].name,
        )
        calls = "\n".join(
            f"    {r.rpc.name} -> {c.name} as {r.scope[:80]!r}: {r.describe()}"
            for r, c in zip(batch, codes, strict=True)
        )
        self.failures.setdefault(kind, f"  {what}\n{calls}")

    def verdict(self) -> str:
        """Every kind of failure seen, with its first case; empty when there was none."""
        if not self.failures:
            return ""
        cases = "\n".join(self.failures.values())
        return f"fuzz seed {self.seed} (ENGAGEMENT_FUZZ_SEED={self.seed}), failures:\n{cases}"


class Fingerprint:
    """A cheap digest of every Postgres row and every Redis key of the test."""

    def __init__(self, engine: AsyncEngine, client: redis.Redis, prefix: str) -> None:
        self.engine, self.client, self.prefix = engine, client, prefix
        parts = [
            f"select '{t.name}', count(*), coalesce(sum(hashtextextended(x::text, 0)), 0) "
            f'from "{t.name}" x'
            for t in metadata.sorted_tables
        ]
        self.query = sa.text(" union all ".join(parts))

    async def take(self) -> str:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(self.query)).all()
        keys = sorted(
            [k async for k in self.client.scan_iter(match=f"*{self.prefix}*", count=1000)]
        )
        keys = [k for k in keys if b":rate:" not in k]
        digest = hashlib.sha256(repr(rows).encode())
        if keys:
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.dump(key)
            for key, dumped in zip(keys, await pipe.execute(), strict=True):
                digest.update(key + b"=" + (dumped or b"-") + b";")
        return digest.hexdigest()


# Ten thousand calls take about a minute on two idle cores: the default two minutes are too
# tight for a busy machine, and a hung call still fails on its own deadline.
@pytest.mark.timeout(600)
async def test_fuzz_every_rpc(
    bare_channel: grpc.aio.Channel,
    *,
    app: App,
    engine: AsyncEngine,
    redis_client: redis.Redis,
    redis_prefix: str,
    clock: MovableClock,
    credentials: Callable[[str], Metadata],
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed = int(os.environ.get("ENGAGEMENT_FUZZ_SEED") or random.randrange(2**32))
    wanted = int(os.environ.get("ENGAGEMENT_FUZZ_REQUESTS") or 10_000)
    with capsys.disabled():
        print(f"\nfuzz seed {seed} (set ENGAGEMENT_FUZZ_SEED={seed} to repeat this run)")
    channel = bare_channel
    rpcs = registered_rpcs()
    known = await seed_server(channel, clock, lambda scope: credentials(scope) or None)
    tokens = await page_tokens(channel, [(r.path, r.method) for r in rpcs], credentials("ops"))
    known = dataclasses.replace(known, page_tokens=tokens)
    fuzzer = Fuzzer(channel, Fingerprint(engine, redis_client, redis_prefix), credentials)
    fuzzer.seed = seed
    fuzzer.last = await fuzzer.state.take()
    batches = st.lists(request_strategy(known, rpcs), min_size=BATCH, max_size=BATCH)
    loop = asyncio.get_running_loop()

    @hypothesis_seed(seed)
    @hypothesis_settings(
        max_examples=-(-wanted // BATCH),
        database=None,
        deadline=None,
        phases=[Phase.generate],  # a failure names its request; shrinking would take minutes
        suppress_health_check=list(HealthCheck),
    )
    @given(batches)
    def fuzz(batch: list[Request]) -> None:
        asyncio.run_coroutine_threadsafe(fuzzer.send_batch(batch), loop).result()

    try:
        await asyncio.to_thread(fuzz)
    finally:
        with capsys.disabled():
            print(fuzzer.tally.report(seed))
    assert not fuzzer.verdict(), fuzzer.verdict()
    assert fuzzer.tally.changed > 0, "no accepted request changed the fingerprint"
    assert sum(fuzzer.tally.by_status.values()) >= wanted
    assert {r.name for r in rpcs} <= set(fuzzer.tally.by_rpc), "an RPC was never called"
    assert fuzzer.tally.intruders["PERMISSION_DENIED"] > 0, "no player went beyond its scope"
    await _assert_healthy(channel, app)


async def _assert_healthy(channel: grpc.aio.Channel, app: App) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    answer = await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    assert await stores_answer(app)
    stub: Any = pb_grpc.CheckInServiceStub(channel)
    streak = await stub.GetStreak(
        pb.GetStreakRequest(user_id="fuzz-after"), timeout=5, metadata=call_metadata("ops")
    )
    assert streak.streak.current == 0
