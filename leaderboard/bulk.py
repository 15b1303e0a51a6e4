"""Rebuilding a board-period's standings from ledger rows, swapped in atomically at the end."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterable, Iterable

from redis.exceptions import RedisError

from leaderboard import lua
from leaderboard.encoding import (
    check_at_ms,
    check_member_id,
    check_metadata,
    check_score,
    encode_metadata,
    reached_prefix,
    stored_score,
)
from leaderboard.errors import InvalidArgument, LoadLost
from leaderboard.keys import BoardKeys
from leaderboard.models import LoadEntry, SortOrder, TiePolicy
from leaderboard.replies import array, integer, text
from leaderboard.scripts import Arg, RedisClient, run

# Every chunk renews it on what it writes, and every RENEW_EVERY_S the load renews it on all
# staged buckets, so it only has to outlast the pause between two chunks.
STAGING_TTL_MS = 15 * 60 * 1000
RENEW_EVERY_S = STAGING_TTL_MS / 1000 / 3
_RENEW_SLICE = 10_000  # buckets a script; about 10 ms of Redis
MAX_CHUNK_SIZE = 10_000

Entries = Iterable[LoadEntry] | AsyncIterable[LoadEntry]


async def load(
    client: RedisClient,
    keys: BoardKeys,
    order: SortOrder,
    policy: TiePolicy,
    entries: Entries,
    chunk_size: int,
) -> int:
    """Replace the standings with `entries`; return the member count.

    Entries go into private staging keys under the board's hash tag, one atomic script per
    chunk, and one last script renames them over the live keys, so readers see either the old
    standings or the new ones, and marks the copy loaded (see `BoardKeys.loaded`). Entries'
    revisions replace those of earlier puts; metadata of members without any in their entry,
    and the retention deadline, are kept. Submissions that land while a load runs are
    overwritten by the swap: hold them, or replay them afterwards. Staged rows expire
    `STAGING_TTL_MS` after the load last renewed them, so a dead load leaves nothing behind;
    a load paused longer than that between two chunks raises LoadLost and changes nothing.
    """
    if type(chunk_size) is not int or not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise InvalidArgument("chunk_size", f"must be an int in 1..{MAX_CHUNK_SIZE}")
    staging = keys.staging(uuid.uuid4().hex)
    # One chunk in flight, so any pool size works (one connection included): the next chunk
    # is framed while Redis writes the last one. Scripts run in order, so a member in two
    # chunks is still found by the later one.
    in_flight: asyncio.Task[None] | None = None
    revisions = members = 0
    renew_at = time.monotonic() + RENEW_EVERY_S
    try:
        async with contextlib.aclosing(_chunks(entries, chunk_size)) as chunks:
            async for chunk in chunks:
                frames = "".join([_frame(entry, order) for entry in chunk])
                revisions += sum(entry.revision or 0 for entry in chunk)
                members += len(chunk)
                if in_flight is not None:
                    await in_flight
                if time.monotonic() > renew_at:  # buckets no chunk wrote lately expire too
                    await _renew(client, staging[1])
                    renew_at = time.monotonic() + RENEW_EVERY_S
                chunk_keys = (*staging, keys.metadata)
                in_flight = asyncio.create_task(_load_chunk(client, chunk_keys, policy, frames))
                await asyncio.sleep(0)  # let it send before the next chunk is framed
        if in_flight is not None:
            await in_flight
        swap_keys = [*keys.standings, *staging, keys.expiry, keys.loaded, keys.metadata]
        reply = await run(
            client, lua.LOAD_SWAP, [*swap_keys, *keys.superseded], [revisions, members]
        )
        if isinstance(reply, bytes | str):
            raise LoadLost()
        return integer(reply)
    except Exception:
        if in_flight is not None:  # no chunk may write after the staging keys are deleted
            with contextlib.suppress(Exception):  # the caller raises one error already
                await in_flight
        # Bad input must not leave state behind; if Redis is gone, the staging TTL cleans up.
        with contextlib.suppress(RedisError):
            await run(client, lua.DELETE, staging, [])
        raise


async def _renew(client: RedisClient, index: str) -> None:
    """Renew the staging TTL of every bucket of the staged index, a slice a script."""
    first, total = 0, 1
    while first < total:
        total = integer(
            await run(client, lua.RENEW, [index], [STAGING_TTL_MS, first, _RENEW_SLICE])
        )
        first += _RENEW_SLICE


async def _load_chunk(
    client: RedisClient, staging: tuple[str, ...], policy: TiePolicy, frames: str
) -> None:
    args: list[Arg] = [STAGING_TTL_MS, policy.value, frames]
    reply = array(await run(client, lua.LOAD_CHUNK, staging, args))
    if text(reply[0]) == "duplicate":
        member = text(reply[1])
        raise InvalidArgument("entries", f"member {member!r} appears more than once")


def _frame(entry: LoadEntry, order: SortOrder) -> str:
    """One entry as LOAD_CHUNK reads it: stored score, reached prefix, id length, id."""
    if not isinstance(entry, LoadEntry):
        raise InvalidArgument("entries", "must hold LoadEntry values")
    member_id = check_member_id(entry.member_id, "entries.member_id")
    score = check_score(entry.score, "entries.score")
    at_ms = check_at_ms(entry.reached_at_ms, "entries.reached_at_ms")
    # str() of an int is the same canonical text the Lua side writes with "%d".
    stored = str(stored_score(score, order))
    revision = _revision(entry.revision)
    meta = encode_metadata(check_metadata(entry.metadata)) if entry.metadata else ""
    return (
        f"{len(stored):02d}{stored}{reached_prefix(at_ms)}{len(member_id.encode()):03d}{member_id}"
        f"{len(revision):02d}{revision}{len(meta.encode()):05d}{meta}"
    )


def _revision(revision: int | None) -> str:
    if revision is None:
        return ""
    if type(revision) is not int or revision < 0:
        raise InvalidArgument("entries.revision", "must be an int >= 0 or None")
    return str(revision)


async def _chunks(entries: Entries, size: int) -> AsyncGenerator[list[LoadEntry], None]:
    chunk: list[LoadEntry] = []
    async with contextlib.aclosing(_each(entries)) as each:
        async for entry in each:
            chunk.append(entry)
            if len(chunk) == size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


async def _each(entries: Entries) -> AsyncGenerator[LoadEntry, None]:
    if isinstance(entries, AsyncIterable):
        async for entry in entries:
            yield entry
    else:
        for entry in entries:
            yield entry
