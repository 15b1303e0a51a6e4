"""The peer library, agoragames' leaderboard 3.7.3, loaded beside ours under an alias."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, cast

PEER_VERSION = "3.7.3"
# The PyPI distribution `leaderboard` 3.7.3 is agoragames' (github.com/agoragames/leaderboard-
# python), and its import name is `leaderboard`: the same as our package at the repo root. It is
# NOT installed into the venv: a second top-level `leaderboard` in site-packages would shadow our
# editable install (setuptools' editable finder runs after site-packages) for every process not
# started from the repo root, tests and the service included. `make bench-leaderboard` installs it
# with `uv pip install --target .tools/peer --no-deps` instead, a folder never on sys.path, and
# `load_peer` executes its one module file under the alias `agoragames_leaderboard`. That file
# imports only redis and the standard library, so nothing else of it has to be importable.
PEER_FILE = Path(__file__).resolve().parents[2] / ".tools/peer/leaderboard/leaderboard.py"
PEER_ALIAS = "agoragames_leaderboard"


class PeerBoard(Protocol):
    """The part of agoragames' (untyped) `Leaderboard` this benchmark calls."""

    def rank_members(self, members_and_scores: list[str | int]) -> None: ...
    def change_score_for(self, member: str, delta: int) -> None: ...
    def score_and_rank_for(self, member: str) -> dict[str, object]: ...
    def rank_for(self, member: str) -> int | None: ...
    def around_me(self, member: str, *, page_size: int) -> list[dict[str, object]]: ...
    def top(self, number: int) -> list[dict[str, object]]: ...


def load_peer(path: Path) -> Callable[..., PeerBoard]:
    """agoragames' `Leaderboard`, under an alias, with its writes fixed for redis-py >= 3."""
    if not path.is_file():
        raise SystemExit(f"{path} is missing: run `make bench-leaderboard`, which installs it")
    spec = importlib.util.spec_from_file_location(PEER_ALIAS, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[PEER_ALIAS] = module
    spec.loader.exec_module(module)
    base: Any = module.Leaderboard
    if base.VERSION != PEER_VERSION:
        raise SystemExit(f"{path} is leaderboard {base.VERSION}, expected {PEER_VERSION}")
    grouper: Any = module.grouper

    class FixedPeer(base):  # type: ignore[misc]  # the peer is untyped
        """Only the writes this benchmark calls, each as the original with the one call fixed.

        redis-py 3+ takes ZADD's members as a mapping and ZINCRBY as (name, amount, member);
        3.7.3 passes the 2.x positional forms. Its reads work unchanged and are not touched.
        """

        def rank_members_in(self, leaderboard_name: str, members_and_scores: list[Any]) -> None:
            pipeline = self.redis_connection.pipeline()
            for member, score in grouper(2, members_and_scores):
                pipeline.zadd(leaderboard_name, {member: score})
            pipeline.execute()

        def change_score_for_member_in(
            self, leaderboard_name: str, member: str, delta: float, member_data: Any = None
        ) -> None:
            pipeline = self.redis_connection.pipeline()
            pipeline.zincrby(leaderboard_name, delta, member)
            if member_data:
                pipeline.hset(self._member_data_key(leaderboard_name), member, member_data)
            pipeline.execute()

    return cast(Callable[..., PeerBoard], FixedPeer)
