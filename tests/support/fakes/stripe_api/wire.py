"""What every part of the fake Stripe shares: the JSON object type, Stripe-looking ids, and
the bracketed form encoding Stripe's clients send (``line_items[0][price]=...``)."""

from __future__ import annotations

import random
import re
import string
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

JSONDict = dict[str, Any]

_ID_ALPHABET = string.ascii_letters + string.digits
# A private RNG so tests that seed the global `random` module don't get colliding ids.
_rng = random.Random()
_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT_RE = re.compile(r"\[([^\[\]]*)\]")


def _rand_id(prefix: str, length: int = 24) -> str:
    """Return a Stripe-looking object id such as ``cs_test_Ab12...``."""
    return prefix + "".join(_rng.choices(_ID_ALPHABET, k=length))


def _split_key(key: str) -> list[str]:
    """Split ``a[0][b]`` into ``["a", "0", "b"]``; malformed keys stay whole."""
    match = _KEY_RE.match(key)
    if match is None:
        return [key]
    return [match.group(1), *_SEGMENT_RE.findall(match.group(2))]


def _listify(node: Any, key: str | None = None) -> Any:
    """Turn dicts keyed ``"0".."n-1"`` into lists, bottom-up."""
    if not isinstance(node, dict):
        return node
    converted = {k: _listify(v, k) for k, v in node.items()}
    # metadata keys are free-form strings, so numeric metadata keys must stay a dict.
    if key == "metadata" or not converted:
        return converted
    if all(k.isdigit() for k in converted):
        indexes = sorted(int(k) for k in converted)
        if indexes == list(range(len(indexes))):
            return [converted[str(i)] for i in indexes]
    return converted


def decode_form(pairs: Iterable[tuple[str, str]]) -> JSONDict:
    """Decode Stripe's bracketed form encoding into nested dicts/lists of strings."""
    root: JSONDict = {}
    for key, value in pairs:
        parts = _split_key(key)
        node = root
        for i, segment in enumerate(parts):
            # `expand[]=a&expand[]=b` appends, like Rack/Rails (which Stripe's API uses).
            part = segment or str(len(node))
            if i == len(parts) - 1:
                node[part] = value
                break
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
    result = _listify(root)
    assert isinstance(result, dict)
    return result


def decode_query(query: str) -> JSONDict:
    """Decode a raw query string or form body."""
    # Blank values matter: Stripe clients unset fields by sending `key=`.
    return decode_form(parse_qsl(query, keep_blank_values=True))
