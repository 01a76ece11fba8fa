"""``make run``'s port check on real loopback sockets: a restart right after a run, a port really taken."""

from __future__ import annotations

import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from infra.local.aws import PortInUseError, ensure_port_free


def _bind_plainly(port: int) -> None:
    """What the check did before: a bind without ``SO_REUSEADDR``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", port))


def _port_left_in_time_wait() -> int:
    """A port as the last run leaves it: its server closed a served connection first, then stopped."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    served, _ = listener.accept()
    served.close()  # the server's side closes first: its end (on `port`) goes to TIME_WAIT
    client.close()
    listener.close()
    return port


def test_a_port_in_time_wait_after_the_last_run_is_free_for_the_next_one():
    # Given
    port = _port_left_in_time_wait()
    with pytest.raises(OSError):  # the TIME_WAIT connection is there: a plain bind is refused
        _bind_plainly(port)

    # When
    ensure_port_free(port)

    # Then: and the server really binds it
    server = ThreadingHTTPServer(("127.0.0.1", port), BaseHTTPRequestHandler)
    server.server_close()


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])  # 0.0.0.0: a listener on every interface
def test_a_port_with_a_listener_is_in_use(host):
    with socket.create_server((host, 0)) as listener:
        port = listener.getsockname()[1]

        with pytest.raises(PortInUseError, match=f"127.0.0.1:{port} is already in use"):
            ensure_port_free(port)
