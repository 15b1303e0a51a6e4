"""A closed-loop gRPC load generator: worker processes, each running many in-flight calls."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc

from service.entrypoints.grpc_api.tokens import bearer_channel


@dataclass(frozen=True, slots=True)
class Turn:
    """One call's place in a run: its load worker, the worker's call count, the seeded users."""

    worker: int
    n: int
    users: int

    def seeded_user(self) -> str:
        """A seeded user picked by Fibonacci hashing of n, so that a scenario called on every
        30th n in the mixed profile still reaches most of them; the workers, whose counts run
        side by side, are offset so that they rarely ask for the same user at once."""
        hashed = (self.n * 0x9E3779B1) % 2**32 * self.users >> 32
        return f"seed-{(hashed + self.worker * 499) % self.users}"

    def new_user(self) -> str:
        """A user that no call has named before in this run."""
        return f"bench-{self.worker}-{self.n}"


# Where the load goes: an address and the bearer token its calls carry, if any.
Target = tuple[str, str | None]
# A scenario makes one call on a channel. A call that returns a string names an outcome worth
# counting, e.g. "rejected".
Call = Callable[[grpc.aio.Channel, Turn], Awaitable[object]]
Outcome = tuple[list[float], int, dict[str, int]]


@dataclass(frozen=True, slots=True)
class Result:
    """What all workers measured for one scenario."""

    latencies_ms: list[float]
    errors: int
    seconds: float
    # Outcomes the calls named, and failed calls by status code.
    notes: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# Each channel its own connection: the kernel spreads connections, not calls, over the
# workers of `serve --workers N`, so one shared connection would load only one of them.
OWN_CONNECTION = (("grpc.use_local_subchannel_pool", 1),)


def _channel(target: Target) -> grpc.aio.Channel:
    address, token = target
    if token is None:
        return grpc.aio.insecure_channel(address, options=OWN_CONNECTION)
    return bearer_channel(address, token, options=OWN_CONNECTION)


async def _drive(
    target: Target, call: Call, turn: Turn, in_flight: int, seconds: float, connections: int
) -> Outcome:
    latencies: list[float] = []
    notes: Counter[str] = Counter()
    errors = 0
    counter = 0
    deadline = time.perf_counter() + seconds
    channels = [_channel(target) for _ in range(connections)]
    try:
        await asyncio.gather(*(channel.channel_ready() for channel in channels))

        async def loop(channel: grpc.aio.Channel) -> None:
            nonlocal errors, counter
            while time.perf_counter() < deadline:
                counter += 1
                started = time.perf_counter()
                try:
                    outcome = await call(channel, Turn(turn.worker, counter, turn.users))
                except grpc.aio.AioRpcError as exc:
                    errors += 1
                    notes[exc.code().name] += 1
                    continue
                latencies.append((time.perf_counter() - started) * 1000)
                if isinstance(outcome, str):
                    notes[outcome] += 1

        await asyncio.gather(*(loop(channels[i % connections]) for i in range(in_flight)))
    finally:
        await asyncio.gather(*(channel.close(None) for channel in channels))
    return latencies, errors, dict(notes)


def _worker(
    target: Target, call: Call, turn: Turn, shape: tuple[int, float, int], out: mp.Queue[object]
) -> None:
    in_flight, seconds, connections = shape
    try:
        import uvloop  # noqa: PLC0415 - optional

        out.put(uvloop.run(_drive(target, call, turn, in_flight, seconds, connections)))
    except ImportError:
        out.put(asyncio.run(_drive(target, call, turn, in_flight, seconds, connections)))


def run_load(
    address: str, call: Call, *, users: int, processes: int, in_flight: int, seconds: float,
    token: str | None = None, connections: int = 1,
) -> Result:  # fmt: skip
    """Run `call` from `processes` processes with `in_flight` calls in total on `connections`
    connections in total, for `seconds`, asking about `users` seeded users; every call
    carries `token` when there is one."""
    context = mp.get_context("spawn")
    out: mp.Queue[object] = context.Queue()
    per_process = max(1, in_flight // processes)
    shape = (per_process, seconds, max(1, min(per_process, connections // processes)))
    workers = [
        context.Process(
            target=_worker, args=((address, token), call, Turn(i, 0, users), shape, out)
        )
        for i in range(processes)
    ]
    started = time.perf_counter()
    for process in workers:
        process.start()
    results = [out.get(timeout=seconds + 60) for _ in workers]
    for process in workers:
        process.join()
    elapsed = time.perf_counter() - started
    outcomes: list[Outcome] = results  # type: ignore[assignment]
    latencies = [ms for result in outcomes for ms in result[0]]
    errors = sum(result[1] for result in outcomes)
    notes: Counter[str] = Counter()
    for result in outcomes:
        notes.update(result[2])
    return Result(
        latencies,
        errors,
        min(elapsed, seconds) if latencies else elapsed,
        dict(sorted(notes.items())),
    )
