"""A small Python client of the Postwise API that signs every request (see
:mod:`serving.auth.signing`): what a sender application, a script or a test uses.

    client = PostwiseClient("https://postwise.example", api_key, private_key_pem)
    client.post("/v1/messages", json={...})
"""

from __future__ import annotations

import json as jsonlib
from typing import Any

import httpx

from .auth.signing import sign_request

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# The connection broke before an answer came: the server may have closed it as idle.
BROKEN_CONNECTION = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


class PostwiseClient:
    def __init__(
        self, base_url: str, api_key: str, private_key_pem: bytes, *, timeout: float = 10.0
    ) -> None:
        self.api_key = api_key
        self._private_key = private_key_pem
        self._http = httpx.Client(base_url=base_url, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send one signed request; ``json`` is encoded here so the signed bytes are sent.

        An idempotent request (GET, PUT, DELETE) whose connection breaks before an answer (a
        kept-alive connection the server closed meanwhile) is signed anew and sent once more;
        other methods raise, since the server may have acted on them."""
        body = content if content is not None else b""
        extra = dict(headers or {})
        if json is not None:
            body = jsonlib.dumps(json, separators=(",", ":")).encode()
            extra.setdefault("content-type", "application/json")
        try:
            return self._signed(method, path, body, params, extra)
        except BROKEN_CONNECTION:
            if method.upper() not in IDEMPOTENT:
                raise
            return self._signed(method, path, body, params, extra)

    def _signed(
        self,
        method: str,
        path: str,
        body: bytes,
        params: dict[str, Any] | None,
        headers: dict[str, str],
    ) -> httpx.Response:
        target = self._http.build_request(method, path, params=params).url
        signed_path = target.raw_path.decode()
        signature = sign_request(self._private_key, self.api_key, method, signed_path, body)
        return self._http.request(
            method, path, content=body, params=params, headers={**headers, **signature}
        )

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PostwiseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
