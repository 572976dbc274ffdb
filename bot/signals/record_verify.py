"""Checking a verifiable record (GET /track-record.json, format signaldesk-record/1), pure.

`parse` reads the bytes strictly (UTF-8, JSON without NaN or duplicate keys, at most
MAX_DEPTH levels deep) and raises UnreadableRecordError for anything that is not such a
record; `verify` walks the entries and names each problem: a seq out of order, a `prev`
that is not the previous entry's hash, a hash that does not match its entry's fields, a
time earlier than the entry before, an update to a signal no earlier entry commits, a
revealed content and salt that do not hash to the commitment, a head that is not the last
entry. `python -m bot verify-record` (bot/cli/verify_record.py) prints them;
docs/track-record.md describes the same checks for anyone writing their own verifier.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.signals.record_chain import FORMAT, GENESIS, SIGNAL, UPDATE, commitment, entry_hash

MAX_DEPTH = 32  # the format nests 6 levels deep; anything far deeper is not a record
HEX64 = re.compile(r"[0-9a-f]{64}")
TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
_SHOWN = 60  # characters of a value quoted in a problem


class UnreadableRecordError(ValueError):
    """Not a record this verifier can read (not JSON, not the format): one line says why."""


def parse(raw: bytes) -> dict[str, Any]:
    """The record in `raw`, read strictly; UnreadableRecordError says what is wrong."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadableRecordError("not UTF-8 text") from None
    try:
        value = json.loads(
            text, object_pairs_hook=_object, parse_constant=_constant, parse_float=Decimal
        )
    except RecursionError:
        raise UnreadableRecordError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as error:  # JSONDecodeError, a duplicate key, a 5,000-digit number
        raise UnreadableRecordError(f"not valid JSON: {_line(str(error))}") from None
    if _too_deep(value):
        raise UnreadableRecordError(f"JSON nested deeper than {MAX_DEPTH} levels")
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        raise UnreadableRecordError(f'not a record: no "format": "{FORMAT}"')
    if not isinstance(value.get("entries"), list):
        raise UnreadableRecordError('not a record: "entries" is not a list')
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):  # another verifier could take the other value
        raise ValueError("a key given twice in one object")
    return value


def _constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _too_deep(value: object) -> bool:
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False


def _line(text: str) -> str:
    return text.splitlines()[0][:200] if text else "?"


def shown(value: object) -> str:
    """A value from the record as a problem line quotes it: short, escaped (a record's
    text could hold a terminal's control codes)."""
    text = json.dumps(value, ensure_ascii=True, default=str)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


@dataclass
class Verdict:
    """What `verify` found: the problems (none: the record holds), and what it counted."""

    entries: int = 0
    revealed: int = 0
    head: tuple[int, str] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems


def verify(document: dict[str, Any], *, expect: tuple[int, str] | None = None) -> Verdict:
    """Every problem of a parsed record; `expect` is a (seq, hash) seen earlier (a head
    posted in the channel), which the chain must still hold."""
    walk = _Walk()
    for position, entry in enumerate(document["entries"], 1):
        walk.check(position, entry)
    verdict = walk.verdict
    if verdict.head is not None or not verdict.entries:  # else: the last entry is unreadable
        verdict.problems += _head_problems(document.get("head"), verdict.head)
    if expect is not None and walk.hashes.get(expect[0]) != expect[1]:
        verdict.problems.append(
            f"the chain does not hold entry {expect[0]} with hash {expect[1]}: an entry up to "
            "it was changed, removed or the chain rewritten since that head was published"
        )
    return verdict


