"""`engagement finalize`, `rebuild`, `export` and `leaderboard`: board periods for game ops."""

from __future__ import annotations

import csv
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.table import Table

from engagement_client import EngagementClient
from engagement_client.gen.engagement.v1 import leaderboard_pb2 as pb
from service.ops.context import out, run

Board = Annotated[str, typer.Argument(help="board id")]
PeriodOpt = Annotated[str, typer.Option("--period", help="period id; empty for the current one")]
PartitionOpt = Annotated[str, typer.Option("--partition", help="for a partitioned board")]
RookieOpt = Annotated[bool, typer.Option("--rookie", help="the rookie companion board")]
PAGE = 1000


def _ref(board: str, period: str, partition: str, rookie: bool) -> pb.BoardRef:
    return pb.BoardRef(board_id=board, period_id=period, partition=partition, rookie=rookie)


def finalize(
    ctx: typer.Context, board: Board, period: PeriodOpt = "", partition: PartitionOpt = ""
) -> None:
    """Snapshot an ended period's standings, grant its rewards and close it (idempotent)."""
    request = pb.FinalizePeriodRequest(board=_ref(board, period, partition, False))
    answer = run(ctx, lambda client: client.leaderboard_admin.FinalizePeriod(request))
    if answer.already_final:
        out.print(f"{board} {answer.period_id} was final already: nothing granted again.")
    else:
        out.print(f"Finalised {board} {answer.period_id}: {answer.members} members, "
                  f"{answer.grants} grants.")  # fmt: skip


def rebuild(
    ctx: typer.Context,
    *,
    board: Annotated[
        str | None, typer.Argument(help="one board; every board when left out")
    ] = None,
    period: PeriodOpt = "",
    partition: PartitionOpt = "",
    rookie: RookieOpt = False,
) -> None:
    """Rebuild boards in Redis from the Postgres score ledger."""
    if board is None:
        answer = run(ctx, lambda c: c.leaderboard_admin.RebuildBoards(pb.RebuildBoardsRequest()))
        out.print(f"Rebuilt {answer.board_periods} board-periods.")
        return
    request = pb.RebuildBoardRequest(board=_ref(board, period, partition, rookie))
    one = run(ctx, lambda client: client.leaderboard_admin.RebuildBoard(request))
    out.print(f"Rebuilt {board} {one.period_id}: {one.members} members.")


async def _pages(
    client: EngagementClient, ref: pb.BoardRef, standings: bool
) -> AsyncIterator[tuple[str, pb.Entry]]:
    page = 1
    while True:
        if standings:
            request = pb.GetStandingsRequest(board=ref, page=page, page_size=PAGE)
            answer: (
                pb.GetStandingsResponse | pb.GetLeaderboardResponse
            ) = await client.leaderboard.GetStandings(request)
        else:
            live = pb.GetLeaderboardRequest(board=ref, page=page, page_size=PAGE)
            answer = await client.leaderboard.GetLeaderboard(live)
        for entry in answer.entries:
            yield answer.period_id, entry
        if len(answer.entries) < PAGE:
            return
        page += 1


def _write_csv(sink: TextIO, rows: list[tuple[str, pb.Entry]]) -> None:
    writer = csv.writer(sink)
    writer.writerow(["period_id", "rank", "member_id", "score", "display_name"])
    for period_id, e in rows:
        writer.writerow([period_id, e.rank, e.member_id, e.score, e.display_name])


def export(
    ctx: typer.Context,
    board: Board,
    *,
    period: PeriodOpt = "",
    partition: PartitionOpt = "",
    rookie: RookieOpt = False,
    standings: Annotated[
        bool, typer.Option("--standings", help="the finalised standings (from Postgres)")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="CSV file; - for stdout")
    ] = None,
) -> None:
    """Write a board period (live ranks, or finalised standings) as CSV."""
    ref = _ref(board, period, partition, rookie)

    async def work(client: EngagementClient) -> list[tuple[str, pb.Entry]]:
        return [row async for row in _pages(client, ref, standings)]

    rows = run(ctx, work)
    if output is None or str(output) == "-":
        _write_csv(sys.stdout, rows)
        return
    with output.open("w", newline="") as sink:
        _write_csv(sink, rows)
    out.print(f"Wrote {len(rows)} entries of {board} to {output}.", markup=False)


def leaderboard(
    ctx: typer.Context,
    board: Board,
    *,
    period: PeriodOpt = "",
    partition: PartitionOpt = "",
    rookie: RookieOpt = False,
    size: Annotated[int, typer.Option("--size", min=1, max=1000)] = 10,
) -> None:
    """Print the top of a board."""
    request = pb.GetLeaderboardRequest(
        board=_ref(board, period, partition, rookie), page=1, page_size=size
    )
    answer = run(ctx, lambda client: client.leaderboard.GetLeaderboard(request))
    table = Table("rank", "member", "score", title=f"{board} {answer.period_id}")
    for entry in answer.entries:
        table.add_row(str(entry.rank), entry.display_name or entry.member_id, str(entry.score))
    out.print(table)
