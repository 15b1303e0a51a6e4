"""The typed client over TLS and mutual TLS, from files as an operator configures it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from engagement_client import ClientConfigError, ClientOptions, EngagementClient
from engagement_client.gen.engagement.v1 import grants_pb2, live_pb2
from service.bootstrap import App
from service.entrypoints.grpc_api.security import ServerSecurity
from service.entrypoints.grpc_api.server import RunningServer, start_server
from service.settings import Settings
from tests.support import auth
from tests.support.certs import TestAuthority

pytestmark = pytest.mark.e2e


@pytest.fixture
def authority(tmp_path: Path) -> TestAuthority:
    return TestAuthority(tmp_path)


@pytest.fixture
async def mtls_server(
    app: App, settings: Settings, authority: TestAuthority
) -> AsyncIterator[RunningServer]:
    pair = authority.issue("server", server=True)
    tls = settings.model_copy(
        update={
            "grpc_plaintext": False,
            "grpc_tls_cert_file": str(pair.cert_file),
            "grpc_tls_key_file": str(pair.key_file),
            "grpc_tls_client_ca_file": str(authority.file),
        }
    )
    running = await start_server(app, "127.0.0.1:0", ServerSecurity.from_settings(tls))
    yield running
    await running.stop(0)


async def _stats(options: ClientOptions) -> grpc.StatusCode:
    async with EngagementClient(options) as client:
        try:
            await client.grants.GetGrantStats(grants_pb2.GetGrantStatsRequest())
        except grpc.aio.AioRpcError as exc:
            return exc.code()
    return grpc.StatusCode.OK


async def test_mutual_tls_with_a_token_from_files(
    mtls_server: RunningServer, authority: TestAuthority
) -> None:
    me = authority.issue("ops-cli", server=False)
    options = ClientOptions(
        address=f"localhost:{mtls_server.port}", token=auth.token(), ca_file=str(authority.file),
        cert_file=str(me.cert_file), key_file=str(me.key_file), timeout_seconds=5,
    )  # fmt: skip
    assert await _stats(options) == grpc.StatusCode.OK
    assert await _stats(ClientOptions(**{**options.__dict__, "token": ""})) == (
        grpc.StatusCode.UNAUTHENTICATED
    )


async def test_a_stream_over_mutual_tls_carries_the_token(
    mtls_server: RunningServer, authority: TestAuthority
) -> None:
    me = authority.issue("app-backend", server=False)
    options = ClientOptions(
        address=f"localhost:{mtls_server.port}", token=auth.token("ana", "player"),
        ca_file=str(authority.file), cert_file=str(me.cert_file), key_file=str(me.key_file),
    )  # fmt: skip
    async with EngagementClient(options) as client, client.watch_user("ana") as watching:
        first = await anext(watching)
    assert first.HasField("heartbeat")
    async with EngagementClient(ClientOptions(**{**options.__dict__, "token": ""})) as client:
        call = client.live.WatchUser(live_pb2.WatchUserRequest(user_id="ana"))
        assert await call.code() == grpc.StatusCode.UNAUTHENTICATED


def test_options_come_from_the_environment_and_bad_files_are_named(tmp_path: Path) -> None:
    env = {"ENGAGEMENT_ADDRESS": "h:1", "ENGAGEMENT_TOKEN": "t", "ENGAGEMENT_PLAINTEXT": "true"}
    options = ClientOptions.from_env(env, token="flag")
    assert (options.address, options.token, options.plaintext) == ("h:1", "flag", True)
    missing = ClientOptions(ca_file=str(tmp_path / "ca.pem"))
    with pytest.raises(ClientConfigError, match=r"cannot read the CA file .*ca\.pem"):
        EngagementClient(missing)
    with pytest.raises(ClientConfigError, match="both its cert file and its key file"):
        EngagementClient(ClientOptions(cert_file=str(tmp_path / "c.pem")))
