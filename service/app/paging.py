"""Opaque page tokens for lists that page by descending id."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from service.domain.errors import InvalidArgument


def _filter_digest(where: object) -> str:
    return hashlib.sha256(repr(where).encode()).hexdigest()[:16]


def encode_page_token(before_id: int, where: object) -> str:
    """An opaque token for the page after `before_id`, bound to the filters it was made for."""
    doc = json.dumps({"before": before_id, "filter": _filter_digest(where)})
    return base64.urlsafe_b64encode(doc.encode()).decode()


def decode_page_token(token: str, where: object) -> int | None:
    """The id the next page starts below, or None for the first page."""
    if not token:
        return None
    try:
        doc = json.loads(base64.urlsafe_b64decode(token.encode()))
        before, digest = int(doc["before"]), str(doc["filter"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise InvalidArgument("page_token", "is not a token this service issued") from exc
    if digest != _filter_digest(where):
        raise InvalidArgument("page_token", "was issued for other filters")
    return before
