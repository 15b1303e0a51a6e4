"""The event value and grant limits as read from the environment."""

from __future__ import annotations

import pytest

from service.settings import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def _required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGAGEMENT_DATABASE_URL", "postgresql://db/engagement")
    monkeypatch.setenv("ENGAGEMENT_REDIS_URL", "redis://cache/0")


def test_defaults_are_safe() -> None:
    settings = load_settings(Settings)
    assert (settings.event_max_value, settings.max_grant_amounts) == (10**9, {})


def test_limits_are_read_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGAGEMENT_EVENT_MAX_VALUE", "5000")
    monkeypatch.setenv("ENGAGEMENT_MAX_GRANT_AMOUNTS", '{"points": 50000, "coupon": 5}')
    settings = load_settings(Settings)
    assert (settings.event_max_value, settings.max_grant_amounts) == (
        5000, {"points": 50000, "coupon": 5},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ENGAGEMENT_EVENT_MAX_VALUE", "0", "greater than or equal to 1"),
        ("ENGAGEMENT_EVENT_MAX_VALUE", str(2**53 + 1), "less than or equal to"),
        ("ENGAGEMENT_MAX_GRANT_AMOUNTS", '{"gold": 1}', "'gold' is not a reward kind"),
        ("ENGAGEMENT_MAX_GRANT_AMOUNTS", '{"points": 0}', "points: must be between 1 and"),
        ("ENGAGEMENT_MAX_GRANT_AMOUNTS", '{"xp": 10000000000000}', "xp: must be between 1 and"),
        ("ENGAGEMENT_MAX_GRANT_AMOUNTS", "points=5", "must be a JSON object"),
    ],
)
def test_a_bad_limit_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=f"^{variable}: .*{message}"):
        load_settings(Settings)
