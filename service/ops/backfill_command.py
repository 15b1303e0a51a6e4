"""`engagement backfill`: a progress bar over the batches, then a summary of what was refused."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from engagement_client import EngagementClient
from service.ops.backfill import MAX_BATCH, Row, Tally, read_rows
from service.ops.backfill import backfill as send_rows
from service.ops.context import err, out, run

SHOWN = 20


class Format(StrEnum):
    AUTO = "auto"
    JSONL = "jsonl"
    CSV = "csv"


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:,.0f} events/s")


def _format(path: Path, given: Format) -> str:
    if given != Format.AUTO:
        return str(given)
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"


def _summary(tally: Tally, seconds: float) -> None:
    rate = tally.sent / seconds if seconds > 0 else 0.0
    rejected = sum(tally.rejected.values())
    out.print(f"{tally.sent} events sent in {seconds:.1f}s ({rate:,.0f} events/s): "
              f"{tally.applied} applied, {tally.duplicates} already done (skipped), "
              f"{rejected} rejected, {len(tally.invalid)} invalid.")  # fmt: skip
    if tally.rejected:
        table = Table(
            "rejected because", "events", title="Rejected by the service (stored, flagged)"
        )
        for reason, count in tally.rejected.most_common():
            table.add_row(reason, str(count))
        out.print(table)
    if tally.invalid:
        table = Table("line", "why", title="Invalid rows (not applied)")
        for line, reason in sorted(tally.invalid)[:SHOWN]:
            table.add_row(str(line), reason)
        out.print(table)
        if len(tally.invalid) > SHOWN:
            out.print(f"... and {len(tally.invalid) - SHOWN} more invalid rows.")


def backfill(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="JSONL (one event object a line) or CSV with a header")
    ],
    file_format: Annotated[Format, typer.Option("--format")] = Format.AUTO,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=MAX_BATCH)] = MAX_BATCH,
) -> None:
    """Send events from a file through TrackEvents batches; rerunning skips what was done."""
    tally = Tally()
    rows: list[Row] = read_rows(file, _format(file, file_format), tally)
    columns = (BarColumn(), MofNCompleteColumn(), _Rate(), TimeElapsedColumn())
    started = time.monotonic()
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("backfill", total=len(rows))

        async def work(client: EngagementClient) -> Tally:
            return await send_rows(client, rows, tally, batch_size,
                                   lambda done: bar.advance(task, done))  # fmt: skip

        try:
            run(ctx, work)
        finally:
            bar.stop()
            _summary(tally, time.monotonic() - started)
    if tally.invalid:
        raise typer.Exit(2)
