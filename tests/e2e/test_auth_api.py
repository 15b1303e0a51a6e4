"""Bearer credentials through a real server: who gets in, who is refused, and with what code."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from service.bootstrap import App
from service.entrypoints.grpc_api.security import ServerSecurity
from service.entrypoints.grpc_api.server import RunningServer, start_server
from service.entrypoints.grpc_api.tokens import api_key_entry, new_api_key
from service.gen.engagement.v1 import check_in_admin_pb2 as admin_pb
from service.gen.engagement.v1 import check_in_admin_pb2_grpc as admin_grpc
from service.gen.engagement.v1 import check_in_pb2 as pb
from service.gen.engagement.v1 import check_in_pb2_grpc as pb_grpc
from service.gen.engagement.v1 import leaderboard_pb2 as lb_pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as lb_grpc
from service.settings import ApiKeyEntry, Settings
from tests.support import auth

pytestmark = pytest.mark.e2e

AUDIENCE, ISSUER = "engagement", "https://login.example.test"
UNAUTHENTICATED, DENIED = grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED
EC_KEY = ec.generate_private_key(ec.SECP256R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
SERVICE_KEY, OPS_KEY = new_api_key(), new_api_key()


def _claims(subject: str, scope: Any, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"sub": subject, "scope": scope, "aud": AUDIENCE, "iss": ISSUER, "exp": now + 3600}
    return {k: v for k, v in (claims | changes).items() if v is not None}


def _token(subject: str = "ann", scope: Any = "player", **changes: Any) -> str:
    return auth.raw_token(_claims(subject, scope, **changes))


def _jwks(path: Path) -> Path:
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(EC_KEY.public_key()))
    path.write_text(json.dumps({"keys": [jwk | {"kid": "ec-1", "alg": "ES256", "use": "sig"}]}))
    return path


def _pem(path: Path) -> Path:
    path.write_bytes(
        RSA_KEY.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


@pytest.fixture
async def server(app: App, settings: Settings, tmp_path: Path) -> AsyncIterator[RunningServer]:
    """A server accepting HS256, RS256 (PEM file), ES256 (JWKS file) and two API keys."""
    keys = [
        api_key_entry("orders", SERVICE_KEY, ["service"]),
        api_key_entry("ops", OPS_KEY, ["ops"]),
    ]
    configured = settings.model_copy(
        update={
            "jwt_audience": AUDIENCE,
            "jwt_issuer": ISSUER,
            "jwt_leeway_seconds": 5.0,
            "jwt_public_key_files": (str(_pem(tmp_path / "rsa.pem")),),
            "jwt_jwks_file": str(_jwks(tmp_path / "jwks.json")),
            "api_keys": tuple(ApiKeyEntry.model_validate(key) for key in keys),
        }
    )
    running = await start_server(app, "127.0.0.1:0", ServerSecurity.from_settings(configured))
    yield running
    await running.stop(0)


@pytest.fixture
async def channel(server: RunningServer) -> AsyncIterator[grpc.aio.Channel]:
    """A channel that sends nothing of its own: each test passes its credential per call."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield channel


def _bearer(credential: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {credential}"),)


async def _check_in(
    channel: grpc.aio.Channel, user_id: str = "ann", metadata: Any = None
) -> pb.CheckInResponse:
    stub = pb_grpc.CheckInServiceStub(channel)
    return await stub.CheckIn(pb.CheckInRequest(user_id=user_id, timezone="UTC"), metadata=metadata)


async def _refused(call: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return raised.value.code(), str(raised.value.details())


async def test_a_call_without_a_credential_is_unauthenticated(channel: grpc.aio.Channel) -> None:
    code, message = await _refused(_check_in(channel))
    assert code == UNAUTHENTICATED
    assert message.startswith("missing credential")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Basic YW5uOnB3", "authorization must be 'Bearer <credential>'"),
        ("Bearer ", "authorization must be 'Bearer <credential>'"),
        ("Bearer not.a.token", "malformed token"),
        ("Bearer " + auth.raw_token({"sub": "ann"}, algorithm="HS384"), "token algorithm not"),
    ],
)
async def test_a_malformed_credential_is_unauthenticated(
    channel: grpc.aio.Channel, header: str, message: str
) -> None:
    code, details = await _refused(_check_in(channel, metadata=(("authorization", header),)))
    assert code == UNAUTHENTICATED
    assert details.startswith(message)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (auth.raw_token(_claims("ann", "player"), key="x" * 40), "token signature does not verify"),
        # Built at collection, which may be minutes before the test runs: far beyond the leeway.
        (_token(exp=int(time.time()) - 3600), "token expired"),
        (_token(nbf=int(time.time()) + 3600), "token not yet valid"),
        (_token(aud="another-service"), "token audience not accepted"),
        (_token(aud=None), "token lacks the aud claim"),
        (_token(iss="https://elsewhere.test"), "token issuer not accepted"),
        (_token(exp=None), "token lacks the exp claim"),
        (_token(sub=None), "token lacks the sub claim"),
        (_token(sub=42), "token sub must be a non-empty string"),
        (_token(scope=["player"]), "token scope must be a space-separated string"),
    ],
)
async def test_a_token_that_does_not_verify_is_unauthenticated(
    channel: grpc.aio.Channel, token: str, message: str
) -> None:
    code, details = await _refused(_check_in(channel, metadata=_bearer(token)))
    assert (code, details) == (UNAUTHENTICATED, message)


