"""What a user's sentence says: places, months, dates, e-mails, ids and choices.

Pure functions of text, so the auto brain reads the user the same way every
time and tests can check each reading on its own. Cities are the demo tools'
own (their sample data, when the tool worker is installed next to the fake,
as in the uv workspace), plus capitalised words after "in", "to" or "from".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.util import find_spec
from pathlib import Path

__all__ = [
    "DateMention",
    "Place",
    "corrects",
    "dates",
    "emails",
    "known_places",
    "months",
    "ordinal",
    "pattern_matches",
    "places",
    "reason",
    "wants_cheapest",
]

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_LOWER_MONTHS = {m.casefold() for m in MONTHS} - {"may"}  # "may" is mostly a verb
_NOT_PLACES = {m.casefold() for m in MONTHS} | {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "i", "me", "my", "the", "a", "an", "it", "you", "your", "please", "there", "here",
}  # fmt: skip
_FALLBACK_PLACE = re.compile(
    r"\b(?:in|to|from|at|visit|visiting|near)\s+([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)?)"
)
_ORIGIN_BEFORE = re.compile(r"\b(?:from|leaving|departing|out of)\s+$", re.IGNORECASE)
_TO_AFTER = re.compile(r"\s+(?:to|->)\s+", re.IGNORECASE)
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(\d{4}))?"
_UNTIL = r"\s*(?:-|\u2013|to|until|till)\s*"  # \u2013: an en dash
_DATE_PATTERNS = (  # (regex, day groups, month group, year group), ranges first
    (rf"\b{_DAY}{_UNTIL}{_DAY}(?:\s+of)?\s+({_MONTH})\b{_YEAR}", (1, 2), 3, 4),
    (rf"\b({_MONTH})\s+{_DAY}{_UNTIL}{_DAY}\b{_YEAR}", (2, 3), 1, 4),
    (rf"\b{_DAY}(?:\s+of)?\s+({_MONTH})\b{_YEAR}", (1,), 2, 3),
    (rf"\b({_MONTH})\s+{_DAY}\b{_YEAR}", (2,), 1, 3),
)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_BACK_BEFORE = re.compile(
    r"\b(?:back|return(?:ing)?|until|till|to|through|end(?:ing)?|home|last day)\W+"
    r"(?:on\W+)?(?:the\W+)?$",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_ORDINALS = {
    "first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2,
    "fourth": 3, "4th": 3, "fifth": 4, "5th": 4, "last": -1,
}  # fmt: skip
_ORDINAL = re.compile(
    r"\b(?:the\s+)?(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last)\b"
    r"|(?:\b(?:option|number|no\.?)|#)\s*(\d)\b",
    re.IGNORECASE,
)
_CORRECTION = re.compile(
    r"\b(?:actually|instead|make (?:it|that)|change (?:it|that)|rather|sorry|i meant)\b",
    re.IGNORECASE,
)
_COMPLAINT = re.compile(
    r"\b(?:because|too \w+|broken|damaged|faulty|wrong|(?:does|do)(?:n't| not) \w+|not what)\b",
    re.IGNORECASE,
)
_CHEAPEST = re.compile(r"\b(?:cheapest|cheaper|lowest|least expensive)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Place:
    """A place the user named; ``origin`` when said as where they start from."""

    name: str
    origin: bool = False


@dataclass(frozen=True)
class DateMention:
    """A date the user named; ``back`` when said as an end ("back on", "to")."""

    day: date
    back: bool = False


@cache
def known_places() -> tuple[str, ...]:
    """The cities the demo tools have data for, longest first ("New York" before "York")."""
    spec = find_spec("worker_tools")
    names: set[str] = set()
    for root in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(root) / "tools" / "sample_data"
        try:
            names |= set(json.loads((folder / "events.json").read_text("utf-8")))
            names |= set(json.loads((folder / "flights.json").read_text("utf-8"))["airports"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return tuple(sorted(names, key=lambda n: (-len(n), n)))


def places(text: str) -> list[Place]:
    """The places in ``text`` in the order said: known cities in any case, else
    capitalised words after a preposition."""
    spans: list[tuple[int, int, str]] = []
    for name in known_places():
        for match in re.finditer(rf"\b{re.escape(name)}\b", text, re.IGNORECASE):
            if not _overlaps(match.span(), spans):
                spans.append((match.start(), match.end(), name))
    for match in _FALLBACK_PLACE.finditer(text):
        name = match.group(1)
        if name.split()[0].casefold() not in _NOT_PLACES and not _overlaps(match.span(1), spans):
            spans.append((match.start(1), match.end(1), name))
    spans.sort()
    return [
        Place(name, origin=_said_as_origin(text, start, end, spans)) for start, end, name in spans
    ]


def _overlaps(span: tuple[int, int], spans: list[tuple[int, int, str]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end, _ in spans)


def _said_as_origin(text: str, start: int, end: int, spans: list[tuple[int, int, str]]) -> bool:
    """ "from Sydney", or "Sydney to Tokyo" (a place right after "to")."""
    if _ORIGIN_BEFORE.search(text[:start]):
        return True
    after = _TO_AFTER.match(text, end)
    return after is not None and any(s == after.end() for s, _, _ in spans)


def months(text: str) -> list[str]:
    """Month names in ``text``, in order, as full English names ("May" only capitalised)."""
    found = []
    for match in re.finditer(rf"\b{_MONTH}\b", text, re.IGNORECASE):
        word = match.group(0)
        if word[0].isupper() or word.casefold() in _LOWER_MONTHS:
            found.append(_month_name(word))
    return found


def _month_name(word: str) -> str:
    return next(m for m in MONTHS if m.casefold().startswith(word[:3].casefold()))


def dates(text: str, year: int) -> list[DateMention]:
    """Dates in ``text`` in order: ISO ("2027-04-10"), "10 April", "April 10",
    ranges ("10 to 14 April"); ``year`` where none is said."""
    found: list[tuple[int, int, DateMention]] = []
    for match in _ISO_DATE.finditer(text):
        day = _real_date(*(int(g) for g in match.groups()))
        if day is not None:
            back = bool(_BACK_BEFORE.search(text[: match.start()]))
            found.append((match.start(), match.end(), DateMention(day, back)))
    for pattern, days, month_group, year_group in _DATE_PATTERNS:
        for match in re.finditer(pattern, text, re.IGNORECASE):
            if _overlaps(match.span(), [(s, e, "") for s, e, _ in found]):
                continue
            month = MONTHS.index(_month_name(match.group(month_group))) + 1
            said_year = int(match.group(year_group)) if match.group(year_group) else year
            mentions = [_real_date(said_year, month, int(match.group(g))) for g in days]
            back = len(days) == 1 and bool(_BACK_BEFORE.search(text[: match.start()]))
            for n, day in enumerate(mentions):
                if day is not None:
                    found.append((match.start() + n, match.end(), DateMention(day, back or n > 0)))
    return [mention for _, _, mention in sorted(found, key=lambda f: f[0])]


def _real_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def emails(text: str) -> list[str]:
    return _EMAIL.findall(text)


def pattern_matches(text: str, pattern: str) -> list[str]:
    """Words of ``text`` that fit a schema ``pattern`` (its anchors dropped), upper-cased
    when only that fits ("ord-48213" -> "ORD-48213")."""
    body = pattern.removeprefix("^").removesuffix("$")
    try:
        finder = re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", re.IGNORECASE)
        exact = re.compile(pattern)
    except re.error:
        return []
    found = []
    for match in finder.finditer(text):
        word = match.group(0)
        if exact.fullmatch(word) or exact.fullmatch(word := word.upper()):
            found.append(word)
    return found


def ordinal(text: str) -> int | None:
    """Which of a list the user picked: 0 for "the first", 1 for "option 2", -1 for "the last"."""
    match = _ORDINAL.search(text)
    if match is None:
        return None
    if match.group(1):
        return _ORDINALS[match.group(1).casefold()]
    return int(match.group(2)) - 1


def wants_cheapest(text: str) -> bool:
    return bool(_CHEAPEST.search(text))


def corrects(text: str) -> bool:
    """Whether the user is changing something said before ("actually Tokyo"), not
    answering the latest question."""
    return bool(_CORRECTION.search(text))


def reason(text: str) -> str | None:
    """The clause that says what is wrong ("the shoes are too small"), if one does."""
    for clause in re.split(r"[.!?;:,]\s*", text):
        if _COMPLAINT.search(clause):
            return clause.strip()
    return None
