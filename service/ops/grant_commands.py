"""`engagement grants list|retry|stats`: the grant outbox, for operators."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from engagement_client import EngagementClient
from engagement_client.gen.engagement.v1 import grants_pb2 as pb
from engagement_client.gen.engagement.v1 import rewards_pb2
from service.ops.context import fail, out, run
from service.ops.errors import INVALID, OpsError

grants = typer.Typer(no_args_is_help=True, help="Inspect and retry grants on their way to loyalty.")


class Status(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    CANCELLED = "cancelled"


def describe_reward(reward: rewards_pb2.Reward) -> str:
    kind = rewards_pb2.RewardKind.Name(reward.kind).removeprefix("REWARD_KIND_").lower()
    return f"{reward.amount} {kind}" + (f" {reward.item_code}" if reward.item_code else "")


@grants.command("list")
def list_grants(
    ctx: typer.Context,
    user: Annotated[str, typer.Option("--user", help="only this user's grants")] = "",
    status: Annotated[Status | None, typer.Option("--status")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000)] = 50,
) -> None:
    """Grants newest first."""
    wanted = pb.GRANT_STATUS_UNSPECIFIED
    if status is not None:
        wanted = pb.GrantStatus.Value(f"GRANT_STATUS_{status.upper()}")

    async def work(client: EngagementClient) -> list[pb.GrantRecord]:
        found: list[pb.GrantRecord] = []
        token = ""
        while len(found) < limit:
            request = pb.ListGrantsRequest(
                user_id=user,
                status=wanted,
                page_size=min(1000, limit - len(found)),
                page_token=token,
            )
            answer = await client.grants.ListGrants(request)
            found.extend(answer.grants)
            token = answer.next_page_token
            if not token:
                break
        return found

    table = Table("grant", "user", "reward", "cause", "status", "attempts", "last error")
    for record in run(ctx, work):
        state = pb.GrantStatus.Name(record.status).removeprefix("GRANT_STATUS_").lower()
        grant = record.grant
        reward = describe_reward(grant.reward)
        table.add_row(grant.idempotency_key, grant.user_id, reward, record.cause_kind, state,
                      str(record.attempts), record.last_error)  # fmt: skip
    out.print(table)


@grants.command()
def retry(
    ctx: typer.Context,
    grant_ids: Annotated[list[str] | None, typer.Argument(metavar="[GRANT_ID]...")] = None,
    user: Annotated[str, typer.Option("--user", help="every dead grant of this user")] = "",
    all_dead: Annotated[bool, typer.Option("--all", help="every dead grant")] = False,
) -> None:
    """Put dead grants back into delivery with a fresh attempt budget."""
    chosen = sum((bool(grant_ids), bool(user), all_dead))
    if chosen != 1:
        fail(OpsError("name grant ids, or --user, or --all (exactly one of them)", INVALID))
    request = pb.RetryDeadGrantsRequest(grant_ids=grant_ids or [], user_id=user, all=all_dead)
    answer = run(ctx, lambda client: client.grants.RetryDeadGrants(request))
    out.print(f"{answer.retried} dead grants went back to pending.")


@grants.command()
def stats(ctx: typer.Context) -> None:
    """Counters of the outbox."""
    answer = run(ctx, lambda client: client.grants.GetGrantStats(pb.GetGrantStatsRequest()))
    table = Table("pending", "in flight", "delivered", "dead", "oldest pending", title="Grants")
    table.add_row(str(answer.pending), str(answer.in_flight), str(answer.delivered),
                  str(answer.dead), f"{answer.oldest_pending_age_seconds:.1f}s")  # fmt: skip
    out.print(table)
