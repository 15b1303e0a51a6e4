"""Score validation, the member encoding, metadata JSON and key names of the leaderboard (pure)."""

from __future__ import annotations

import pytest
from redis.crc import key_slot

from leaderboard import (
    BoardConfig,
    InvalidArgument,
    LimitExceeded,
    MemberMetadata,
    ScoreOutOfRange,
    SortOrder,
)
from leaderboard.encoding import (
    MAX_AT_MS,
    MAX_SCORE,
    MIN_SCORE,
    check_at_ms,
    check_count,
    check_member_id,
    check_metadata,
    check_score,
    decode_metadata,
    encode_member,
    encode_metadata,
    fingerprint,
    member_id_of,
    score_of,
    stored_score,
)
from leaderboard.keys import BoardKeys


@pytest.mark.parametrize("value", [MIN_SCORE, -1, 0, 1, MAX_SCORE - 1, MAX_SCORE])
def test_scores_within_two_to_the_53_are_accepted(value: int) -> None:
    assert check_score(value) == value


@pytest.mark.parametrize("value", [MAX_SCORE + 1, MIN_SCORE - 1, 2**63])
def test_scores_beyond_two_to_the_53_are_refused(value: int) -> None:
    with pytest.raises(ScoreOutOfRange, match="score"):
        check_score(value)


@pytest.mark.parametrize("value", [1.0, 1.5, True, "5", None])
def test_non_integer_scores_are_refused(value: object) -> None:
    with pytest.raises(ScoreOutOfRange, match="must be an int"):
        check_score(value)


@pytest.mark.parametrize("value", [MIN_SCORE, -7, 0, 7, MAX_SCORE])
@pytest.mark.parametrize("order", list(SortOrder))
def test_the_stored_score_is_exact_in_a_double_and_round_trips(
    value: int, order: SortOrder
) -> None:
    stored = stored_score(value, order)

    assert int(float(stored)) == stored
    assert score_of(stored, order) == value


def test_the_stored_score_puts_the_best_first_in_ascending_order() -> None:
    scores = [3, -5, 10, 0]

    higher = sorted(scores, key=lambda s: stored_score(s, SortOrder.HIGHER_IS_BETTER))
    lower = sorted(scores, key=lambda s: stored_score(s, SortOrder.LOWER_IS_BETTER))

    assert higher == [10, 3, 0, -5]
    assert lower == [-5, 0, 3, 10]


def test_encoded_members_sort_by_time_then_member_id_as_redis_compares_bytes() -> None:
    encoded = [
        encode_member("zed", 1_763_856_000_000),
        encode_member("abe", 1_763_856_000_001),
        encode_member("abe", 999),
        encode_member("zed", 999),
        encode_member("é", 999),
    ]

    ordered = sorted(encoded, key=str.encode)

    assert [member_id_of(e) for e in ordered] == ["abe", "zed", "é", "zed", "abe"]
    assert {len(e) - len(member_id_of(e)) for e in encoded} == {14}


def test_the_member_id_survives_separators_inside_it() -> None:
    assert member_id_of(encode_member("a:b:{c}", 5)) == "a:b:{c}"


@pytest.mark.parametrize("value", [-1, MAX_AT_MS + 1, 1.5, True])
def test_times_outside_the_encoding_are_refused(value: object) -> None:
    with pytest.raises(InvalidArgument, match="at_ms"):
        check_at_ms(value)


@pytest.mark.parametrize("value", ["", "x" * 129, "\ud800", 5])
def test_bad_member_ids_are_refused(value: object) -> None:
    with pytest.raises(InvalidArgument, match="member_id"):
        check_member_id(value)


def test_member_ids_of_128_characters_are_accepted() -> None:
    assert check_member_id("é" * 128) == "é" * 128


@pytest.mark.parametrize("value", [0, 1001, -1, True, 2.0])
def test_counts_outside_the_limit_are_refused(value: object) -> None:
    with pytest.raises(LimitExceeded, match=r"page_size: must be an int in 1\.\.1000"):
        check_count("page_size", value, 1000)


def test_metadata_round_trips_through_compact_json() -> None:
    metadata = MemberMetadata(display_name="Zoë 🦊", avatar_url="https://cdn.example/a.png")

    encoded = encode_metadata(metadata)

    assert encoded == '{"n":"Zoë 🦊","a":"https://cdn.example/a.png"}'
    assert decode_metadata(encoded) == metadata
    assert encode_metadata(MemberMetadata()) == ""
    assert decode_metadata(None) is None


def test_oversized_metadata_is_refused() -> None:
    with pytest.raises(InvalidArgument, match=r"metadata\.display_name"):
        check_metadata(MemberMetadata(display_name="x" * 65))
    with pytest.raises(InvalidArgument, match=r"metadata\.avatar_url"):
        check_metadata(MemberMetadata(avatar_url="x" * 2049))


def test_the_fingerprint_tells_member_and_value_apart() -> None:
    assert fingerprint("a", 1) == fingerprint("a", 1)
    assert len({fingerprint("a", 1), fingerprint("a", 2), fingerprint("b", 1)}) == 3


def test_every_key_of_a_board_period_is_on_one_cluster_slot() -> None:
    keys = BoardKeys.of("prod:eu", "weekly-xp", "w2026-11-16")
    names = [*keys.data, keys.expiry, keys.idempotency("evt-{1}"), *keys.staging("abc")]

    assert all(name.startswith("{prod:eu:weekly-xp:w2026-11-16}:") for name in names)
    assert len(set(names)) == len(names)
    assert len({key_slot(name.encode()) for name in names}) == 1


def test_other_periods_get_other_hash_tags() -> None:
    first = BoardKeys.of("p", "b", "d2026-11-22")
    second = BoardKeys.of("p", "b", "d2026-11-23")

    assert first.tag != second.tag


@pytest.mark.parametrize("board_id", ["", "a{b}", "a:b", "a b", "x" * 65])
def test_board_ids_that_would_break_the_hash_tag_are_refused(board_id: str) -> None:
    with pytest.raises(InvalidArgument, match="board_id"):
        BoardConfig(board_id)


@pytest.mark.parametrize("prefix", ["", "a{b", "a}b", "a b"])
def test_prefixes_that_would_break_the_hash_tag_are_refused(prefix: str) -> None:
    with pytest.raises(InvalidArgument, match="key_prefix"):
        BoardKeys.of(prefix, "b", "p")


def test_board_config_refuses_plain_strings_and_bad_ttls() -> None:
    with pytest.raises(InvalidArgument, match="sort_order"):
        BoardConfig("b", sort_order="higher_is_better")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="idempotency_ttl_ms"):
        BoardConfig("b", idempotency_ttl_ms=10)
