"""Bearer credentials on every call: a JWT or an API key in, the call's Caller or a refusal out."""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import grpc
import jwt

from service.entrypoints.grpc_api.access import ACCESS, KNOWN_SCOPES, Access, denial, is_open
from service.entrypoints.grpc_api.auth_keys import (
    ApiKey,
    VerificationKey,
    api_key_digest,
    api_keys,
    verification_keys,
)
from service.entrypoints.grpc_api.caller import (
    Caller,
    PermissionDenied,
    Unauthenticated,
    request_id_from,
    reset_caller,
    set_caller,
)
from service.entrypoints.grpc_api.context import Context
from service.entrypoints.grpc_api.errors import status_for
from service.entrypoints.grpc_api.wrapping import (
    Handler,
    MethodHandler,
    StreamHandler,
    WrappingInterceptor,
    behaviour_of,
    server_stream,
    stream_behaviour_of,
    unary,
)
from service.observability.logs import current_call
from service.settings import AuthSettings

log = logging.getLogger(__name__)

AUTHORIZATION = "authorization"
_CLAIM_ERRORS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.ImmatureSignatureError, "token not yet valid"),
    (jwt.InvalidAudienceError, "token audience not accepted"),
    (jwt.InvalidIssuerError, "token issuer not accepted"),
    (jwt.exceptions.InvalidSubjectError, "token sub must be a non-empty string"),
)


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a verified credential names and the known scopes it holds (maybe none)."""

    subject: str
    scopes: frozenset[str]


class VerifiedTokens:
    """Tokens verified recently, kept until they expire: a repeated token costs a lookup."""

    def __init__(self, leeway_seconds: float, size: int = 16_384) -> None:
        self._leeway = leeway_seconds
        self._size = size
        # token -> (identity, not before, expires), oldest first
        self._entries: dict[str, tuple[Identity, float, float]] = {}

    def get(self, token: str, now: float) -> Identity | None:
        """The identity of an unexpired, already valid token verified before."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        identity, not_before, expires = entry
        if now > expires + self._leeway:
            del self._entries[token]
            return None
        return identity if now >= not_before - self._leeway else None

    def put(self, token: str, identity: Identity, claims: dict[str, Any]) -> None:
        if self._size == 0:
            return
        if len(self._entries) >= self._size:
            del self._entries[next(iter(self._entries))]
        self._entries[token] = (identity, float(claims.get("nbf", 0)), float(claims["exp"]))


class Authenticator:
    """Verifies HS256/RS256/ES256 JWTs and API keys, from keys read once at startup."""

    def __init__(
        self,
        keys: Mapping[str, list[VerificationKey]],
        keyring: Iterable[ApiKey] = (),
        *,
        audience: str = "",
        issuer: str = "",
        leeway_seconds: float = 30.0,
        token_cache_size: int = 16_384,
    ) -> None:
        self._keys = dict(keys)
        self._api_keys = tuple(keyring)
        self._claims: dict[str, Any] = {
            "audience": audience or None,
            "issuer": issuer or None,
            "leeway": leeway_seconds,
        }
        self._jwt = jwt.PyJWT({"require": ["exp", "sub"]})
        self._verified = VerifiedTokens(leeway_seconds, token_cache_size)

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> Authenticator:
        """Read every key file now, so that a bad one stops startup with a SettingsError."""
        return cls(
            verification_keys(settings),
            api_keys(settings),
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway_seconds=settings.jwt_leeway_seconds,
        )

    def authenticate(self, credential: str) -> Identity:
        """The identity behind `credential`; Unauthenticated when it does not verify."""
        if credential.count(".") == 2:  # header.payload.signature; API keys hold no dots
            return self._token(credential)
        return self._api_key(credential)

    def _api_key(self, credential: str) -> Identity:
        digest = api_key_digest(credential)
        found: ApiKey | None = None
        for entry in self._api_keys:  # no early exit: the time does not depend on the match
            if hmac.compare_digest(entry.digest, digest):
                found = entry
        if found is None:
            raise Unauthenticated("unknown API key")
        return Identity(found.name, found.scopes)

    def _token(self, token: str) -> Identity:
        now = time.time()
        if (identity := self._verified.get(token, now)) is not None:
            return identity
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("malformed token") from None
        candidates = self._candidates(header.get("alg"), header.get("kid"))
        claims = self._decoded(token, candidates)
        subject, scope = claims["sub"], claims.get("scope", "")
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated("token sub must be a non-empty string")
        if not isinstance(scope, str):
            raise Unauthenticated("token scope must be a space-separated string")
        identity = Identity(subject, frozenset(scope.split()) & KNOWN_SCOPES)
        self._verified.put(token, identity, claims)
        return identity

    def _candidates(self, algorithm: object, key_id: object) -> list[VerificationKey]:
        keys = self._keys.get(algorithm) if isinstance(algorithm, str) else None
        if not keys:
            raise Unauthenticated(f"token algorithm not accepted (have {', '.join(self._keys)})")
        named = [key for key in keys if key.key_id is not None and key.key_id == key_id]
        return named or [key for key in keys if key.key_id is None] or keys

    def _decoded(self, token: str, candidates: list[VerificationKey]) -> dict[str, Any]:
        for key in candidates:
            try:
                return self._jwt.decode(token, key.key, algorithms=[key.algorithm], **self._claims)
            except jwt.InvalidSignatureError:
                continue  # another configured key (rotation) may have signed it
            except jwt.PyJWTError as exc:
                raise Unauthenticated(_claim_error(exc)) from None
        raise Unauthenticated("token signature does not verify")


