"""Backfills: events from JSONL or CSV rows sent in TrackEvents batches, resumable by their keys.

A rerun sends every row again and the service answers the ones it has as duplicates, so
nothing is applied twice. A row without an idempotency_key gets one derived from its content.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from engagement_client import EngagementClient, derived_key
from engagement_client.gen.engagement.v1 import events_pb2 as pb

MAX_BATCH = 500
FIELDS = ("user_id", "type", "value", "attributes", "occurred_at", "idempotency_key", "timezone")
_NAMED_EVENT = re.compile(r"^events\[(\d+)\]\.?(.*)$")


@dataclass(frozen=True)
class Row:
    """One event of the file and the line it is on."""

    line: int
    request: pb.TrackEventRequest


@dataclass
class Tally:
    """What a backfill did, row by row."""

    applied: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    # (line, reason) of rows the file or the service found malformed; never sent or refused.
    invalid: list[tuple[int, str]] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return self.applied + self.duplicates + sum(self.rejected.values())


def _request(record: dict[str, Any]) -> pb.TrackEventRequest:
    unknown = sorted(set(record) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r}")
    request = pb.TrackEventRequest(
        user_id=str(record.get("user_id", "")), type=str(record.get("type", "")),
        idempotency_key=str(record.get("idempotency_key") or ""),
        timezone=str(record.get("timezone") or ""),
    )  # fmt: skip
    value = record.get("value") or 0
    if isinstance(value, bool) or not str(value).lstrip("-").isdigit():
        raise ValueError(f"value: {value!r} is not a whole number")
    request.value = int(value)
    attributes = record.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise ValueError("attributes: must be an object of names to text")
    request.attributes.update({str(k): str(v) for k, v in attributes.items()})
    if occurred := record.get("occurred_at"):
        try:
            request.occurred_at.FromJsonString(str(occurred))
        except ValueError:
            raise ValueError(f"occurred_at: {occurred!r} is not an RFC 3339 time") from None
    if not request.idempotency_key:
        canonical = json.dumps(record, sort_keys=True, default=str)
        request.idempotency_key = derived_key("backfill", canonical)
    return request


def _csv_record(row: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    attributes: dict[str, str] = {}
    for name, text in row.items():
        if name is None:
            raise ValueError("more cells than the header names")
        if name.startswith("attributes."):
            if text:
                attributes[name.removeprefix("attributes.")] = text
        elif name == "attributes" and text:
            record["attributes"] = json.loads(text)
        elif text:
            record[name] = text
    if attributes:
        record["attributes"] = {**record.get("attributes", {}), **attributes}
    return record


def _records(path: Path, kind: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line, record) per row, or (line, reason) when the row cannot be read."""
    with path.open(newline="") as source:
        if kind == "csv":
            reader = csv.DictReader(source)
            for row in reader:
                try:
                    yield reader.line_num, _csv_record(row)
                except (ValueError, AttributeError) as exc:
                    yield reader.line_num, str(exc)
            return
        for number, text in enumerate(source, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                yield number, f"not JSON: {exc.msg}"
                continue
            yield number, record if isinstance(record, dict) else "not a JSON object"


def read_rows(path: Path, kind: str, tally: Tally) -> list[Row]:
    """The rows that make events; the others go to the tally as invalid."""
    rows = []
    for line, record in _records(path, kind):
        if isinstance(record, str):
            tally.invalid.append((line, record))
            continue
        try:
            rows.append(Row(line, _request(record)))
        except ValueError as exc:
            tally.invalid.append((line, str(exc)))
    return rows


def _count(effects: pb.EventEffects, tally: Tally) -> None:
    if effects.duplicate:
        tally.duplicates += 1
    elif effects.status == pb.EVENT_STATUS_REJECTED:
        tally.rejected[effects.rejected_reason or "rejected"] += 1
    else:
        tally.applied += 1


async def send_batch(client: EngagementClient, batch: list[Row], tally: Tally) -> None:
    """Sends one batch; a row the service names as malformed is set aside and the rest resent."""
    while batch:
        request = pb.TrackEventsRequest(events=[row.request for row in batch])
        try:
            answer = await client.events.TrackEvents(request)
        except grpc.aio.AioRpcError as exc:
            named = _NAMED_EVENT.match(exc.details() or "")
            if exc.code() != grpc.StatusCode.INVALID_ARGUMENT or named is None:
                raise
            bad = batch.pop(int(named.group(1)))
            tally.invalid.append((bad.line, named.group(2) or (exc.details() or "")))
            continue
        for effects in answer.effects:
            _count(effects, tally)
        return


async def backfill(
    client: EngagementClient,
    rows: list[Row],
    tally: Tally,
    batch_size: int = MAX_BATCH,
    progress: Callable[[int], None] = lambda done: None,
) -> Tally:
    """Sends `rows` in order, `batch_size` at a time; `progress` hears how many each batch took."""
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        await send_batch(client, list(batch), tally)
        progress(len(batch))
    return tally
