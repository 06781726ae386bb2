"""A small synchronous client for the gateway's public API, used by the CLI.

Errors come out as ``ApiError`` with a message fit for a person (no
tracebacks): the gateway's own ``{error: {code, message}}`` when it sent
one, or a sentence about the connection when it could not be reached.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from httpx_sse import connect_sse

from durable_agent.event_stream import StreamEvent
from durable_agent.stack.state import stack_status

DEFAULT_URL = "http://127.0.0.1:8000"


def default_url() -> str:
    """``DURABLE_AGENT_URL``, else the gateway of the local stack running from
    ``DURABLE_AGENT_DATA_DIR`` (default ``data``), else 127.0.0.1:8000."""
    if os.environ.get("DURABLE_AGENT_URL"):
        return os.environ["DURABLE_AGENT_URL"].rstrip("/")
    state = stack_status(os.environ.get("DURABLE_AGENT_DATA_DIR") or "data") or {}
    gateway = (state.get("urls") or {}).get("gateway")
    return str(gateway).rstrip("/") if gateway else DEFAULT_URL


__all__ = ["DEFAULT_URL", "ApiClient", "ApiError", "default_url"]


class ApiError(Exception):
    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def _error_from(response: httpx.Response) -> ApiError:
    code = None
    message = response.reason_phrase or f"HTTP {response.status_code}"
    try:
        error = response.json().get("error") or {}
        code = error.get("code")
        message = error.get("message") or message
    except (ValueError, AttributeError):
        pass
    if response.status_code == 401:
        message = (
            f"the gateway refused the request ({message}): set DURABLE_AGENT_API_KEY "
            "to a valid API key, or run the gateway in dev mode"
        )
    return ApiError(message, response.status_code, code)


_POST_ATTEMPTS = 3


class ApiClient:
    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _unreachable(self, exc: Exception) -> ApiError:
        return ApiError(
            f"cannot reach the gateway at {self.base_url} ({type(exc).__name__}): "
            "is it running? (`make run` starts a local stack)"
        )

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One request. A POST carries an ``Idempotency-Key`` and is sent again with
        the same key when it got no answer (a cut connection, a 503): the gateway
        applies it once and a retry gets the first answer."""
        headers = {"Idempotency-Key": uuid.uuid4().hex} if method == "POST" else {}
        attempts = _POST_ATTEMPTS if method == "POST" else 1
        for attempt in range(1, attempts + 1):
            try:
                response = self._http.request(method, path, json=body, headers=headers)
            except httpx.HTTPError as exc:
                if attempt == attempts:
                    raise self._unreachable(exc) from None
                time.sleep(0.5 * attempt)
                continue
            if response.status_code != 503 or attempt == attempts:
                break
            time.sleep(1.0 * attempt)
        if response.status_code >= 400:
            raise _error_from(response)
        try:
            return response.json()
        except ValueError:
            return {}

    # --- the API ---------------------------------------------------------
    def goals(self) -> list[dict[str, Any]]:
        return self.request("GET", "/v1/goals")["goals"]

    def conversations(self) -> list[dict[str, Any]]:
        return self.request("GET", "/v1/conversations")["conversations"]

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/conversations/{conversation_id}")

    def create(
        self,
        goal: str,
        message: str | None = None,
        busy_policy: str | None = None,
        tool_policies: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"goal": goal}
        if message:
            body["message"] = message
        if busy_policy:
            body["busy_policy"] = busy_policy
        if tool_policies:
            body["tool_policies"] = tool_policies
        return self.request("POST", "/v1/conversations", body)

    def send(self, conversation_id: str, text: str) -> dict[str, Any]:
        return self.request("POST", f"/v1/conversations/{conversation_id}/messages", {"text": text})

    def confirm(self, conversation_id: str, call_id: str, always: bool = False) -> dict[str, Any]:
        """Run the proposal; ``always``: this tool runs without asking from now on."""
        return self.request(
            "POST",
            f"/v1/conversations/{conversation_id}/tool-calls/{call_id}/confirm",
            {"always": always},
        )

    def edit(self, conversation_id: str, call_id: str, args: dict[str, Any]) -> dict[str, Any]:
        """Run the proposal with ``args`` instead (422 when they do not fit the tool)."""
        return self.request(
            "POST", f"/v1/conversations/{conversation_id}/tool-calls/{call_id}/edit", {"args": args}
        )

    def reject(
        self, conversation_id: str, call_id: str, reason: str | None = None
    ) -> dict[str, Any]:
        body = {"reason": reason} if reason else {}
        return self.request(
            "POST", f"/v1/conversations/{conversation_id}/tool-calls/{call_id}/reject", body
        )

    def stop(self, conversation_id: str) -> dict[str, Any]:
        """Stop the answer in flight (409 ``nothing_running`` when there is none)."""
        return self.request("POST", f"/v1/conversations/{conversation_id}/stop")

    def switch_goal(self, conversation_id: str, goal: str) -> dict[str, Any]:
        return self.request("POST", f"/v1/conversations/{conversation_id}/goal", {"goal": goal})

    def end(self, conversation_id: str) -> dict[str, Any]:
        return self.request("POST", f"/v1/conversations/{conversation_id}/end")

    def events(
        self,
        conversation_id: str,
        after: str | None = None,
        *,
        reconnect: bool = True,
        on_reconnect: Callable[[], None] | None = None,
    ) -> Iterator[StreamEvent]:
        """The conversation's events until it ends, resuming after drops.

        Each reconnection sends ``Last-Event-ID`` (the last id seen), so the
        gateway sends exactly the missed events: no gap, no duplicate.
        """
        last = after
        retry_s = 2.0
        failures = 0
        timeout = httpx.Timeout(10.0, read=90.0)
        while True:
            headers = {"Last-Event-ID": last} if last else {}
            try:
                with connect_sse(
                    self._http,
                    "GET",
                    f"/v1/conversations/{conversation_id}/events",
                    headers=headers,
                    timeout=timeout,
                ) as source:
                    if source.response.status_code >= 400:
                        source.response.read()
                        raise _error_from(source.response)
                    failures = 0
                    for sse in source.iter_sse():
                        retry_s = sse.retry / 1000 if sse.retry else retry_s
                        event = StreamEvent.from_sse(sse)
                        if event is None:
                            continue  # keep-alive comment
                        last = event.id or last
                        yield event
                        if event.is_end:
                            return
            except httpx.HTTPError as exc:
                if not reconnect:
                    raise self._unreachable(exc) from None
                failures += 1
                if failures > 30:
                    raise self._unreachable(exc) from None
            if not reconnect:
                return
            if on_reconnect is not None:
                on_reconnect()
            time.sleep(min(retry_s * max(failures, 1), 15.0))
