"""Auth and TLS settings: each mistake stops startup with one line naming the variable."""

from __future__ import annotations

import pytest

from service.settings import Settings, SettingsError, load_settings
from tests.support.auth import TEST_SECRET

HASH = "ab" * 32


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "REDIS_URL"):
        monkeypatch.setenv(
            f"ENGAGEMENT_{name}", "postgresql://h/d" if name[0] == "D" else "redis://h"
        )


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"JWT_HS256_SECRETS": "short"}, "ENGAGEMENT_JWT_HS256_SECRETS: Value error, each secret "),
        ({"JWT_LEEWAY_SECONDS": "3600"}, "ENGAGEMENT_JWT_LEEWAY_SECONDS: "),
        ({"API_KEYS": "[{"}, "ENGAGEMENT_API_KEYS: Value error, must be a JSON list"),
        ({"API_KEYS": '[{"name": "a", "sha256": "xyz", "scopes": ["service"]}]'},
         "ENGAGEMENT_API_KEYS[0][sha256]: "),
        ({"API_KEYS": f'[{{"name": "a", "sha256": "{HASH}", "scopes": ["player"]}}]'},
         "ENGAGEMENT_API_KEYS[0][scopes][0]: "),
        ({"API_KEYS": f'[{{"name": "a", "sha256": "{HASH}", "scopes": []}}]'},
         "ENGAGEMENT_API_KEYS[0][scopes]: "),
        ({"API_KEYS": f'[{{"name": "a", "sha256": "{HASH}", "scopes": ["ops"], "key": "k"}}]'},
         "ENGAGEMENT_API_KEYS[0][key]: "),
        ({"API_KEYS": f'[{{"name": "a", "sha256": "{HASH}", "scopes": ["ops"]}},'
                      f' {{"name": "b", "sha256": "{HASH}", "scopes": ["ops"]}}]'},
         "ENGAGEMENT_API_KEYS: Value error, the same sha256 appears twice"),
        ({"GRPC_TLS_CERT_FILE": "c.pem"}, "ENGAGEMENT_GRPC_TLS_KEY_FILE: "),
        ({"GRPC_TLS_KEY_FILE": "k.pem"}, "ENGAGEMENT_GRPC_TLS_KEY_FILE: "),
        ({"GRPC_TLS_CLIENT_CA_FILE": "ca.pem"}, "ENGAGEMENT_GRPC_TLS_CLIENT_CA_FILE: "),
        ({"GRPC_TLS_CERT_FILE": "c", "GRPC_TLS_KEY_FILE": "k", "GRPC_PLAINTEXT": "true"},
         "ENGAGEMENT_GRPC_PLAINTEXT: Value error, must not be true when"),
    ],
)  # fmt: skip
def test_a_bad_setting_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], message: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(f"ENGAGEMENT_{name}", value)
    with pytest.raises(SettingsError) as raised:
        load_settings(Settings)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_secrets_and_key_files_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGAGEMENT_JWT_HS256_SECRETS", f" {TEST_SECRET} , {'y' * 32},")
    monkeypatch.setenv("ENGAGEMENT_JWT_PUBLIC_KEY_FILES", "a.pem,b.pem")
    settings = load_settings(Settings)
    assert settings.jwt_hs256_secrets == (TEST_SECRET, "y" * 32)
    assert settings.jwt_public_key_files == ("a.pem", "b.pem")


def test_serving_needs_tls_or_explicit_plaintext_and_some_way_to_authenticate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(SettingsError, match="GRPC_PLAINTEXT=true"):
        load_settings(Settings).require_serving_security()
    monkeypatch.setenv("ENGAGEMENT_GRPC_PLAINTEXT", "true")
    with pytest.raises(SettingsError, match="no caller can be authenticated"):
        load_settings(Settings).require_serving_security()
    monkeypatch.setenv(
        "ENGAGEMENT_API_KEYS", f'[{{"name": "a", "sha256": "{HASH}", "scopes": ["ops"]}}]'
    )
    load_settings(Settings).require_serving_security()
