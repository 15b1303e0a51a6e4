"""The stub as a child process, for `make run` when no loyalty system is configured."""

from __future__ import annotations

import logging
import os
import re
import select
import subprocess
import sys
import time

from service.settings import ENV_PREFIX

log = logging.getLogger(__name__)

_READY = re.compile(r"loyalty stub listening on (\S+:\d+)")
_START_TIMEOUT_S = 30.0


class StubProcess:
    """A running `engagement loyalty-stub` child; `address` is HOST:PORT."""

    def __init__(self, process: subprocess.Popen[str], address: str) -> None:
        self._process = process
        self.address = address

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()


def start_stub_process() -> StubProcess:
    """Start the stub on a free loopback port and return once it is listening."""
    env = os.environ | {"ENGAGEMENT_LOYALTY_STUB_ADDRESS": "127.0.0.1:0"}
    # A new session keeps the terminal's Ctrl-C from stopping the stub before the relay.
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "loyalty-stub"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    deadline = time.monotonic() + _START_TIMEOUT_S
    while (remaining := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([process.stdout], [], [], remaining)
        line = process.stdout.readline() if ready else ""
        if match := _READY.search(line):
            return StubProcess(process, match.group(1))
        if process.poll() is not None:
            break
    StubProcess(process, "").stop()
    raise RuntimeError("the loyalty stub did not start; run `engagement loyalty-stub` to see why")


def start_stub_if_unconfigured() -> StubProcess | None:
    """Start the stub and point ENGAGEMENT_LOYALTY_* at it unless a loyalty sink is set."""
    if os.environ.get(f"{ENV_PREFIX}LOYALTY_SINK", "none") != "none":
        return None
    stub = start_stub_process()
    os.environ[f"{ENV_PREFIX}LOYALTY_SINK"] = "grpc"
    os.environ[f"{ENV_PREFIX}LOYALTY_ADDRESS"] = stub.address
    log.info("no loyalty system configured: delivering grants to the stub on %s", stub.address)
    return stub
