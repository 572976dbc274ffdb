"""The verifiable record's algorithm (issue 28, "commit now, reveal later"), pure.

Every published signal and every update is an entry of one hash chain. An entry commits to
its content (a signal's levels, an update's kind, price, note and result) without showing
it: the commitment is SHA-256 over the content and a random salt, so nobody can read the
levels from it, and nobody (the provider included) can later find other levels with the
same commitment. The entry names the previous entry's hash, so an entry removed, reordered,
changed or back-dated breaks the chain. When the signal closes, its entries' contents and
salts are revealed and anyone can recompute each commitment. docs/track-record.md spells
the algorithm out for anyone writing their own verifier; bot/signals/record_verify.py is
ours.

    canonical(v)  = UTF-8 of JSON with sorted keys, no whitespace, no ASCII escaping
    commitment    = sha256_hex(canonical({"content": content, "salt": salt}))
    entry hash    = sha256_hex(canonical({"at", "commitment", "prev", "seq", "signal",
                                          "type"}))
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from bot.signals.spec import SignalSpec
from bot.signals.updates import Outcome, UpdateCommand

FORMAT = "signaldesk-record/1"
GENESIS = "0" * 64  # the `prev` of the first entry
SIGNAL, UPDATE = "signal", "update"  # an entry's type
ENTRY_FIELDS = ("at", "commitment", "prev", "seq", "signal", "type")  # what its hash covers
SALT_BYTES = 32

# JSON as the record holds it: no floats anywhere (a float's text differs between
# languages, so prices are decimal strings and numbers are integers).
Json = None | bool | int | str | list["Json"] | dict[str, "Json"]


def canonical(value: Json) -> bytes:
    """The one byte string a JSON value hashes as: keys sorted, no whitespace, UTF-8 (not
    \\u escapes) for non-ASCII text. For values without floats this is RFC 8785 (JCS)."""
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def plain_decimal(value: Decimal | None) -> str | None:
    """A price as the record writes it: plain digits, no exponent, no trailing zeros
    ("65000", "0.5", "-1.25"), whatever scale the database handed back."""
    if value is None:
        return None
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def time_text(moment: datetime) -> str:
    """A time as the record writes it: UTC, microseconds, `Z` (2026-12-06T10:15:30.000000Z);
    one fixed width, so the texts sort as the times do."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_salt() -> str:
    """32 random bytes as 64 hex digits: the content cannot be guessed from its commitment
    (a signal's few likely levels could be tried one by one without it)."""
    return secrets.token_hex(SALT_BYTES)


def commitment(content: Json, salt: str) -> str:
    return sha256_hex(canonical({"content": content, "salt": salt}))


def entry_hash(entry: dict[str, Json]) -> str:
    """The hash of an entry: its six fields (ENTRY_FIELDS), nothing else."""
    return sha256_hex(canonical({name: entry[name] for name in ENTRY_FIELDS}))


@dataclass(frozen=True, slots=True)
class Sealed:
    """An entry ready to store: its fields, its hash, and its content (canonical JSON) and
    salt, which stay private until the entry is revealed."""

    seq: int
    type: str
    signal: int
    at: str
    commitment: str
    prev: str
    hash: str
    content: str
    salt: str


def seal(
    *,
    seq: int,
    kind: str,
    signal: int,
    at: datetime,
    fields: dict[str, Json],
    prev: str,
    salt: str,
) -> Sealed:
    """The entry number `seq` after the entry whose hash is `prev`. Its content is `fields`
    with the signal's number, the entry's type and time, so a revealed content names the
    entry it belongs to."""
    when = time_text(at)
    content: dict[str, Json] = {**fields, "signal": signal, "type": kind, "at": when}
    committed = commitment(content, salt)
    entry: dict[str, Json] = {
        "seq": seq,
        "type": kind,
        "signal": signal,
        "at": when,
        "commitment": committed,
        "prev": prev,
    }
    return Sealed(
        seq=seq,
        type=kind,
        signal=signal,
        at=when,
        commitment=committed,
        prev=prev,
        hash=entry_hash(entry),
        content=canonical(content).decode("utf-8"),
        salt=salt,
    )


def signal_fields(spec: SignalSpec) -> dict[str, Json]:
    """What a signal's entry commits to: its levels, as posted."""
    return {
        "symbol": spec.symbol,
        "side": spec.side,
        "entry_low": plain_decimal(spec.entry_low),
        "entry_high": plain_decimal(spec.entry_high),
        "stop_loss": plain_decimal(spec.stop_loss),
        "take_profits": [plain_decimal(tp) for tp in spec.take_profits],
        "leverage": plain_decimal(spec.leverage),
        "timeframe": spec.timeframe,
        "note": spec.note,
    }


def update_fields(command: UpdateCommand, outcome: Outcome) -> dict[str, Json]:
    """What an update's entry commits to: "tp1 hit at 67000" names a target, so an update
    is sealed like its signal and revealed with it."""
    return {
        "kind": command.kind,
        "price": plain_decimal(outcome.price),
        "note": command.note,
        "status": outcome.status,
        "result_pct": plain_decimal(outcome.result_pct),
        "result_r": plain_decimal(outcome.result_r),
    }
