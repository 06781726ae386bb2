"""A fake LLM that speaks the OpenAI chat-completions HTTP API on loopback.

Tests, demos, benchmarks and the offline local stack point litellm's real
client at it, so the product's model path (requests, streaming, tool calls,
errors) runs unchanged with no model and no network. Replies are scripted
per call kind (validate, plan, summarize) or made up by a deterministic
auto brain.
"""

from __future__ import annotations

from fake_llm.app import create_app
from fake_llm.brain import OFF_TOPIC_REASON, auto_reply
from fake_llm.inbound import ChatRequest, RecordedRequest, classify
from fake_llm.remote import RemoteFakeLLM
from fake_llm.replies import Kind, Reply, ScriptRequest, ToolCallReply
from fake_llm.server import FakeLLM, ThreadedFakeLLM
from fake_llm.state import KINDS, FakeState

__all__ = [
    "KINDS",
    "OFF_TOPIC_REASON",
    "ChatRequest",
    "FakeLLM",
    "FakeState",
    "Kind",
    "RecordedRequest",
    "RemoteFakeLLM",
    "Reply",
    "ScriptRequest",
    "ThreadedFakeLLM",
    "ToolCallReply",
    "auto_reply",
    "classify",
    "create_app",
]
