"""Exceptions to status codes: store failures are UNAVAILABLE however deep the driver's is."""

from __future__ import annotations

import asyncpg
import grpc
import sqlalchemy.exc

from service.entrypoints.grpc_api.errors import status_for


class AdapterError(Exception):
    """Stands in for SQLAlchemy's asyncpg adapter error, which carries the driver's."""


def _wrapped(driver_error: Exception) -> sqlalchemy.exc.DBAPIError:
    adapter = AdapterError("adapter")
    adapter.__cause__ = driver_error
    return sqlalchemy.exc.DBAPIError("select 1", None, adapter)


def test_a_driver_connection_error_behind_the_adapter_is_unavailable() -> None:
    for driver_error in (
        asyncpg.CannotConnectNowError("the database system is shutting down"),
        asyncpg.ConnectionDoesNotExistError("connection was closed"),
    ):
        mapped = status_for(_wrapped(driver_error))
        assert mapped is not None
        assert mapped[0] is grpc.StatusCode.UNAVAILABLE


def test_an_unknown_error_behind_the_adapter_stays_a_bug() -> None:
    assert status_for(_wrapped(ValueError("bug"))) is None
