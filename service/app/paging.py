"""Page sizes and signed page tokens for lists that page by descending id."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from service.domain.errors import InvalidArgument

MAX_ID = 2**63 - 1
MAX_TOKEN_LENGTH = 256
_MAC_BYTES = 16  # a truncated HMAC-SHA256 tag: 128 bits is plenty against forgery
_INVALID = "is not a token this service issued"


def page_size(requested: int, default: int, maximum: int, *, field: str = "page_size") -> int:
    """The one convention of every list: 0 means `default`, 1..`maximum` as asked."""
    if requested < 0:
        raise InvalidArgument(field, "must not be negative")
    if requested > maximum:
        raise InvalidArgument(field, f"must be at most {maximum}")
    return requested or default


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PageTokens:
    """Issues and verifies page tokens, signed so that a caller cannot forge or alter one.

    A token binds the id the next page starts below to a digest of the filters it was made
    for. Every replica behind one address must share the key, or a token from one is refused
    by the next.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a page token key needs at least 16 bytes")
        self._key = key

    @classmethod
    def from_secret(cls, secret: str) -> PageTokens:
        """Tokens keyed by `secret`, or by a random key of this process when it is empty."""
        return cls(secret.encode() if secret else secrets.token_bytes(32))

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, before_id: int, where: object) -> str:
        """An opaque token for the page after `before_id`, bound to the filters `where`."""
        payload = f"{before_id}:{_filter_digest(where)}".encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def decode(self, token: str, where: object) -> int | None:
        """The id the next page starts below, or None for the first page."""
        if not token:
            return None
        payload = self._verified(token)
        before, _, digest = payload.partition(b":")
        if digest.decode() != _filter_digest(where):
            raise InvalidArgument("page_token", "was issued for other filters")
        if not before.isdigit() or not 1 <= int(before) <= MAX_ID:
            raise InvalidArgument("page_token", _INVALID)
        return int(before)

    def _verified(self, token: str) -> bytes:
        if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            raise InvalidArgument("page_token", _INVALID)
        body, _, tag = token.partition(".")
        try:
            payload, mac = _unb64(body), _unb64(tag)
        except (ValueError, binascii.Error) as exc:
            raise InvalidArgument("page_token", _INVALID) from exc
        # Only the canonical spelling: unused low bits of the last character must be zero.
        canonical = f"{_b64(payload)}.{_b64(mac)}" == token
        if not canonical or not hmac.compare_digest(mac, self._mac(payload)):
            raise InvalidArgument("page_token", _INVALID)
        return payload


def _filter_digest(where: object) -> str:
    return hashlib.sha256(repr(where).encode()).hexdigest()[:16]
