"""The threaded uvicorn server: listening when start() returns, gone after stop(), clear errors."""
from __future__ import annotations

import socket

import pytest
import requests

from connector.admin.server import AdminServer, AdminServerError
from fastapi import FastAPI


def tiny_app() -> FastAPI:
    app = FastAPI()
    app.add_api_route("/ping", lambda: {"pong": True})
    return app


def test_start_returns_listening_on_a_free_port_and_stop_closes_it():
    server = AdminServer(tiny_app(), "127.0.0.1", 0)
    server.start()
    port = server.port
    try:
        assert port != 0
        assert requests.get(f"http://127.0.0.1:{port}/ping", timeout=5).json() == {"pong": True}
    finally:
        server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/ping", timeout=5)


def test_a_taken_port_is_a_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        with pytest.raises(AdminServerError, match="cannot listen on 127.0.0.1"):
            AdminServer(tiny_app(), "127.0.0.1", taken.getsockname()[1]).start()
