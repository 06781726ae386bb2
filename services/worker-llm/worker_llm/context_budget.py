"""Keeping a prompt inside the model's context window (``LLM_CONTEXT_TOKENS``).

A prompt that fills the window leaves the model no room to answer: a small
model then replies with nothing, turn after turn. So before each call the
rendered messages and tool definitions are measured against the window less
the reply's ``max_tokens``, and cut until they fit:

1. the oldest lines of the window go first (after the system prompts, never
   the newest line), an assistant tool call together with the results that
   answer it, so every ``tool`` message still follows its call;
2. then the longest contents (the summary, tool results, long lines) are
   shortened, longest first, the first system prompt last of all.

Tokens are estimated as characters / 4 (JSON included), about what common
tokenizers give for English and JSON; no tokenizer is loaded (none is
available offline for every provider), so the window should be set a little
under the model's real one.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["estimate_tokens", "fit_prompt", "prompt_budget"]

_CHARS_PER_TOKEN = 4
_PER_MESSAGE = 4  # role and framing tokens a provider adds per message
_CUT = " …(cut to fit the context window)"
_MIN_CONTENT = 200  # characters a shortened content keeps at least


def prompt_budget(context_tokens: int, max_tokens: int) -> int:
    """Tokens the prompt may take: the window less the reply's room (at least half)."""
    return max(context_tokens - max_tokens, context_tokens // 2)


def estimate_tokens(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> int:
    chars = len(json.dumps(messages)) + (len(json.dumps(tools)) if tools else 0)
    return chars // _CHARS_PER_TOKEN + _PER_MESSAGE * len(messages)


def fit_prompt(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, budget: int
) -> list[dict[str, Any]]:
    """``messages`` cut to fit ``budget`` tokens beside ``tools`` (a new list)."""
    fitted = list(messages)
    while estimate_tokens(fitted, tools) > budget and _drop_oldest(fitted):
        pass
    over = estimate_tokens(fitted, tools) - budget
    while over > 0 and _shorten_longest(fitted, over * _CHARS_PER_TOKEN):
        over = estimate_tokens(fitted, tools) - budget
    return fitted


def _drop_oldest(messages: list[dict[str, Any]]) -> bool:
    """Drop the oldest line after the system prompts, with the results answering a
    call it made; False when that would drop or orphan the newest line."""
    first = next((i for i, m in enumerate(messages) if m.get("role") != "system"), len(messages))
    last = len(messages) - 1
    if first >= last:
        return False
    answered = {c.get("id") for c in messages[first].get("tool_calls") or ()} - {None}
    end = first + 1
    while end <= last and messages[end].get("tool_call_id") in answered:
        end += 1
    if end > last:
        return False
    del messages[first:end]
    return True


def _shorten_longest(messages: list[dict[str, Any]], excess_chars: int) -> bool:
    """Cut the longest content by ``excess_chars`` (the first system prompt only when
    nothing else is long enough); False when nothing can be cut any more."""
    candidates = [i for i, m in enumerate(messages) if _cuttable(m)]
    pool = [i for i in candidates if i != 0] or candidates
    if not pool:
        return False
    index = max(pool, key=lambda i: len(messages[i]["content"]))
    content: str = messages[index]["content"]
    keep = max(len(content) - excess_chars - len(_CUT), _MIN_CONTENT)
    messages[index] = {**messages[index], "content": content[:keep] + _CUT}
    return True


def _cuttable(message: dict[str, Any]) -> bool:
    content = message.get("content")
    return isinstance(content, str) and len(content) > _MIN_CONTENT + len(_CUT)
