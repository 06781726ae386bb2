"""A tool's arguments read from the conversation, or the questions that get them.

The auto brain must not invent a city or pick a flight for the user: each
argument comes from what the user said (newest words first, so a correction
wins), from an option an earlier tool result offered and the user chose, or
from the schema's ``default``; whatever is still missing becomes a question.
An answer to such a question counts for the argument it was asked for
("Sydney" after "where you're flying from" is the origin).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fake_llm.inbound import message_text
from fake_llm.user_words import (
    DateMention,
    corrects,
    dates,
    emails,
    months,
    ordinal,
    pattern_matches,
    places,
    reason,
    wants_cheapest,
)

__all__ = ["Reading", "Resolution", "ask_text", "purpose", "read_conversation", "resolve"]

_ORIGINS = ("origin", "from", "departure", "source")
_PLACES = ("city", "destination", "place", "location", "to", *_ORIGINS)
_ENDS = ("return", "end", "back", "until", "last")
_PRICES = ("price", "total", "amount")
_SUMMARY_NOTE = "Summary of the earlier conversation:"
_RESULT_NOTE = re.compile(r"^\[result of ([\w.-]+): (.*)\]$", re.DOTALL)
_LABELS = {"date_depart": "departure date", "date_return": "return date"}


@dataclass(frozen=True)
class Said:
    """One user message, at ``at`` in the request, and what the agent had just asked."""

    at: int
    text: str
    asked: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Result:
    """One tool result at ``at``: its output when it succeeded."""

    at: int
    name: str
    ok: bool
    output: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reading:
    """The conversation as the brain reads it: the user's words and the tool results."""

    said: tuple[Said, ...]
    results: tuple[Result, ...]

    def upto(self, at: int) -> Reading:
        """The reading as it was before message ``at``."""
        return Reading(
            tuple(s for s in self.said if s.at < at), tuple(r for r in self.results if r.at < at)
        )

    def last_success(self, name: str) -> int | None:
        return next((r.at for r in reversed(self.results) if r.name == name and r.ok), None)


@dataclass
class Resolution:
    """A tool's arguments found so far and the (name, schema) of those still missing."""

    args: dict[str, Any] = field(default_factory=dict)
    missing: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    options: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def read_conversation(messages: list[dict[str, Any]], functions: list[dict[str, Any]]) -> Reading:
    """The user's own words (a summary's digest first) and every tool result."""
    said: list[Said] = []
    results: list[Result] = []
    call_names = _call_names(messages)
    asked: frozenset[str] = frozenset()
    for at, message in enumerate(messages):
        role, text = message.get("role"), message_text(message)
        if role == "system" and text.startswith(_SUMMARY_NOTE):
            said += [Said(at, part) for part in _digest(text)]
        elif role == "assistant":
            asked = _asked(text, functions)
        elif role == "tool":
            name = call_names.get(message.get("tool_call_id") or "") or message.get("name") or ""
            results.append(_result(at, name, text))
        elif role == "user" and (note := _RESULT_NOTE.match(text.strip())):
            results.append(_result(at, note.group(1), note.group(2)))
        elif role == "user":
            said.append(Said(at, text, frozenset() if corrects(text) else asked))
    return Reading(tuple(said), tuple(results))


def resolve(function: dict[str, Any], reading: Reading) -> Resolution:
    """The arguments ``function`` can be called with now, and what to ask for."""
    schema = function.get("parameters")
    schema = schema if isinstance(schema, dict) else {}
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return Resolution()
    required = set(schema.get("required") or [])
    out = Resolution()
    chosen: dict[str, Any] = {}
    for name, prop in _choices_first(properties):
        value = _value(name, prop, reading, out, chosen)
        if value is not None:
            out.args[name] = value
        elif "default" in prop or "const" in prop:
            out.args[name] = prop.get("default", prop.get("const"))
        elif name in required:
            out.missing.append((name, prop))
    if any(name in out.options for name, _ in out.missing):  # the choice brings the price
        out.missing = [(n, p) for n, p in out.missing if _kind(n, p) != "number"]
    if properties and not required and not out.args:
        out.missing = list(properties.items())  # "give at least one"
    return out


def ask_text(function: dict[str, Any], resolution: Resolution) -> str:
    """A question for the missing arguments, saying what they are for."""
    either = not (function.get("parameters") or {}).get("required")
    phrases = [_phrase(name, prop, resolution) for name, prop in resolution.missing]
    joined = " or ".join(phrases) if either else _and(phrases)
    what = purpose(function)
    return f"To {what[:1].lower()}{what[1:]}, could you tell me {joined}?"


