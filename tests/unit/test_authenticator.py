"""The authenticator and the interceptor alone: keys, rotation, scopes and the call's Caller."""

from __future__ import annotations

import time
from typing import Any, NoReturn

import grpc
import pytest

from service.entrypoints.grpc_api.auth import (
    Authenticator,
    AuthInterceptor,
    Identity,
    VerifiedTokens,
)
from service.entrypoints.grpc_api.auth_keys import ApiKey, VerificationKey, api_key_digest
from service.entrypoints.grpc_api.caller import ANONYMOUS, Caller, Unauthenticated, current_caller
from service.entrypoints.grpc_api.tokens import issue_token, new_api_key, parse_scopes
from service.gen.engagement.v1 import check_in_pb2 as pb
from tests.support.auth import TEST_SECRET, raw_token

OLD_SECRET = "old-secret-" + "f" * 32


def _authenticator(**options: Any) -> Authenticator:
    keys = {"HS256": [VerificationKey("HS256", TEST_SECRET.encode()),
                      VerificationKey("HS256", OLD_SECRET.encode())]}  # fmt: skip
    keyring = [ApiKey(api_key_digest("ek_orders"), "orders", frozenset({"service"}))]
    return Authenticator(keys, keyring, **options)


def test_tokens_signed_with_any_configured_secret_verify_for_rotation() -> None:
    for secret in (TEST_SECRET, OLD_SECRET):
        token = issue_token(secret, "ann", ["player"], 60)
        assert _authenticator().authenticate(token) == Identity("ann", frozenset({"player"}))


def test_the_scope_claim_keeps_known_scopes_only() -> None:
    token = issue_token(TEST_SECRET, "svc", ["service", "ops"], 60)
    assert _authenticator().authenticate(token).scopes == {"service", "ops"}
    odd = raw_token({"sub": "x", "scope": "admin  read ops", "exp": int(time.time()) + 60})
    assert _authenticator().authenticate(odd).scopes == {"ops"}


def test_leeway_applies_to_expiry_and_audience_and_issuer_when_configured() -> None:
    now = time.time()
    late = issue_token(TEST_SECRET, "ann", ["player"], 60, now=now - 70)
    assert _authenticator(leeway_seconds=30).authenticate(late).subject == "ann"
    with pytest.raises(Unauthenticated, match=r"^token expired$"):
        _authenticator(leeway_seconds=5).authenticate(late)
    aimed = issue_token(TEST_SECRET, "ann", ["player"], 60, audience="eng", issuer="idp")
    assert _authenticator(audience="eng", issuer="idp").authenticate(aimed).subject == "ann"
    with pytest.raises(Unauthenticated, match=r"^token issuer not accepted$"):
        _authenticator(audience="eng", issuer="other").authenticate(aimed)


def test_a_token_with_an_audience_is_refused_when_none_is_configured() -> None:
    aimed = issue_token(TEST_SECRET, "ann", ["player"], 60, audience="someone-else")
    with pytest.raises(Unauthenticated, match=r"^token audience not accepted$"):
        _authenticator().authenticate(aimed)


def test_api_keys_are_matched_by_hash() -> None:
    assert _authenticator().authenticate("ek_orders") == Identity("orders", frozenset({"service"}))
    with pytest.raises(Unauthenticated, match=r"^unknown API key$"):
        _authenticator().authenticate("ek_orderz")


def test_a_key_id_picks_its_key_and_an_unknown_one_falls_back_to_unnamed_keys() -> None:
    keys = {"HS256": [VerificationKey("HS256", OLD_SECRET.encode(), "k-old"),
                      VerificationKey("HS256", TEST_SECRET.encode(), "k-new")]}  # fmt: skip
    authenticator = Authenticator(keys)
    claims = {"sub": "ann", "scope": "player", "exp": int(time.time()) + 60}
    assert authenticator.authenticate(raw_token(claims, headers={"kid": "k-new"})).subject == "ann"
    with pytest.raises(Unauthenticated, match=r"^token signature does not verify$"):
        authenticator.authenticate(raw_token(claims, key=OLD_SECRET, headers={"kid": "k-new"}))


