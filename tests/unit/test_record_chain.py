"""The verifiable record's algorithm (bot/signals/record_chain.py) and its checks
(bot/signals/record_verify.py), pure: the canonical encoding, the worked example of
docs/track-record.md to the digit, and every way of tampering with a chain named."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.signals.record_chain import (
    FORMAT,
    GENESIS,
    Json,
    Sealed,
    canonical,
    commitment,
    plain_decimal,
    seal,
    time_text,
)
from bot.signals.record_verify import UnreadableRecordError, parse, verify

START = datetime(2026, 12, 6, 10, 15, 30, tzinfo=UTC)
SALT = "5a" * 32

# docs/track-record.md's worked example: signal 17 and its first update, each with SALT.
EXAMPLE_SIGNAL: dict[str, Json] = {
    "symbol": "BTCUSDT",
    "side": "long",
    "entry_low": "65000",
    "entry_high": "65500",
    "stop_loss": "63500",
    "take_profits": ["67000", "69000"],
    "leverage": "5",
    "timeframe": "4h",
    "note": None,
}
EXAMPLE_UPDATE: dict[str, Json] = {
    "kind": "tp1",
    "price": "67000",
    "note": None,
    "status": "tp1",
    "result_pct": "2.682",
    "result_r": "1",
}


def _example() -> tuple[Sealed, Sealed]:
    first = seal(
        seq=1, kind="signal", signal=17, at=START, fields=EXAMPLE_SIGNAL, prev=GENESIS, salt=SALT
    )
    second = seal(
        seq=2,
        kind="update",
        signal=17,
        at=START + timedelta(hours=3),
        fields=EXAMPLE_UPDATE,
        prev=first.hash,
        salt=SALT,
    )
    return first, second


def _public(sealed: Sealed, *, revealed: bool = True) -> dict[str, Any]:
    reveal = {"content": json.loads(sealed.content), "salt": sealed.salt} if revealed else None
    return {
        "seq": sealed.seq,
        "type": sealed.type,
        "signal": sealed.signal,
        "at": sealed.at,
        "commitment": sealed.commitment,
        "prev": sealed.prev,
        "hash": sealed.hash,
        "reveal": reveal,
        "outcome": None,
    }


def _chain(*kinds: tuple[str, int]) -> list[dict[str, Any]]:
    """Entries of (type, signal), one a minute, each revealed."""
    entries, prev = [], GENESIS
    for seq, (kind, signal) in enumerate(kinds, 1):
        fields: dict[str, Json] = {"symbol": "BTCUSDT"} if kind == "signal" else {"kind": "tp1"}
        at = START + timedelta(minutes=seq)
        sealed = seal(
            seq=seq, kind=kind, signal=signal, at=at, fields=fields, prev=prev, salt=SALT
        )
        entries.append(_public(sealed))
        prev = sealed.hash
    return entries


def _document(entries: list[dict[str, Any]], head: Any = "last") -> dict[str, Any]:
    if head == "last":
        head = {"seq": entries[-1]["seq"], "hash": entries[-1]["hash"]} if entries else None
    return {
        "format": FORMAT,
        "brand": "Test",
        "generated_at": "x",
        "head": head,
        "entries": entries,
    }


def _problems(document: dict[str, Any], **options: Any) -> list[str]:
    return verify(parse(json.dumps(document).encode()), **options).problems


def test_the_canonical_encoding() -> None:
    value: Json = {"b": [1, "é", None, True], "a": {"z": "\n", "y": "€"}}
    assert canonical(value) == '{"a":{"y":"€","z":"\\n"},"b":[1,"é",null,true]}'.encode()
    assert plain_decimal(Decimal("65000.0000000000")) == "65000"
    assert plain_decimal(Decimal("0.50")) == "0.5"
    assert plain_decimal(Decimal("1E+3")) == "1000"
    assert plain_decimal(Decimal("-0.000")) == "0"
    assert plain_decimal(Decimal("-1.2500")) == "-1.25"
    assert plain_decimal(None) is None
    moment = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert time_text(moment) == "2026-01-02T03:04:05.000006Z"
    with pytest.raises(ValueError, match="Out of range float"):
        canonical({"price": float("nan")})  # type: ignore[dict-item]


def test_the_worked_example_of_the_docs() -> None:
    """docs/track-record.md quotes these bytes and digests: a change to the algorithm
    changes them, and the docs with them."""
    first, second = _example()
    assert first.content == (
        '{"at":"2026-12-06T10:15:30.000000Z","entry_high":"65500","entry_low":"65000",'
        '"leverage":"5","note":null,"side":"long","signal":17,"stop_loss":"63500",'
        '"symbol":"BTCUSDT","take_profits":["67000","69000"],"timeframe":"4h",'
        '"type":"signal"}'
    )
    assert first.commitment == commitment(json.loads(first.content), SALT)
    assert (first.commitment, first.hash, second.commitment, second.hash) == EXAMPLE_DIGESTS
    assert _problems(_document([_public(first), _public(second)])) == []


def test_the_docs_hold_the_example_and_a_verifier_that_works() -> None:
    """docs/track-record.md: each shell line hashes to the digest quoted under it, and its
    Python verifier passes the example and names a tampered copy."""
    text = DOCS.read_text(encoding="utf-8")
    lines = text.splitlines()
    quoted = 0
    for number, line in enumerate(lines):
        if line.startswith(PRINTF):
            hashed = line[len(PRINTF) : line.rindex("' | sha256sum")].replace("'$S'", SALT)
            assert lines[number + 1] == f"# {hashlib.sha256(hashed.encode()).hexdigest()}"
            quoted += 1
    assert quoted == 4 and all(digest in text for digest in EXAMPLE_DIGESTS)
    first, second = _example()
    assert first.content in text
    namespace: dict[str, Any] = {"__name__": "docs"}
    exec(text.split("```python\n")[1].split("```")[0], namespace)  # noqa: S102
    record = _document([_public(first), _public(second, revealed=False)])
    assert namespace["check"](record) == []
    record["entries"][0]["reveal"]["content"]["stop_loss"] = "60000"
    record["entries"][1]["at"] = first.at.replace("10:", "09:")
    assert namespace["check"](record) == [
        "entry 1: reveal does not match its commitment",
        "entry 2: hash does not match its fields",
        "entry 2: earlier than the entry before it",
    ]


DOCS = Path(__file__).resolve().parents[2] / "docs" / "track-record.md"
PRINTF = "printf '%s' '"
EXAMPLE_DIGESTS = (
    "43a63a95a6508b98f9f51c38968c912e7ba6b86e17fd94f8d617c68bbee133ed",
    "74392a08a7d63a8ce2b96e6e828fa765294bb3660f427fb4dde12ead21abe362",
    "8abb7ed6bde477bd3f65f5eda54f77e22edb96701b77f5100fca5da7c05adeff",
    "676e23ece38ed8197757f6c252edbde34103a2f07e45308a31d4043df4f79cc9",
)


def test_a_chain_holds_and_sealed_entries_show_nothing() -> None:
    entries = _chain(("signal", 1), ("signal", 2), ("update", 1), ("update", 2))
    entries[1]["reveal"] = entries[3]["reveal"] = None  # signal 2 still open
    verdict = verify(parse(json.dumps(_document(entries)).encode()))
    assert verdict.valid and verdict.entries == 4 and verdict.revealed == 2
    assert verdict.head == (4, entries[3]["hash"])
    assert _problems(_document([])) == []


def test_an_edited_content_is_caught() -> None:
    entries = _chain(("signal", 1), ("update", 1))
    entries[0]["reveal"]["content"]["stop_loss"] = "1"
    assert _problems(_document(entries)) == [
        "entry 1 (seq 1): its revealed content and salt do not hash to its commitment: the "
        "content was changed"
    ]
    entries = _chain(("signal", 1))
    entries[0]["reveal"]["salt"] = "0" * 64
    assert len(_problems(_document(entries))) == 1


def test_an_edited_entry_is_caught_and_so_is_one_rehashed() -> None:
    entries = _chain(("signal", 1), ("signal", 2), ("signal", 3))
    entries[1]["reveal"] = None  # still sealed: only the entry's hash can tell
    entries[1]["commitment"] = "f" * 64
    assert _problems(_document(entries)) == [
        "entry 2 (seq 2): its hash does not match its fields: the entry was changed"
    ]
    entries = _chain(("signal", 1), ("signal", 2), ("signal", 3))
    entries[1]["signal"] = 7
    entries[1]["hash"] = "e" * 64  # a new hash the next entry does not name
    problems = _problems(_document(entries))
    assert any("entry 2 (seq 2): its hash does not match" in p for p in problems)
    assert any(
        "entry 3 (seq 3): prev is not the hash of the entry before it" in p for p in problems
    )


def test_a_removed_entry_is_caught() -> None:
    entries = _chain(("signal", 1), ("signal", 2), ("signal", 3))
    del entries[1]
    assert _problems(_document(entries)) == [
        "entry 2 (seq 3): seq 3 follows seq 1: an entry is missing, added or moved",
        "entry 2 (seq 3): prev is not the hash of the entry before it: an entry before it "
        "was changed, removed or moved",
    ]
    entries = _chain(("signal", 1), ("signal", 2))
    del entries[0]
    assert _problems(_document(entries))[0] == "entry 1 (seq 2): the first entry's seq is 2, not 1"
    entries = _chain(("signal", 1), ("signal", 2))
    problems = _problems(_document(entries[:1], head={"seq": 2, "hash": entries[1]["hash"]}))
    assert problems and problems[0].startswith("the head (")  # the newest removed


def test_reordered_entries_are_caught() -> None:
    entries = _chain(("signal", 1), ("signal", 2), ("signal", 3))
    entries[1], entries[2] = entries[2], entries[1]
    problems = _problems(_document(entries))
    assert any("seq 3 follows seq 1" in p for p in problems)
    assert any("prev is not the hash" in p for p in problems)
    # the seq numbers swapped too, as a database's rows would be
    entries = _chain(("signal", 1), ("signal", 2), ("signal", 3))
    entries[1]["seq"], entries[2]["seq"] = 3, 2
    entries[1], entries[2] = entries[2], entries[1]
    problems = _problems(_document(entries, head={"seq": 3, "hash": entries[2]["hash"]}))
    assert any("its hash does not match its fields" in p for p in problems)
    assert any("prev is not the hash" in p for p in problems)


def test_a_back_dated_entry_is_caught() -> None:
    entries = _chain(("signal", 1), ("signal", 2), ("signal", 3))
    entries[2]["at"] = time_text(START)  # before entry 2
    problems = _problems(_document(entries))
    assert "entry 3 (seq 3): its hash does not match its fields: the entry was changed" in problems
    assert any(
        "entry 3 (seq 3): its time 2026-12-06T10:15:30.000000Z is before" in p for p in problems
    )
    assert any("its revealed content says at" in p for p in problems)


def test_updates_name_a_signal_committed_before_them() -> None:
    problems = _problems(_document(_chain(("update", 1), ("signal", 1), ("signal", 1))))
    assert problems == [
        "entry 1 (seq 1): an update to signal 1, which no earlier entry commits",
        "entry 3 (seq 3): signal 1 is committed a second time",
    ]


def test_a_head_seen_earlier_must_still_be_in_the_chain() -> None:
    entries = _chain(("signal", 1), ("signal", 2))
    assert _problems(_document(entries), expect=(1, entries[0]["hash"])) == []
    [problem] = _problems(_document(entries), expect=(1, "a" * 64))
    assert problem.startswith("the chain does not hold entry 1 with hash aaaa")
    [problem] = _problems(_document(entries), expect=(5, entries[0]["hash"]))
    assert problem.startswith("the chain does not hold entry 5")


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda e: e.update(seq=True), "seq is not a positive integer"),
        (lambda e: e.update(seq=0), "seq is not a positive integer"),
        (lambda e: e.update(type="close"), 'type is not "signal" or "update"'),
        (lambda e: e.update(hash="A" * 64), "hash is not 64 lowercase hex digits"),
        (lambda e: e.pop("prev"), "prev is not 64 lowercase hex digits"),
        (lambda e: e.update(at="2026-12-06 10:15:30"), "at is not a time written as"),
        (lambda e: e.update(at="2026-02-30T10:15:30.000000Z"), "at is not a time written as"),
        (lambda e: e.update(reveal={"content": "x", "salt": SALT}), "reveal is not null or"),
        (lambda e: e.update(reveal=[]), "reveal is not null or"),
    ],
)
def test_a_malformed_entry_is_named_and_the_walk_goes_on(change: Any, says: str) -> None:
    entries = _chain(("signal", 1), ("signal", 2))
    change(entries[0])
    problems = _problems(_document(entries))
    assert problems[0].startswith("entry 1: ") and says in problems[0]


def test_odd_contents_are_problems_not_crashes() -> None:
    entries = _chain(("signal", 1))
    entries[0]["reveal"]["content"]["price"] = 1.5
    assert "a number with a fraction" in _problems(_document(entries))[0]
    entries = _chain(("signal", 1))
    raw = json.dumps(_document(entries)).replace('"BTCUSDT"', '"\\ud800"').encode()
    assert "not Unicode" in verify(parse(raw)).problems[0]
    entries = _chain(("signal", 1))
    entries[0]["reveal"]["content"]["note"] = "\x1b[31m" * 100
    [*_, quoted] = _problems(_document(entries))
    assert "\x1b" not in quoted


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"\xff\xfe", "not UTF-8 text"),
        (b"", "not valid JSON"),
        (b'{"format": "signaldesk-record/1", "entries": [] ', "not valid JSON"),
        (b'{"format": "signaldesk-record/1", "format": "x", "entries": []}', "a key given twice"),
        (b'{"format": "signaldesk-record/1", "entries": [NaN]}', "NaN is not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 32 levels"),
        (b'{"a":' * 40 + b"1" + b"}" * 40, "nested deeper than 32 levels"),
        (b"1" * 5000, "not valid JSON"),
        (b'{"format": "signaldesk-record/2", "entries": []}', 'no "format": "signaldesk-rec'),
        (b"[]", "not a record"),
        (b'{"format": "signaldesk-record/1", "entries": {}}', '"entries" is not a list'),
    ],
)
def test_what_is_not_a_record_is_unreadable(raw: bytes, says: str) -> None:
    with pytest.raises(UnreadableRecordError, match="^.*$") as caught:
        parse(raw)
    assert says in str(caught.value) and "\n" not in str(caught.value)
