"""`make bench-leaderboard`: our `leaderboard` library beside agoragames' leaderboard 3.7.3.

Both libraries run on the same Redis in the same run, on boards of the same members and scores,
and one table prints each operation's rate for both with their ratio, beside a no-op round trip
(PING) measured in the same run (GUIDE section 7). Also: our bulk load rate, Redis memory per
member, and the single-call latency of `rank_of` at the largest size.

Fairness: the headline rates are sequential, one client on one connection, one call at a time
(no pipelining across calls) for both: ours through `redis.asyncio` (as the service uses it),
the peer through its synchronous `redis.Redis`. Ours at `--concurrency` tasks is extra
information. Every key this run creates carries a per-run id and is deleted at the end.
"""
