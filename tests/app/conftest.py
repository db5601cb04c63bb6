"""An in-process client for the real app (httpx over ASGI; Starlette's TestClient warns about httpx)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app


class Client:
    """Synchronous calls into the ASGI app, so tests read top to bottom."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            async with self.connect() as client:
                return await client.request(method, url, **kwargs)

        return asyncio.run(send())

    def connect(self) -> httpx.AsyncClient:
        """An async client of the app, for a test that sends requests side by side."""
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)  # see the 500 a server sends
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


@pytest.fixture(scope="session")
def app() -> FastAPI:
    return create_app()


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Client:
    return Client(app)
