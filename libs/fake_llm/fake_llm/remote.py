"""Scripting a fake LLM that runs in another process, over ``/_fake/*``.

Benchmarks, demos and end-to-end tests start ``fake-llm`` (or the local
stack does) and drive it from outside. Stdlib HTTP only, so callers need
nothing beyond this package.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from fake_llm.inbound import RecordedRequest
from fake_llm.replies import Kind, Reply

__all__ = ["RemoteFakeLLM"]


class RemoteFakeLLM:
    """Control client for a fake at ``base_url`` (``http://host:port``, no ``/v1``)."""

    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/").removesuffix("/v1")
        self.timeout = timeout

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/v1"

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method,
            headers={"content-type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.loads(response.read())

    def script(self, kind: Kind, *replies: Reply | str) -> dict[str, int]:
        """Queue replies for ``kind``; returns how many each kind has queued."""
        items = [(Reply.say(r) if isinstance(r, str) else r).model_dump() for r in replies]
        answer: dict[str, int] = self._call(
            "POST", "/_fake/script", {"kind": kind, "replies": items}
        )["queued"]
        return answer

    def requests(self) -> list[RecordedRequest]:
        raw = self._call("GET", "/_fake/requests")["requests"]
        return [RecordedRequest.model_validate(item) for item in raw]

    def pending(self) -> dict[str, int]:
        answer: dict[str, int] = self._call("GET", "/_fake/script")["queued"]
        return answer

    def reset(self) -> None:
        self._call("POST", "/_fake/reset", {})

    def healthy(self) -> bool:
        try:
            return bool(self._call("GET", "/healthz").get("status") == "ok")
        except OSError:
            return False
