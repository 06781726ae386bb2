"""The one event reader: frames are AG-UI events, or they are refused where read."""

from __future__ import annotations

import pytest
from httpx_sse import ServerSentEvent

from durable_agent.event_stream import StreamEvent

pytestmark = pytest.mark.fast

_END = (
    '{"type":"CUSTOM","name":"status_changed","value":{"status":"ended"},'
    '"metadata":{"seq":4,"key":"w9","n":9}}'
)


def test_a_custom_event_reads_by_its_name_with_its_place_in_the_log() -> None:
    event = StreamEvent.parse("1-0", _END)
    assert (event.type, event.name, event.value) == (
        "CUSTOM",
        "status_changed",
        {"status": "ended"},
    )
    assert (event.seq, event.key, event.n) == (4, "w9", 9)
    assert event.is_end
    assert event.event.name == "status_changed"  # the typed AG-UI event


def test_an_ag_ui_event_reads_by_its_type_and_typed_fields() -> None:
    sse = ServerSentEvent(
        event="TEXT_MESSAGE_CONTENT",
        data='{"type":"TEXT_MESSAGE_CONTENT","messageId":"m1","delta":"Hi","metadata":{"seq":2}}',
        id="5-0",
    )
    event = StreamEvent.from_sse(sse)
    assert event is not None and event.name == "TEXT_MESSAGE_CONTENT"
    assert (event.id, event.event.message_id, event.event.delta) == ("5-0", "m1", "Hi")
    assert event.n is None and not event.is_end


def test_a_keep_alive_is_no_event() -> None:
    assert StreamEvent.from_sse(ServerSentEvent(data="")) is None


@pytest.mark.parametrize(
    "raw",
    [
        '{"type":"NOT_AG_UI"}',
        '{"type":"TEXT_MESSAGE_CONTENT","delta":"no message id"}',
        "not json",
    ],
)
def test_a_frame_that_is_not_an_ag_ui_event_is_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        StreamEvent.parse("1-0", raw)
