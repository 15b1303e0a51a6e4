"""A throwaway 3-master Redis Cluster on loopback ports, started from the redis-server binary."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from service.embedded import find_redis_server

HOST = "127.0.0.1"
_MASTERS = 3
_SLOTS = 16384
_BUS_PORT_OFFSET = 10000  # Redis derives each node's cluster bus port from its client port
_READY_TIMEOUT_S = 20.0
_STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class ClusterNodes:
    """The running masters; any of them works as a startup node for a cluster client."""

    host: str
    ports: tuple[int, ...]


@pytest.fixture
def redis_cluster(tmp_path: Path) -> Iterator[ClusterNodes]:
    """Three cluster-enabled redis-server processes sharing all slots; stopped by PID after."""
    binary = _redis_server_7()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        ports = _start_nodes(binary, tmp_path, processes)
        _create_cluster(binary, ports)
        _wait_until_ok(ports, processes, tmp_path)
        yield ClusterNodes(HOST, ports)
    finally:
        for process in processes:
            _stop(process)


def _redis_server_7() -> str:
    try:
        path, version = find_redis_server()
    except RuntimeError as exc:
        pytest.skip(f"no redis-server >= 7 was found for the cluster test: {exc}")
    if int(version.split(".")[0]) < 7:
        pytest.skip(f"no redis-server >= 7 was found for the cluster test (only {version})")
    return path


def _start_nodes(
    binary: str, directory: Path, processes: list[subprocess.Popen[bytes]]
) -> tuple[int, ...]:
    ports = _free_ports(_MASTERS)
    for port in ports:
        node_dir = directory / f"node-{port}"
        node_dir.mkdir()
        command = [
            binary,
            *("--port", str(port), "--bind", HOST, "--dir", str(node_dir)),
            *("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
            *("--save", "", "--appendonly", "no", "--daemonize", "no"),
        ]
        with (node_dir / "redis.log").open("wb") as log:
            processes.append(
                subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            )
    return ports


def _free_ports(count: int) -> tuple[int, ...]:
    # The OS picks unused client ports; a port is kept only if its bus port is free as well.
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            port = probe.getsockname()[1]
        bus_port = port + _BUS_PORT_OFFSET
        if port not in ports and bus_port < 65536 and _is_free(bus_port):
            ports.append(port)
    return tuple(ports)


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def _create_cluster(binary: str, ports: tuple[int, ...]) -> None:
    for port in ports:
        _wait_for_ping(port)
    redis_cli = Path(binary).with_name("redis-cli")
    if redis_cli.exists() or shutil.which("redis-cli"):
        cli = str(redis_cli) if redis_cli.exists() else "redis-cli"
        addresses = [f"{HOST}:{port}" for port in ports]
        subprocess.run(
            [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=_READY_TIMEOUT_S,
        )
    else:
        _assign_slots_by_hand(ports)


def _assign_slots_by_hand(ports: tuple[int, ...]) -> None:
    share = _SLOTS // len(ports)
    for index, port in enumerate(ports):
        first = index * share
        last = _SLOTS - 1 if index == len(ports) - 1 else first + share - 1
        with _client(port) as node:
            node.cluster("ADDSLOTSRANGE", first, last)
            # Distinct epochs spare the nodes an election on who owns what.
            node.cluster("SET-CONFIG-EPOCH", index + 1)
    with _client(ports[0]) as first_node:
        for port in ports[1:]:
            first_node.cluster("MEET", HOST, port)


def _wait_for_ping(port: int) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    with _client(port) as node:
        while True:
            with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
                if node.ping():
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {port} did not answer PING")
            time.sleep(0.02)


def _wait_until_ok(
    ports: tuple[int, ...], processes: list[subprocess.Popen[bytes]], directory: Path
) -> None:
    # Every node must see every slot served before a client asks any of them for the map.
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while not all(_cluster_ok(port) for port in ports):
        exited = [process.args for process in processes if process.poll() is not None]
        if exited or time.monotonic() > deadline:
            logs = "\n".join(path.read_text() for path in directory.glob("node-*/redis.log"))
            raise RuntimeError(f"the Redis Cluster did not become ready:\n{logs[-4000:]}")
        time.sleep(0.05)


def _cluster_ok(port: int) -> bool:
    with _client(port) as node:
        fields: dict[str, str] = node.cluster("INFO")  # redis-py parses the reply into a dict
    return (
        fields.get("cluster_state") == "ok"
        and fields.get("cluster_slots_ok") == str(_SLOTS)
        and fields.get("cluster_known_nodes") == str(_MASTERS)
    )


@contextlib.contextmanager
def _client(port: int) -> Iterator[redis.Redis]:
    node = redis.Redis(host=HOST, port=port, socket_timeout=2, socket_connect_timeout=2)
    try:
        yield node
    finally:
        node.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