def purpose(function: dict[str, Any]) -> str:
    """The first clause of the tool's description ("Find events ... during a month")."""
    return re.split(r"\. |: ", str(function.get("description") or function["name"]))[0].rstrip(".")


def _choices_first(properties: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Properties in order, numbers last: an amount follows from the chosen option."""
    items = [(n, p if isinstance(p, dict) else {}) for n, p in properties.items()]
    return sorted(items, key=lambda item: _kind(*item) == "number")


def _value(
    name: str, prop: dict[str, Any], reading: Reading, out: Resolution, chosen: dict[str, Any]
) -> Any:
    kind = _kind(name, prop)
    options = _options(name, reading)
    if options:
        out.options[name] = options
        option = _choose(name, options, reading.said)
        if option is not None:
            chosen.update(option)
            return option[name]
    if kind == "number":
        return next((chosen[k] for k in (name, *_PRICES) if k in chosen), None)
    said = list(reversed(reading.said))
    readers = {
        "place": lambda: _place(name, said),
        "date": lambda: _date(name, prop, said),
        "month": lambda: _month(said),
        "email": lambda: _newest(said, emails),
        "pattern": lambda: _newest(said, lambda t: pattern_matches(t, prop["pattern"])),
        "enum": lambda: _newest(said, lambda t: _enum_words(t, prop["enum"])),
        "text": lambda: _text(name, said),
    }
    reader = readers.get(kind)
    return reader() if reader else None


def _kind(name: str, prop: dict[str, Any]) -> str:
    words = name.lower().split("_")
    kind = prop.get("type")
    if kind in ("number", "integer"):
        return "number"
    if kind not in (None, "string"):
        return "other"
    if prop.get("format") == "date" or "date" in words:
        return "date"
    if prop.get("format") == "email" or "email" in words:
        return "email"
    if "month" in words:
        return "month"
    if any(w in _PLACES for w in words):
        return "place"
    if isinstance(prop.get("enum"), list):
        return "enum"
    return "pattern" if isinstance(prop.get("pattern"), str) else "text"


def _newest(said: Iterable[Said], find: Any) -> Any:
    """The last thing ``find`` sees in the newest message where it sees anything."""
    return next((found[-1] for s in said if (found := find(s.text))), None)


def _place(name: str, said: list[Said]) -> str | None:
    want_origin = _is_origin(name)
    for s in said:
        asked = [a for a in s.asked if _kind(a, {}) == "place"]
        answer_origin = bool(asked) and all(_is_origin(a) for a in asked)
        found = [p.name for p in places(s.text) if (p.origin or answer_origin) == want_origin]
        if found:
            return found[-1]
    return None


def _is_origin(name: str) -> bool:
    return any(w in _ORIGINS for w in name.lower().split("_"))


def _date(name: str, prop: dict[str, Any], said: list[Said]) -> str | None:
    """The newest date said as a start, or for an end argument the first end said
    after that start ("10 to 14 April and 3 to 7 May" ends on 14 April)."""
    want_end = any(w in _ENDS for w in name.lower().split("_"))
    year = _example_year(prop)
    for s in said:
        mentions = dates(s.text, year)
        if len(mentions) >= 2 and not any(m.back for m in mentions):
            mentions[1] = DateMention(mentions[1].day, back=True)
        starts = [m.day for m in mentions if not m.back]
        ends = [m.day for m in mentions if m.back and (not starts or m.day >= starts[0])]
        fitting = ends if want_end else starts
        if not fitting and name in s.asked:
            fitting = [m.day for m in mentions]
        if fitting:
            return fitting[0].isoformat()
    return None


def _text(name: str, said: list[Said]) -> str | None:
    """The answer to the question for it; for a reason, also a complaint said unasked."""
    for s in said:
        if name in s.asked:
            return s.text
        if name == "reason" and (found := reason(s.text)):
            return found
    return None


def _example_year(prop: dict[str, Any]) -> int:
    """The year of the schema's example date, so "10 April" lands where the data is."""
    for example in prop.get("examples") or []:
        if isinstance(example, str) and re.match(r"\d{4}-", example):
            return int(example[:4])
    return date.today().year


def _month(said: list[Said]) -> str | None:
    for s in said:
        if named := months(s.text):
            return named[-1]
        if mentions := dates(s.text, date.today().year):
            return mentions[0].day.strftime("%B")
    return None


def _enum_words(text: str, enum: list[Any]) -> list[Any]:
    return [v for v in enum if re.search(rf"\b{re.escape(str(v))}\b", text, re.IGNORECASE)]


def _options(name: str, reading: Reading) -> list[dict[str, Any]]:
    """The newest successful result's list of items that carry ``name`` (flights, orders)."""
    for result in reversed(reading.results):
        for value in result.output.values() if result.ok else ():
            if (
                isinstance(value, list)
                and value
                and all(isinstance(item, dict) and name in item for item in value)
            ):
                currency = result.output.get("currency")
                return [{"currency": currency, **item} if currency else item for item in value]
    return []


def _choose(name: str, options: list[dict[str, Any]], said: tuple[Said, ...]) -> dict | None:
    """The option the user picked, newest words first: named, "the cheapest",
    "the second one"; the only one when there is just one."""
    for s in reversed(said):
        text = s.text.casefold()
        named = [
            o for o in options if re.search(rf"\b{re.escape(str(o[name]).casefold())}\b", text)
        ]
        if named:
            return named[-1]
        price = next((k for k in _PRICES if all(k in o for o in options)), None)
        if price and wants_cheapest(s.text):
            return min(options, key=lambda o: o[price])
        index = ordinal(s.text)
        if index is not None and -len(options) <= index < len(options):
            return options[index]
    return options[0] if len(options) == 1 else None


def _phrase(name: str, prop: dict[str, Any], resolution: Resolution) -> str:
    """How the brain asks for one argument; the same words let it recognise the answer."""
    kind = _kind(name, prop)
    if name in resolution.options:
        listed = "; ".join(_describe(name, o) for o in resolution.options[name])
        return f"which {name.removesuffix('_id')} you'd like ({listed})"
    if kind == "place":
        return "where you're flying from" if _is_origin(name) else "which city you'd like to go to"
    if kind == "month":
        return "which month"
    if kind == "email":
        return "the email address to use"
    if kind == "enum":
        return f"which {_label(name, prop)} ({_or([str(v) for v in prop['enum']])})"
    return ("your " if kind == "pattern" else "the ") + _label(name, prop)


def _asked(text: str, functions: list[dict[str, Any]]) -> frozenset[str]:
    """The arguments an agent message asked for, recognised by their phrases."""
    asked = set()
    empty = Resolution()
    for function in functions:
        properties = (function.get("parameters") or {}).get("properties") or {}
        for name, prop in properties.items():
            prop = prop if isinstance(prop, dict) else {}
            phrase = _phrase(name, prop, empty)
            if phrase in text or f"which {name.removesuffix('_id')} you'd like (" in text:
                asked.add(name)
    return frozenset(asked)


def _label(name: str, prop: dict[str, Any]) -> str:
    """ "Order number, e.g. ORD-48213" -> "order number"; else the name in words."""
    description = str(prop.get("description") or "")
    head = re.split(r"[:,(]| e\.g\.", description)[0].strip()
    if head:
        return head[:1].lower() + head[1:]
    return _LABELS.get(name, name.replace("_", " "))


def _describe(name: str, option: dict[str, Any]) -> str:
    """ "DA123: Durable Air, 249.0 USD": the option's value and its short facts."""
    facts = []
    for key, value in option.items():
        if key in (name, "currency") or key.endswith("_id") or isinstance(value, (list, dict)):
            continue
        if key in _PRICES and option.get("currency"):
            value = f"{value} {option['currency']}"
        facts.append(str(value))
    return f"{option[name]}: {', '.join(facts[:3])}" if facts else str(option[name])


def _and(phrases: list[str]) -> str:
    return phrases[0] if len(phrases) == 1 else f"{', '.join(phrases[:-1])} and {phrases[-1]}"


def _or(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _digest(note: str) -> list[str]:
    """The user messages in a summary the fake wrote ("Summary: a | b")."""
    body = note.removeprefix(_SUMMARY_NOTE).strip().removeprefix("Summary:").strip()
    return [part for part in body.split(" | ") if part and part != "(nothing said yet)"]


def _result(at: int, name: str, content: str) -> Result:
    try:
        payload = json.loads(content)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return Result(at, name, ok=False)
    output = payload.get("output")
    return Result(at, name, payload.get("ok") is True, output if isinstance(output, dict) else {})


def _call_names(messages: list[dict[str, Any]]) -> dict[str, str]:
    """Tool call id -> tool name, from the assistant messages' tool calls."""
    names: dict[str, str] = {}
    for message in messages:
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            if call.get("id") and function.get("name"):
                names[call["id"]] = function["name"]
    return names
