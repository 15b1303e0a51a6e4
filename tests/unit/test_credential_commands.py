"""`engagement token` and `engagement api-key`: what they print works where it is meant to."""

from __future__ import annotations

import json

import pytest

from service.cli import main
from service.entrypoints.grpc_api.auth import Authenticator, Identity
from service.settings import AuthSettings, load_settings
from tests.support.auth import TEST_SECRET


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGAGEMENT_JWT_HS256_SECRETS", f"{TEST_SECRET},{'x' * 32}")
    monkeypatch.setenv("ENGAGEMENT_JWT_AUDIENCE", "engagement")
    monkeypatch.setenv("ENGAGEMENT_JWT_ISSUER", "ops-cli")


def test_token_prints_a_token_the_service_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--subject", "deploy-bot", "--scope", "ops service", "--ttl", "60"]) == 0

    token = capsys.readouterr().out.strip()
    authenticator = Authenticator.from_settings(load_settings(AuthSettings))
    assert authenticator.authenticate(token) == Identity(
        "deploy-bot", frozenset({"ops", "service"})
    )


def test_token_needs_a_configured_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ENGAGEMENT_JWT_HS256_SECRETS")
    assert main(["token", "--subject", "s", "--scope", "ops"]) == 2
    assert capsys.readouterr().err == (
        "engagement: ENGAGEMENT_JWT_HS256_SECRETS: is required to issue tokens\n"
    )


@pytest.mark.parametrize(
    "arguments",
    [["--scope", "admin"], ["--scope", "ops", "--ttl", "0"], ["--scope", "ops", "--ttl", "1h"]],
)
def test_token_refuses_unknown_scopes_and_bad_lifetimes(arguments: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["token", "--subject", "s", *arguments])
    assert exited.value.code == 2


def test_api_key_prints_the_key_once_and_an_entry_with_its_hash_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["api-key", "--name", "orders", "--scope", "service"]) == 0

    printed = capsys.readouterr()
    key, entry = printed.out.strip().splitlines()
    assert key not in entry
    assert key not in printed.err
    monkeypatch.setenv("ENGAGEMENT_API_KEYS", f"[{entry}]")
    settings = load_settings(AuthSettings)
    assert settings.api_keys[0].name == "orders"
    authenticator = Authenticator.from_settings(settings)
    assert authenticator.authenticate(key) == Identity("orders", frozenset({"service"}))
    assert json.loads(entry)["scopes"] == ["service"]


def test_api_keys_are_not_for_players() -> None:
    with pytest.raises(SystemExit) as exited:
        main(["api-key", "--name", "app", "--scope", "player"])
    assert exited.value.code == 2