def _claim_error(exc: jwt.PyJWTError) -> str:
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"token lacks the {exc.claim} claim"
    for kind, message in _CLAIM_ERRORS:
        if isinstance(exc, kind):
            return message
    return "malformed token"


def bearer_credential(metadata: Iterable[tuple[str, Any]] | None) -> str:
    """The credential of an `authorization: Bearer <credential>` entry."""
    for key, value in metadata or ():
        if key == AUTHORIZATION:
            scheme, _, credential = str(value).partition(" ")
            if scheme.lower() != "bearer" or not credential.strip():
                raise Unauthenticated("authorization must be 'Bearer <credential>'")
            return credential.strip()
    raise Unauthenticated("missing credential: send authorization: Bearer <token or API key>")


async def _refuse(refusal: Unauthenticated | PermissionDenied, context: Context) -> NoReturn:
    code, message = status_for(refusal) or (grpc.StatusCode.PERMISSION_DENIED, str(refusal))
    await context.abort(code, message)


async def _admitted(
    method: str, access: Access, authenticator: Authenticator, request: Any, context: Context
) -> Caller:
    """The caller of a call its credential allows; else the call is aborted."""
    metadata = context.invocation_metadata()
    request_id = request_id_from(metadata)
    try:
        identity = authenticator.authenticate(bearer_credential(metadata))
        if (reason := denial(access, identity.subject, identity.scopes, request)) is not None:
            raise PermissionDenied(reason)
    except (Unauthenticated, PermissionDenied) as refusal:
        log.info("%s refused (request id %s): %r", method, request_id, refusal)
        await _refuse(refusal, context)
    if (call := current_call()) is not None:
        call.subject = identity.subject  # for the access log line
    return Caller(identity.subject, identity.scopes, request_id)


def _guarded(method: str, access: Access, authenticator: Authenticator, inner: Handler) -> Handler:
    async def handle(request: Any, context: Context) -> Any:
        caller = await _admitted(method, access, authenticator, request, context)
        token = set_caller(caller)
        try:
            return await inner(request, context)
        finally:
            reset_caller(token)

    return handle


def _guarded_stream(
    method: str, access: Access, authenticator: Authenticator, inner: StreamHandler
) -> StreamHandler:
    async def handle(request: Any, context: Context) -> AsyncIterator[Any]:
        # Set for the rest of the call's task and never reset: a generator may be closed from
        # another context (asyncio's finalizer), where resetting would raise.
        set_caller(await _admitted(method, access, authenticator, request, context))
        async for response in inner(request, context):
            yield response

    return handle


def _refusing(handler: MethodHandler, message: str) -> MethodHandler:
    """A handler of the same kind as `handler` that refuses every call."""

    async def refuse(_request: Any, context: Context) -> None:
        await _refuse(PermissionDenied(message), context)

    options = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(refuse, **options)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(refuse, **options)
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(refuse, **options)
    return grpc.stream_stream_rpc_method_handler(refuse, **options)


class AuthInterceptor(WrappingInterceptor):
    """Authenticates and authorises every call but health and reflection; sets its Caller."""

    def __init__(self, authenticator: Authenticator, access: Mapping[str, Access] = ACCESS) -> None:
        super().__init__()
        self._authenticator = authenticator
        self._access = access

    def wrap(self, method: str, handler: MethodHandler) -> MethodHandler:
        if is_open(method):
            return handler
        access = self._access.get(method)
        streaming = stream_behaviour_of(handler)
        if access is None or (handler.unary_unary is None and streaming is None):
            # Fail closed: an RPC without an entry in the access table is nobody's to call.
            log.error("no access rule for %s (or it streams requests); calls are refused", method)
            return _refusing(handler, f"no access rule for {method}")
        if streaming is not None:
            return server_stream(
                handler, _guarded_stream(method, access, self._authenticator, streaming)
            )
        return unary(handler, _guarded(method, access, self._authenticator, behaviour_of(handler)))
