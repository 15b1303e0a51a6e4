"""TLS and mutual TLS on the gRPC port, with bearer credentials still required."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service.bootstrap import App
from service.entrypoints.grpc_api.security import ServerSecurity
from service.entrypoints.grpc_api.server import RunningServer, start_server
from service.gen.engagement.v1 import check_in_pb2 as pb
from service.gen.engagement.v1 import check_in_pb2_grpc as pb_grpc
from service.settings import Settings, SettingsError
from tests.support import auth
from tests.support.certs import TestAuthority

pytestmark = pytest.mark.e2e


@pytest.fixture
def authority(tmp_path: Path) -> TestAuthority:
    return TestAuthority(tmp_path)


def _tls(settings: Settings, authority: TestAuthority, *, client_ca: bool) -> Settings:
    pair = authority.issue("server", server=True)
    return settings.model_copy(
        update={
            "grpc_plaintext": False,
            "grpc_tls_cert_file": str(pair.cert_file),
            "grpc_tls_key_file": str(pair.key_file),
            "grpc_tls_client_ca_file": str(authority.file) if client_ca else "",
        }
    )


async def _serve(app: App, settings: Settings) -> RunningServer:
    return await start_server(app, "127.0.0.1:0", ServerSecurity.from_settings(settings))


@pytest.fixture
async def tls_server(
    app: App, settings: Settings, authority: TestAuthority
) -> AsyncIterator[RunningServer]:
    running = await _serve(app, _tls(settings, authority, client_ca=False))
    yield running
    await running.stop(0)


@pytest.fixture
async def mtls_server(
    app: App, settings: Settings, authority: TestAuthority
) -> AsyncIterator[RunningServer]:
    running = await _serve(app, _tls(settings, authority, client_ca=True))
    yield running
    await running.stop(0)


async def _check_in(channel: grpc.aio.Channel) -> pb.CheckInResponse:
    return await pb_grpc.CheckInServiceStub(channel).CheckIn(
        pb.CheckInRequest(user_id="tia", timezone="UTC"), timeout=10
    )


async def test_tls_serves_a_caller_that_trusts_the_ca_and_sends_a_token(
    tls_server: RunningServer, authority: TestAuthority
) -> None:
    trust = grpc.ssl_channel_credentials(root_certificates=authority.pem)
    async with auth.channel(tls_server.port, credentials=trust) as channel:
        response = await _check_in(channel)
    assert response.streak.current == 1


async def test_tls_still_needs_a_credential(
    tls_server: RunningServer, authority: TestAuthority
) -> None:
    trust = grpc.ssl_channel_credentials(root_certificates=authority.pem)
    async with grpc.aio.secure_channel(f"localhost:{tls_server.port}", trust) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await _check_in(channel)
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_plaintext_client_cannot_talk_to_a_tls_port(tls_server: RunningServer) -> None:
    async with auth.channel(tls_server.port) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await _check_in(channel)
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_mutual_tls_serves_a_client_with_a_certificate_from_the_ca(
    mtls_server: RunningServer, authority: TestAuthority
) -> None:
    client = authority.issue("orders", server=False)
    credentials = grpc.ssl_channel_credentials(authority.pem, client.key, client.cert)
    async with auth.channel(mtls_server.port, credentials=credentials) as channel:
        response = await _check_in(channel)
    assert response.streak.current == 1


async def test_mutual_tls_refuses_a_client_without_a_certificate_or_with_a_stranger_one(
    mtls_server: RunningServer, authority: TestAuthority, tmp_path: Path
) -> None:
    stranger = TestAuthority(tmp_path, "Other CA").issue("mallory", server=False)
    for credentials in (
        grpc.ssl_channel_credentials(authority.pem),
        grpc.ssl_channel_credentials(authority.pem, stranger.key, stranger.cert),
    ):
        async with auth.channel(mtls_server.port, credentials=credentials) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=10
                )
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE


def test_unreadable_or_non_pem_files_stop_startup_naming_the_variable(
    settings: Settings, authority: TestAuthority, tmp_path: Path
) -> None:
    tls = _tls(settings, authority, client_ca=True)
    (tmp_path / "junk.pem").write_text("not a certificate")
    cases = {
        "grpc_tls_cert_file": "ENGAGEMENT_GRPC_TLS_CERT_FILE: ",
        "grpc_tls_key_file": "ENGAGEMENT_GRPC_TLS_KEY_FILE: ",
        "grpc_tls_client_ca_file": "ENGAGEMENT_GRPC_TLS_CLIENT_CA_FILE: ",
    }
    for field, prefix in cases.items():
        for path in (tmp_path / "missing.pem", tmp_path / "junk.pem"):
            broken = tls.model_copy(update={field: str(path)})
            with pytest.raises(SettingsError) as raised:
                ServerSecurity.from_settings(broken)
            assert str(raised.value).startswith(prefix)
            assert str(path) in str(raised.value)
            assert "\n" not in str(raised.value)