def test_a_verified_token_is_kept_only_while_valid_and_the_cache_is_bounded() -> None:
    tokens = VerifiedTokens(leeway_seconds=5, size=2)
    ann = Identity("ann", frozenset({"player"}))
    tokens.put("t1", ann, {"exp": 100, "nbf": 50})

    assert tokens.get("t1", 40) is None  # not yet valid, even with the leeway
    assert tokens.get("t1", 46) == ann
    assert tokens.get("t1", 105) == ann
    assert tokens.get("t1", 106) is None  # expired: verified afresh, and refused, next time
    tokens.put("t1", ann, {"exp": 100})
    tokens.put("t2", ann, {"exp": 100})
    tokens.put("t3", ann, {"exp": 100})
    assert [tokens.get(t, 0) for t in ("t1", "t2", "t3")] == [None, ann, ann]


def test_a_repeated_token_is_still_refused_after_a_failure() -> None:
    authenticator = _authenticator()
    forged = raw_token({"sub": "ann", "exp": int(time.time()) + 60}, key="z" * 40)
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            authenticator.authenticate(forged)


def test_new_api_keys_are_random_and_never_look_like_a_jwt() -> None:
    keys = {new_api_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(key.startswith("ek_") and "." not in key for key in keys)


def test_scopes_are_parsed_and_checked() -> None:
    assert parse_scopes("ops service ops") == ["ops", "service"]
    assert parse_scopes("ops,service") == ["ops", "service"]
    with pytest.raises(ValueError, match="unknown scope 'admin'"):
        parse_scopes("ops admin")
    with pytest.raises(ValueError, match="at least one scope"):
        parse_scopes("  ")


class FakeContext:
    """The part of a servicer context the interceptor uses."""

    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self._metadata = metadata
        self.aborted: tuple[grpc.StatusCode, str] | None = None

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    async def abort(self, code: grpc.StatusCode, message: str) -> NoReturn:
        self.aborted = (code, message)
        raise grpc.aio.AbortError


class HandlerCallDetails:
    method = "/engagement.v1.CheckInService/CheckIn"
    invocation_metadata = ()


async def _call(metadata: tuple[tuple[str, str], ...], request: Any) -> tuple[Any, FakeContext]:
    seen: list[Caller] = []

    async def servicer(_request: Any, _context: Any) -> str:
        seen.append(current_caller())
        return "served"

    async def continuation(_details: Any) -> Any:
        return grpc.unary_unary_rpc_method_handler(servicer)

    interceptor = AuthInterceptor(_authenticator())
    handler = await interceptor.intercept_service(continuation, HandlerCallDetails())  # type: ignore[arg-type]
    context = FakeContext(metadata)
    try:
        result = await handler.unary_unary(request, context)  # type: ignore[misc,arg-type]
    except grpc.aio.AbortError:
        result = None
    return (seen[0] if seen else None, result), context


async def test_the_caller_is_set_for_the_call_and_reset_after_it() -> None:
    token = issue_token(TEST_SECRET, "ann", ["player"], 60)
    metadata = (("authorization", f"Bearer {token}"), ("x-request-id", "req-7"))
    (caller, result), context = await _call(metadata, pb.CheckInRequest(user_id="ann"))

    assert (caller, result) == (Caller("ann", frozenset({"player"}), "req-7"), "served")
    assert context.aborted is None
    assert current_caller() == ANONYMOUS


async def test_the_interceptor_refuses_before_the_servicer_runs() -> None:
    token = issue_token(TEST_SECRET, "ann", ["player"], 60)
    denied = await _call((("authorization", f"Bearer {token}"),), pb.CheckInRequest(user_id="bo"))
    missing = await _call((), pb.CheckInRequest(user_id="ann"))

    assert denied == ((None, None), denied[1])
    assert denied[1].aborted == (grpc.StatusCode.PERMISSION_DENIED,
                                 "user_id: a player may act only for itself")  # fmt: skip
    assert missing[0] == (None, None)
    assert missing[1].aborted is not None
    assert missing[1].aborted[0] == grpc.StatusCode.UNAUTHENTICATED


async def test_an_rpc_without_an_access_rule_is_refused_to_everyone() -> None:
    async def servicer(_request: Any, _context: Any) -> str:
        return "served"

    async def continuation(_details: Any) -> Any:
        return grpc.unary_unary_rpc_method_handler(servicer)

    handler = await AuthInterceptor(_authenticator(), access={}).intercept_service(
        continuation,
        HandlerCallDetails(),  # type: ignore[arg-type]
    )
    context = FakeContext((("authorization", "Bearer ek_orders"),))
    with pytest.raises(grpc.aio.AbortError):
        await handler.unary_unary(pb.CheckInRequest(user_id="ann"), context)  # type: ignore[misc,arg-type]
    assert context.aborted == (
        grpc.StatusCode.PERMISSION_DENIED,
        "no access rule for /engagement.v1.CheckInService/CheckIn",
    )
