"""Page sizes and signed page tokens: round trips, forgeries, alterations and bounds."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from service.app.grants.ports import GrantFilter
from service.app.paging import MAX_ID, PageTokens, page_size
from service.domain.errors import InvalidArgument
from service.domain.grant_delivery import GrantStatus
from service.settings import Settings, SettingsError, load_settings

TOKENS = PageTokens(b"k" * 32)
WHERE = GrantFilter(user_id="alice", status=GrantStatus.DEAD)


def _refused(tokens: PageTokens, token: str, where: object = WHERE) -> str:
    with pytest.raises(InvalidArgument) as excinfo:
        tokens.decode(token, where)
    assert excinfo.value.field == "page_token"
    return excinfo.value.rule


@pytest.mark.parametrize("before", [1, 42, MAX_ID])
def test_tokens_round_trip(before: int) -> None:
    assert TOKENS.decode(TOKENS.encode(before, WHERE), WHERE) == before


def test_an_empty_token_is_the_first_page() -> None:
    assert TOKENS.decode("", WHERE) is None


def test_a_token_is_bound_to_its_filters() -> None:
    token = TOKENS.encode(42, WHERE)
    assert "other filters" in _refused(TOKENS, token, GrantFilter(user_id="bob"))


def test_a_token_of_another_key_is_refused() -> None:
    token = PageTokens(b"x" * 32).encode(42, WHERE)
    assert _refused(TOKENS, token) == "is not a token this service issued"


def test_every_altered_character_is_refused() -> None:
    token = TOKENS.encode(42, WHERE)
    for index, char in enumerate(token):
        if char == ".":
            continue
        altered = token[:index] + ("A" if char != "A" else "B") + token[index + 1 :]
        if altered != token:
            _refused(TOKENS, altered)


@pytest.mark.parametrize("before", [-99999999999999999999, 0, -1, MAX_ID + 1, 10**30])
def test_the_unsigned_format_with_any_id_is_refused(before: int) -> None:
    digest = hashlib.sha256(repr(WHERE).encode()).hexdigest()[:16]
    doc = json.dumps({"before": before, "filter": digest}).encode()
    _refused(TOKENS, base64.urlsafe_b64encode(doc).decode())


@pytest.mark.parametrize("before", [0, -1, MAX_ID + 1])
def test_even_a_correctly_signed_id_out_of_range_is_refused(before: int) -> None:
    _refused(TOKENS, TOKENS.encode(before, WHERE))


@pytest.mark.parametrize("token", ["not a token!", ".", "a.b.c", "é", "A" * 10_000, "\x00"])
def test_garbage_is_refused(token: str) -> None:
    _refused(TOKENS, token)


def test_an_unset_secret_gives_each_process_its_own_key() -> None:
    first, second = PageTokens.from_secret(""), PageTokens.from_secret("")
    _refused(second, first.encode(42, WHERE))
    shared = "s" * 32
    token = PageTokens.from_secret(shared).encode(42, WHERE)
    assert PageTokens.from_secret(shared).decode(token, WHERE) == 42


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        PageTokens(b"short")


@pytest.mark.parametrize(("requested", "size"), [(0, 100), (1, 1), (1000, 1000)])
def test_page_size_zero_is_the_default(requested: int, size: int) -> None:
    assert page_size(requested, 100, 1000) == size


@pytest.mark.parametrize(("requested", "rule"), [(-1, "must not be negative"), (1001, "at most")])
def test_page_sizes_out_of_range_are_refused(requested: int, rule: str) -> None:
    with pytest.raises(InvalidArgument) as excinfo:
        page_size(requested, 100, 1000, field="size")
    assert excinfo.value.field == "size"
    assert rule in excinfo.value.rule


def test_a_short_secret_stops_startup_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGAGEMENT_DATABASE_URL", "postgresql://x/y")
    monkeypatch.setenv("ENGAGEMENT_REDIS_URL", "redis://x")
    monkeypatch.setenv("ENGAGEMENT_PAGE_TOKEN_SECRET", "too short")
    with pytest.raises(SettingsError, match=r"^ENGAGEMENT_PAGE_TOKEN_SECRET: .*32 characters"):
        load_settings(Settings)
    monkeypatch.setenv("ENGAGEMENT_PAGE_TOKEN_SECRET", "s" * 32)
    assert "s" * 32 not in repr(load_settings(Settings))
