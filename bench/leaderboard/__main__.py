"""`python -m bench.leaderboard`: run every size, print the table, clean up."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any

from bench.leaderboard.measure import Latency, SizeResult, progress
from bench.leaderboard.report import Report, arguments
from bench.leaderboard.runner import Bench


async def _main(args: argparse.Namespace, loop_name: str) -> None:
    started = time.perf_counter()
    bench = Bench(args)
    try:
        info: dict[str, Any] = dict(await bench.admin.info("server"))
        info["loop"] = loop_name
        info["load"] = " ".join(f"{figure:.2f}" for figure in os.getloadavg())
        progress(f"run {bench.run_id}: PING")
        pings = await bench.ping()
        results: list[SizeResult] = []
        latency: tuple[int, Latency, Latency] | None = None
        largest = max(args.sizes)
        for size in args.sizes:
            progress(f"run {bench.run_id}: {size:,} members: seeding both boards")
            results.append(await bench.size(size))
            if size == largest and latency is None:
                progress(f"run {bench.run_id}: {size:,} members: rank latency samples")
                ours, peer = await bench.rank_latency(size)
                latency = (size, ours, peer)
            await bench.delete_size(size)
        Report(args, info, pings, results, latency, time.perf_counter() - started).print()
    finally:
        removed = await bench.cleanup()
        progress(f"run {bench.run_id}: cleanup removed {removed} leftover keys")
        await bench.close()


def main() -> None:
    args = arguments()
    try:
        import uvloop  # noqa: PLC0415 - optional, as in service.cli
    except ImportError:
        asyncio.run(_main(args, "asyncio"))
    else:
        uvloop.run(_main(args, "uvloop"))


if __name__ == "__main__":
    main()
