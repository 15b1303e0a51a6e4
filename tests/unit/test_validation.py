"""Shared input rules: ids, IANA timezones, calendar days and months."""

from __future__ import annotations

import datetime as dt

import pytest

from service.domain.errors import InvalidArgument
from service.domain.validation import (
    check_http_url,
    check_id,
    parse_day,
    parse_month,
    parse_timezone,
)

# Ids


@pytest.mark.parametrize("value", ["u", "user-1", "x" * 128, "ユーザー 7", "a:b/c@d"])
def test_a_usable_id_is_returned(value: str) -> None:
    assert check_id("user_id", value) == value


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("", "must not be empty"),
        ("x" * 129, "at most 128 characters"),
        ("user\n1", "printable"),
        ("user\x001", "printable"),
        ("\t", "printable"),
        ("user\u200b1", "printable"),  # zero-width space
        ("   ", "must not be blank"),
        (" ana", "must not start or end with a space"),
        ("ana ", "must not start or end with a space"),
    ],
)
def test_an_unusable_id_names_the_field(value: str, rule: str) -> None:
    with pytest.raises(InvalidArgument) as excinfo:
        check_id("user_id", value)

    assert excinfo.value.field == "user_id"
    assert rule in excinfo.value.rule


# Links


@pytest.mark.parametrize(
    "value", ["", "https://cdn.example/a.png", "http://x.example:8080/a?b=c", "HTTPS://X.EXAMPLE"]
)
def test_an_http_url_with_a_host_is_returned(value: str) -> None:
    assert check_http_url("avatar_url", value) == value


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        "data:text/html,hi",
        "ftp://x.example/a",
        "https://",
        "//x.example/a",
        "https://x.example/a b",
        "https://x.example/\x00",
        "https://[::1",
        "https://x.example/" + "a" * 2048,
    ],
)
def test_other_urls_are_refused(value: str) -> None:
    with pytest.raises(InvalidArgument) as excinfo:
        check_http_url("avatar_url", value)

    assert excinfo.value.field == "avatar_url"


# Timezones


@pytest.mark.parametrize("name", ["UTC", "Asia/Tokyo", "America/New_York", "Europe/Berlin"])
def test_a_known_timezone_is_returned(name: str) -> None:
    assert parse_timezone("timezone", name).key == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "Mars/Olympus_Mons",
        "asia/tokyo",
        " UTC",
        "Asia/Tokyo/",
        "../etc/passwd",
        "/usr/share/zoneinfo/UTC",
        "UTC\x00",
        pytest.param("America"),
        pytest.param("x" * 300),
    ],
)
def test_an_unknown_timezone_names_the_field(name: str) -> None:
    with pytest.raises(InvalidArgument) as excinfo:
        parse_timezone("timezone", name)

    assert excinfo.value.field == "timezone"
    assert "unknown IANA timezone" in excinfo.value.rule


# Days and months


@pytest.mark.parametrize(
    ("value", "day"),
    [("2024-02-29", dt.date(2024, 2, 29)), ("0001-01-01", dt.date(1, 1, 1))],
)
def test_a_calendar_day_is_parsed(value: str, day: dt.date) -> None:
    assert parse_day("day", value) == day


@pytest.mark.parametrize(
    "value",
    [
        "",
        "2023-02-29",
        "2024-13-01",
        "2024-00-10",
        "20240101",
        "2024-1-01",
        "2024-01-01T00:00",
        " 2024-01-01",
        "2024/01/01",
        "today",
        pytest.param("2024-W01-1"),
    ],
)
def test_a_malformed_day_names_the_field(value: str) -> None:
    with pytest.raises(InvalidArgument) as excinfo:
        parse_day("day", value)

    assert excinfo.value.field == "day"
    assert "YYYY-MM-DD" in excinfo.value.rule


@pytest.mark.parametrize(
    ("value", "first"),
    [("2024-05", dt.date(2024, 5, 1)), ("2024-12", dt.date(2024, 12, 1))],
)
def test_a_month_is_parsed_to_its_first_day(value: str, first: dt.date) -> None:
    assert parse_month("month", value) == first


@pytest.mark.parametrize(
    "value",
    [
        "",
        "2024-13",
        "2024-00",
        "2024-5",
        "24-05",
        "2024-05-01",
        "2024/05",
        "May 2024",
        "2024-+5",
        "2024- 5",
        "2_24-05",
        "\uff12\uff10\uff12\uff14-\uff10\uff15",  # fullwidth
    ],
)
def test_a_malformed_month_names_the_field(value: str) -> None:
    with pytest.raises(InvalidArgument) as excinfo:
        parse_month("month", value)

    assert excinfo.value.field == "month"
    assert "YYYY-MM" in excinfo.value.rule
