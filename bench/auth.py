"""Microseconds per call that the auth interceptor adds, in one process: verifying each kind of
credential the first time and again (verified tokens are kept until they expire), and the
whole per-call path (metadata, verification, access check, Caller)."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from functools import partial
from typing import Any, NoReturn

import grpc
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from service.entrypoints.grpc_api.auth import Authenticator, AuthInterceptor
from service.entrypoints.grpc_api.auth_keys import ApiKey, VerificationKey, api_key_digest
from service.entrypoints.grpc_api.tokens import issue_token, new_api_key
from service.gen.engagement.v1 import check_in_pb2

SECRET = "bench-secret-" + "0" * 32
METHOD = "/engagement.v1.CheckInService/CheckIn"


def _authenticators(api_key: str) -> tuple[Authenticator, Authenticator, dict[str, str]]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    keys = {
        "HS256": [VerificationKey("HS256", SECRET.encode())],
        "RS256": [VerificationKey("RS256", rsa_key.public_key())],
        "ES256": [VerificationKey("ES256", ec_key.public_key())],
    }
    # Ten configured keys, the presented one last: every comparison runs.
    names = [(new_api_key(), f"k{i}") for i in range(9)] + [(api_key, "bench")]
    keyring = [ApiKey(api_key_digest(key), name, frozenset({"service"})) for key, name in names]
    claims = {"sub": "u1", "scope": "player", "exp": int(time.time()) + 3600}
    credentials = {
        "HS256 JWT": issue_token(SECRET, "u1", ["player"], 3600),
        "RS256 JWT": jwt.encode(claims, rsa_key, algorithm="RS256"),
        "ES256 JWT": jwt.encode(claims, ec_key, algorithm="ES256"),
        "API key (10 configured)": api_key,
    }
    cold = Authenticator(keys, keyring, token_cache_size=0)
    return cold, Authenticator(keys, keyring), credentials


def _per_call_us(run: Callable[[], object], seconds: float) -> float:
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(100):
            run()
        count += 100
    return elapsed / count * 1e6


class _Details:
    method = METHOD
    invocation_metadata = ()


class _Context:
    def __init__(self, credential: str) -> None:
        self._metadata = (("authorization", f"Bearer {credential}"), ("user-agent", "bench"))

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    async def abort(self, code: grpc.StatusCode, message: str) -> NoReturn:
        raise RuntimeError(f"refused: {code} {message}")


async def _through_interceptor(authenticator: Authenticator, credential: str, n: int) -> float:
    async def servicer(_request: Any, _context: Any) -> None:
        return None

    async def continuation(_details: Any) -> Any:
        return handler

    handler = grpc.unary_unary_rpc_method_handler(servicer)
    details = _Details()
    interceptor = AuthInterceptor(authenticator)
    request, context = check_in_pb2.CheckInRequest(user_id="u1"), _Context(credential)
    started = time.perf_counter()
    for _ in range(n):
        wrapped = await interceptor.intercept_service(continuation, details)  # type: ignore[arg-type]
        await wrapped.unary_unary(request, context)  # type: ignore[arg-type,misc]
    through = (time.perf_counter() - started) / n
    started = time.perf_counter()
    for _ in range(n):
        await servicer(request, context)
    return (through - (time.perf_counter() - started) / n) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    args = parser.parse_args()
    api_key = new_api_key()
    cold, cached, credentials = _authenticators(api_key)
    print(f"{'credential':<26}{'first use us':>13}{'repeat us':>10}{'whole call us':>15}")
    for name, credential in credentials.items():
        first = _per_call_us(partial(cold.authenticate, credential), args.seconds)
        repeat = _per_call_us(partial(cached.authenticate, credential), args.seconds)
        n = max(1000, int(args.seconds * 1e6 / (repeat + 10)))
        whole = asyncio.run(_through_interceptor(cached, credential, n))
        print(f"{name:<26}{first:>13.1f}{repeat:>10.1f}{whole:>15.1f}")
    print("whole call: a repeated credential through the interceptor, less a bare handler call")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