async def test_expiry_within_the_leeway_is_still_accepted(channel: grpc.aio.Channel) -> None:
    token = _token(exp=int(time.time()) - 2)
    assert (await _check_in(channel, metadata=_bearer(token))).streak.current == 1


async def test_a_player_checks_in_for_itself(channel: grpc.aio.Channel) -> None:
    response = await _check_in(channel, "ann", metadata=_bearer(_token("ann")))
    assert response.check_in.user_id == "ann"


async def test_a_player_acting_for_another_user_is_denied(channel: grpc.aio.Channel) -> None:
    code, details = await _refused(_check_in(channel, "bob", metadata=_bearer(_token("ann"))))
    assert (code, details) == (DENIED, "user_id: a player may act only for itself")
    rank = lb_grpc.LeaderboardServiceStub(channel).GetRank(
        lb_pb.GetRankRequest(board=lb_pb.BoardRef(board_id="b"), member_id="bob"),
        metadata=_bearer(_token("ann")),
    )
    assert (await _refused(rank))[0] == DENIED


async def test_a_player_reads_a_whole_board(channel: grpc.aio.Channel) -> None:
    read = lb_grpc.LeaderboardServiceStub(channel).GetLeaderboard(
        lb_pb.GetLeaderboardRequest(board=lb_pb.BoardRef(board_id="nope"), page_size=10),
        metadata=_bearer(_token("ann")),
    )
    # Past the access check: the board itself is what is missing.
    assert (await _refused(read))[0] == grpc.StatusCode.NOT_FOUND


def _get_program(channel: grpc.aio.Channel, credential: str) -> Any:
    admin = admin_grpc.CheckInAdminServiceStub(channel)
    return admin.GetCheckInProgram(
        admin_pb.GetCheckInProgramRequest(), metadata=_bearer(credential)
    )


@pytest.mark.parametrize("scope", ["player", "service", "player service", "unknown-scope"])
async def test_admin_calls_are_denied_without_ops(channel: grpc.aio.Channel, scope: str) -> None:
    code, details = await _refused(_get_program(channel, _token("ann", scope)))
    assert (code, details) == (DENIED, "this call needs the scope ops")


async def test_unknown_scopes_are_ignored_next_to_known_ones(channel: grpc.aio.Channel) -> None:
    await _get_program(channel, _token("ops-person", "billing:read ops"))


async def test_a_service_acts_for_any_user(channel: grpc.aio.Channel) -> None:
    response = await _check_in(channel, "zoe", metadata=_bearer(_token("orders", "service")))
    assert response.check_in.user_id == "zoe"


async def test_a_configured_api_key_is_accepted_with_its_scopes(channel: grpc.aio.Channel) -> None:
    response = await _check_in(channel, "zoe", metadata=_bearer(SERVICE_KEY))
    assert response.check_in.user_id == "zoe"
    await _get_program(channel, OPS_KEY)
    assert (await _refused(_get_program(channel, SERVICE_KEY)))[0] == DENIED


async def test_an_unknown_api_key_is_unauthenticated(channel: grpc.aio.Channel) -> None:
    code, details = await _refused(_check_in(channel, metadata=_bearer(new_api_key())))
    assert (code, details) == (UNAUTHENTICATED, "unknown API key")
    code, _ = await _refused(_check_in(channel, metadata=_bearer(SERVICE_KEY[:-1])))
    assert code == UNAUTHENTICATED


async def test_rs256_from_a_pem_file_and_es256_from_a_jwks_file(channel: grpc.aio.Channel) -> None:
    claims = _claims("ann", "player")
    rs256 = jwt.encode(claims, RSA_KEY, algorithm="RS256")
    es256 = jwt.encode(claims, EC_KEY, algorithm="ES256", headers={"kid": "ec-1"})
    for token in (rs256, es256):
        assert (await _check_in(channel, metadata=_bearer(token))).check_in.user_id == "ann"
    stranger = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(claims, stranger, algorithm="ES256", headers={"kid": "ec-1"})
    code, details = await _refused(_check_in(channel, metadata=_bearer(forged)))
    assert (code, details) == (UNAUTHENTICATED, "token signature does not verify")


async def test_health_and_reflection_are_open_without_a_credential(
    channel: grpc.aio.Channel,
) -> None:
    health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert health.status in {
        health_pb2.HealthCheckResponse.SERVING,
        health_pb2.HealthCheckResponse.NOT_SERVING,
    }
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    async for response in reflection.ServerReflectionInfo(iter([request])):
        names = {s.name for s in response.list_services_response.service}
        assert "engagement.v1.CheckInService" in names
