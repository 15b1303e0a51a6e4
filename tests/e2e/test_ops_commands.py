"""The ops commands against a real server: backfill (resumable, with a summary of what was
refused), boards, grants and rules, and their one-line errors."""

from __future__ import annotations

import csv
import json
import socket
from pathlib import Path

import pytest

from service.entrypoints.grpc_api.server import RunningServer
from tests.support import auth
from tests.support.clock import MovableClock
from tests.support.ops_cli import engagement

pytestmark = pytest.mark.e2e

GAME = """
kind: task
spec:
  task_id: taps
  title: Tap three times
  event_type: tap
  tiers: [{target: 3, rewards: [{kind: points, amount: 30}]}]
---
kind: cap
spec: {cap_id: tap-velocity, title: Three taps a minute, kind: velocity, limit: 3, event_type: tap}
---
kind: board
spec:
  board_id: daily-taps
  title: Most taps today
  sort_order: higher_is_better
  aggregation: sum
  tie_policy: first_to_reach
  period: {kind: daily}
  source_event_types: [tap]
  rewards: [{first_rank: 1, last_rank: 1, rewards: [{kind: points, amount: 100}]}]
"""


def _event(user: str, n: int, minute: int = 0, **extra: object) -> dict[str, object]:
    return {
        "user_id": user, "type": "tap", "value": n, "idempotency_key": f"{user}-{n}",
        "occurred_at": f"2026-03-10T11:{minute:02d}:{n:02d}Z", **extra,
    }  # fmt: skip


@pytest.fixture
async def game(server: RunningServer, tmp_path: Path) -> Path:
    path = tmp_path / "game.yaml"
    path.write_text(GAME)
    applied = await engagement("apply", "-f", str(path), port=server.port)
    assert applied.code == 0, applied.err
    return path


async def test_a_backfill_reports_what_was_refused_and_a_rerun_skips_what_was_done(
    server: RunningServer, game: Path, tmp_path: Path
) -> None:
    rows = [json.dumps(_event("ann", n)) for n in range(1, 6)]  # taps 4 and 5 break the cap
    rows += [json.dumps(_event("bob", n, minute=5)) for n in range(1, 3)]
    rows.insert(2, "{not json")
    rows.append(json.dumps(_event("bob", 3, type="NOT A TYPE")))
    rows.append(json.dumps({"user_id": "cy", "type": "tap", "value": 1, "idempotency_key": "cy-1",
                            "occurred_at": "2026-03-10T11:30:00Z", "colour": "red"}))  # fmt: skip
    source = tmp_path / "events.jsonl"
    source.write_text("\n".join(rows) + "\n")

    first = await engagement("backfill", str(source), "--batch-size", "3", port=server.port)
    assert first.code == 2, first.err  # invalid rows were set aside
    assert "7 events sent" in first.out
    assert "5 applied, 0 already done (skipped), 2 rejected, 3 invalid." in first.out
    assert "velocity:tap" in first.out
    assert "not JSON" in first.out
    assert "unknown field 'colour'" in first.out
    assert "type" in first.out.split("Invalid rows")[1]

    again = await engagement("backfill", str(source), "--batch-size", "3", port=server.port)
    assert "0 applied, 7 already done (skipped), 0 rejected, 3 invalid." in again.out

    top = await engagement("leaderboard", "daily-taps", port=server.port)
    assert top.code == 0, top.err
    assert "ann" in top.out
    assert "bob" in top.out


async def test_a_csv_backfill_takes_attribute_columns_and_derives_missing_keys(
    server: RunningServer, game: Path, tmp_path: Path
) -> None:
    source = tmp_path / "events.csv"
    with source.open("w", newline="") as sink:
        writer = csv.writer(sink)
        writer.writerow(["user_id", "type", "value", "occurred_at", "attributes.colour"])
        writer.writerow(["dee", "tap", "2", "2026-03-10T11:00:00Z", "red"])
        writer.writerow(["dee", "tap", "3", "2026-03-10T11:00:01Z", ""])
    first = await engagement("backfill", str(source), port=server.port)
    assert first.code == 0, first.err
    assert "2 applied" in first.out
    again = await engagement("backfill", str(source), port=server.port)
    assert "0 applied, 2 already done (skipped)" in again.out