class _Walk:
    """The entries in order, each checked against the one before."""

    def __init__(self) -> None:
        self.verdict = Verdict()
        self.seq, self.hash, self.at = 0, GENESIS, ""
        self.signals: set[int] = set()
        self.hashes: dict[int, str] = {}

    def check(self, position: int, raw: object) -> None:
        self.verdict.entries += 1
        entry, wrong = _shaped(raw)
        if entry is None:
            self._problem(f"entry {position}", wrong)
            self._follow(raw)
            return
        label = f"entry {position} (seq {entry['seq']})"
        for problem in self._chain(entry) + self._signal(entry) + _reveal(entry):
            self._problem(label, problem)
        self.seq, self.hash, self.at = entry["seq"], entry["hash"], entry["at"]
        self.hashes[self.seq] = self.hash
        self.verdict.head = (self.seq, self.hash)
        self.verdict.revealed += entry.get("reveal") is not None

    def _problem(self, label: str, problem: str) -> None:
        self.verdict.problems.append(f"{label}: {problem}")

    def _follow(self, raw: object) -> None:
        """After a malformed entry, go on from whatever of it can be read."""
        got = raw if isinstance(raw, dict) else {}
        seq, hash_, at = got.get("seq"), got.get("hash"), got.get("at")
        self.seq = seq if isinstance(seq, int) and _integer(seq) else self.seq + 1
        self.hash = hash_ if isinstance(hash_, str) else ""
        self.at = at if isinstance(at, str) and TIME.fullmatch(at) else self.at
        self.verdict.head = None

    def _chain(self, entry: dict[str, Any]) -> list[str]:
        problems = []
        if entry["seq"] != self.seq + 1:
            problems.append(
                f"seq {entry['seq']} follows seq {self.seq}: an entry is missing, added or moved"
                if self.seq
                else f"the first entry's seq is {entry['seq']}, not 1"
            )
        if entry["prev"] != self.hash:
            problems.append(
                "prev is not the hash of the entry before it: an entry before it was "
                "changed, removed or moved"
            )
        if entry_hash(entry) != entry["hash"]:
            problems.append("its hash does not match its fields: the entry was changed")
        if entry["at"] < self.at:  # fixed-width UTC times sort as text
            problems.append(
                f"its time {entry['at']} is before the entry before it ({self.at}): "
                "back-dated or moved"
            )
        return problems

    def _signal(self, entry: dict[str, Any]) -> list[str]:
        number = entry["signal"]
        if entry["type"] == SIGNAL:
            if number in self.signals:
                return [f"signal {number} is committed a second time"]
            self.signals.add(number)
            return []
        if number not in self.signals:
            return [f"an update to signal {number}, which no earlier entry commits"]
        return []


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shaped(raw: object) -> tuple[dict[str, Any] | None, str]:
    """The entry when every field has its type; else None and what is wrong."""
    if not isinstance(raw, dict):
        return None, "not an object"
    for name, good, wanted in _FIELDS:
        if not good(raw.get(name)):
            return None, f"{name} is not {wanted}"
    return raw, ""


def _positive(value: object) -> bool:
    return _integer(value) and value >= 1  # type: ignore[operator]


def _hex64(value: object) -> bool:
    return isinstance(value, str) and HEX64.fullmatch(value) is not None


def _time(value: object) -> bool:
    return isinstance(value, str) and TIME.fullmatch(value) is not None and _real_time(value)


def _revealed(value: object) -> bool:
    return value is None or (
        isinstance(value, dict)
        and isinstance(value.get("content"), dict)
        and _hex64(value.get("salt"))
    )


# Each field of an entry, what it must be, and how a problem line names that.
_FIELDS: tuple[tuple[str, Callable[[object], bool], str], ...] = (
    ("seq", _positive, "a positive integer"),
    ("type", lambda value: value in (SIGNAL, UPDATE), f'"{SIGNAL}" or "{UPDATE}"'),
    ("signal", _positive, "a positive integer"),
    ("at", _time, "a time written as 2026-12-06T10:15:30.000000Z"),
    ("commitment", _hex64, "64 lowercase hex digits"),
    ("prev", _hex64, "64 lowercase hex digits"),
    ("hash", _hex64, "64 lowercase hex digits"),
    ("reveal", _revealed, "null or a content object with a 64-hex-digit salt"),
)


def _real_time(text: str) -> bool:
    try:
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: DTZ007 - Z: it is UTC
    except ValueError:
        return False
    return True


def _reveal(entry: dict[str, Any]) -> list[str]:
    """A revealed entry: its content and salt hash to its commitment, and the content
    names the entry it belongs to."""
    reveal = entry.get("reveal")
    if reveal is None:
        return []
    content, salt = reveal["content"], reveal["salt"]
    if _has_fraction(content):
        return ["its revealed content holds a number with a fraction or an exponent"]
    try:
        committed = commitment(content, salt)
    except UnicodeEncodeError:
        return ["its revealed content holds text that is not Unicode (a lone surrogate)"]
    problems = []
    if committed != entry["commitment"]:
        problems.append(
            "its revealed content and salt do not hash to its commitment: the content was changed"
        )
    for name in ("signal", "type", "at"):
        if content.get(name) != entry[name]:
            problems.append(
                f"its revealed content says {name} {shown(content.get(name))}, the entry "
                f"{shown(entry[name])}"
            )
    return problems


def _has_fraction(value: object) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Decimal):
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _head_problems(head: object, last: tuple[int, str] | None) -> list[str]:
    """The document's head must be its last entry (null when there is none)."""
    if last is None:
        return [] if head is None else ["the head names an entry, but there are none"]
    if not isinstance(head, dict) or (head.get("seq"), head.get("hash")) != last:
        return [f"the head ({shown(head)}) is not the last entry (seq {last[0]}, hash {last[1]})"]
    return []
