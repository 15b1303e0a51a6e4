"""`make run`'s security: an explicit plaintext port, a dev secret made once, a working token."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from service import dev
from service.entrypoints.grpc_api.auth import Authenticator, Identity
from service.settings import Settings


def test_the_dev_secret_is_made_once_private_and_then_kept(tmp_path: Path) -> None:
    path = tmp_path / ".data" / "dev-jwt-secret"
    first = dev.dev_secret(path)

    assert dev.dev_secret(path) == first
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_dev_mode_serves_plaintext_with_the_dev_secret_and_prints_an_operator_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("GRPC_TLS_CERT_FILE", "GRPC_PLAINTEXT", "JWT_HS256_SECRETS"):
        # Set first so that what use_dev_security writes is undone after the test.
        monkeypatch.setenv(f"ENGAGEMENT_{name}", "")
        monkeypatch.delenv(f"ENGAGEMENT_{name}")
    monkeypatch.chdir(tmp_path)
    dev.use_dev_security()
    settings = Settings(database_url="postgresql://h/d", redis_url="redis://h")

    banner = dev.banner(settings).format(address="127.0.0.1:50051")
    token = banner.split("export TOKEN=")[1].split()[0]
    assert settings.grpc_plaintext
    assert settings.jwt_hs256_secrets == ((tmp_path / dev.DEV_SECRET_FILE).read_text(),)
    assert banner.lstrip().startswith("WARNING: plaintext gRPC on 127.0.0.1:50051")
    assert banner.count('-H "authorization: Bearer $TOKEN"') == 4
    authenticator = Authenticator.from_settings(settings)
    assert authenticator.authenticate(token) == Identity(
        "dev-operator", frozenset({"ops", "service"})
    )