async def test_boards_export_finalize_and_rebuild(
    server: RunningServer, game: Path, tmp_path: Path, clock: MovableClock
) -> None:
    source = tmp_path / "events.jsonl"
    source.write_text("\n".join(json.dumps(_event(u, n)) for u, n in [("ann", 1), ("bob", 2)]))
    assert (await engagement("backfill", str(source), port=server.port)).code == 0
    out = tmp_path / "board.csv"
    exported = await engagement("export", "daily-taps", "-o", str(out), port=server.port)
    assert exported.code == 0, exported.err
    assert out.read_text().splitlines() == [
        "period_id,rank,member_id,score,display_name",
        "d2026-03-10,1,bob,2,",
        "d2026-03-10,2,ann,1,",
    ]
    early = await engagement("finalize", "daily-taps", "--period", "d2026-03-10", port=server.port)
    assert early.code == 1
    assert early.err.startswith("engagement: failed_precondition: ")

    clock.advance(days=1)
    done = await engagement("finalize", "daily-taps", "--period", "d2026-03-10", port=server.port)
    assert done.code == 0, done.err
    assert "Finalised daily-taps d2026-03-10: 2 members, 1 grants." in done.out
    again = await engagement("finalize", "daily-taps", "--period", "d2026-03-10", port=server.port)
    assert "was final already" in again.out
    standings = await engagement(
        "export", "daily-taps", "--period", "d2026-03-10", "--standings", "-o", "-",
        port=server.port,
    )  # fmt: skip
    assert "d2026-03-10,1,bob,2," in standings.out
    rebuilt = await engagement("rebuild", port=server.port)
    assert rebuilt.code == 0, rebuilt.err
    assert rebuilt.out.startswith("Rebuilt ")

    stats = await engagement("grants", "stats", port=server.port)
    assert stats.code == 0, stats.err
    assert "pending" in stats.out
    listed = await engagement("grants", "list", "--user", "bob", port=server.port)
    assert "board_finalization" in listed.out
    retried = await engagement("grants", "retry", "--all", port=server.port)
    assert retried.out.strip() == "0 dead grants went back to pending."


async def test_explain_and_dry_run(server: RunningServer, game: Path, tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    source.write_text(json.dumps(_event("ann", 1)))
    assert (await engagement("backfill", str(source), port=server.port)).code == 0
    explained = await engagement("explain", "ann", "task", "taps", port=server.port)
    assert explained.code == 0, explained.err
    assert "progress 1 of 3" in explained.out
    draft = tmp_path / "draft.yaml"
    draft.write_text(GAME.split("---", maxsplit=1)[0].replace("target: 3", "target: 1"))
    replay = await engagement("dry-run", "-f", str(draft), "--days", "7", port=server.port)
    assert replay.code == 0, replay.err
    assert "1 would complete it" in replay.out


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_errors_are_one_line_without_a_traceback(
    server: RunningServer, tmp_path: Path
) -> None:
    refused = await engagement("grants", "stats", port=_closed_port())
    unreadable = await engagement("backfill", str(tmp_path / "missing.jsonl"), port=server.port)
    unknown = await engagement("get", "quest", port=server.port)
    no_choice = await engagement("grants", "retry", port=server.port)
    cases = {
        "connection refused": (refused, 3, "engagement: cannot reach the service at 127.0.0.1:"),
        "bad token": (
            await engagement("grants", "stats", port=server.port, token="not-a-token"),
            4, "engagement: the service refused the credentials: ",
        ),
        "player token": (
            await engagement("grants", "stats", port=server.port, token=auth.token("al", "player")),
            4, "engagement: not allowed: ",
        ),
        "invalid input": (
            await engagement("explain", "", "task", "taps", port=server.port),
            2, "engagement: invalid: user_id",
        ),
        "unknown kind": (unknown, 2, "engagement: unknown kind"),
        "bad retry": (no_choice, 2, "engagement: name grant"),
        "missing file": (unreadable, 2, "engagement: cannot read "),
    }  # fmt: skip
    for name, (result, code, start) in cases.items():
        assert (name, result.code) == (name, code), result.err
        assert result.err.startswith(start), (name, result.err)
        assert "Traceback" not in result.err + result.out, name
        assert len(result.err.strip().splitlines()) == 1, (name, result.err)
    assert "connection refused" in refused.err
