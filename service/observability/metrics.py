"""The service's Prometheus metrics, in one registry that the composition root builds."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Seconds: a cached read is a few hundred microseconds, a large group commit a second.
_LATENCY = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_GROUP_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
# A rejected event's reason starts with its kind ("cap:daily-points", "velocity:..."); the
# rest names definitions, which would make one series per definition.
_REJECTION_KINDS = frozenset({"value", "velocity", "cap", "budget"})


class Metrics:
    """Every metric the service exports. Recording costs a dictionary lookup and an add;
    the labelled children of the per-call metrics are kept, so no call builds label sets."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.rpcs = Counter(
            "engagement_rpc_calls", "Calls served, by method and status code.",
            ["method", "code"], registry=r,
        )  # fmt: skip
        self.rpc_seconds = Histogram(
            "engagement_rpc_duration_seconds", "Time to serve a call, by method and status code.",
            ["method", "code"], buckets=_LATENCY, registry=r,
        )  # fmt: skip
        self.events = Counter(
            "engagement_events", "Events tracked, by outcome (applied, rejected, duplicate) and "
            "the kind of rejection.", ["outcome", "reason"], registry=r,
        )  # fmt: skip
        self.event_groups = Histogram(
            "engagement_event_group_duration_seconds", "Time to apply a group of events in one "
            "transaction: rules evaluation and writes.", buckets=_LATENCY, registry=r,
        )  # fmt: skip
        self.event_group_sizes = Histogram(
            "engagement_event_group_size", "Events per group commit.", buckets=_GROUP_SIZES,
            registry=r,
        )  # fmt: skip
        self.score_groups = Histogram(
            "engagement_score_group_duration_seconds", "Time to record a group of SubmitScore "
            "calls in one transaction.", buckets=_LATENCY, registry=r,
        )  # fmt: skip
        self.score_group_sizes = Histogram(
            "engagement_score_group_size", "Scores per group commit.", buckets=_GROUP_SIZES,
            registry=r,
        )  # fmt: skip
        # Under `serve --workers N` one worker sets these; the newest value is the one served.
        self.grants = Gauge(
            "engagement_grants", "Grants in the outbox, by delivery state.", ["state"],
            registry=r, multiprocess_mode="mostrecent",
        )  # fmt: skip
        self.oldest_pending = Gauge(
            "engagement_grants_oldest_pending_age_seconds",
            "Age of the oldest grant not yet delivered (0 when none).", registry=r,
            multiprocess_mode="mostrecent",
        )  # fmt: skip
        self.board_seconds = Histogram(
            "engagement_leaderboard_operation_duration_seconds",
            "Time of a leaderboard operation on Redis, by operation.", ["operation"],
            buckets=_LATENCY, registry=r,
        )  # fmt: skip
        self.pool_waits = Histogram(
            "engagement_pool_wait_seconds", "Time a call waited for a Postgres connection.",
            buckets=_LATENCY, registry=r,
        )  # fmt: skip
        self.store_errors = Counter(
            "engagement_store_errors", "Calls that failed because a store could not be reached "
            "in time, by store.", ["store"], registry=r,
        )  # fmt: skip
        self._calls: dict[tuple[str, str], tuple[Counter, Histogram]] = {}

    def call(self, method: str, code: str, seconds: float) -> None:
        """One call of `method` answered with `code` after `seconds`."""
        children = self._calls.get((method, code))
        if children is None:
            children = self.rpcs.labels(method, code), self.rpc_seconds.labels(method, code)
            self._calls[method, code] = children
        children[0].inc()
        children[1].observe(seconds)

    def event(self, outcome: str, rejection: str = "") -> None:
        kind = rejection.partition(":")[0]
        reason = kind if kind in _REJECTION_KINDS else "other" if rejection else ""
        self.events.labels(outcome, reason).inc()

    def event_group(self, size: int, seconds: float) -> None:
        """One group commit of `size` events that took `seconds`."""
        self.event_group_sizes.observe(size)
        self.event_groups.observe(seconds)

    def score_group(self, size: int, seconds: float) -> None:
        """One group commit of `size` SubmitScore calls that took `seconds`."""
        self.score_group_sizes.observe(size)
        self.score_groups.observe(seconds)

    def board_seconds_of(self, operation: str, seconds: float) -> None:
        """One leaderboard `operation` on Redis that took `seconds`."""
        self.board_seconds.labels(operation).observe(seconds)
