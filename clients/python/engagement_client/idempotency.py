"""Idempotency keys: fresh ones for new writes, derived ones for writes that may be repeated."""

from __future__ import annotations

import hashlib
import uuid

MAX_KEY_LENGTH = 128


def new_key(prefix: str = "") -> str:
    """A unique key for one write; keep it and send the same one when retrying that write."""
    key = uuid.uuid4().hex
    return f"{prefix}:{key}" if prefix else key


def derived_key(prefix: str, *parts: object) -> str:
    """A key that is the same whenever `parts` are: a rerun of the same work repeats it.

    Long inputs are hashed, so the key stays within the service's 128 characters.
    """
    body = "\x1f".join(str(part) for part in parts)
    key = f"{prefix}:{body}" if prefix else body
    if len(key) <= MAX_KEY_LENGTH and "\x1f" not in key:
        return key
    digest = hashlib.sha256(body.encode()).hexdigest()[:40]
    return f"{prefix}:{digest}" if prefix else digest
