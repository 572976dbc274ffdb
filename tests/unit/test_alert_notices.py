"""The admins' notices about TradingView alerts, rendered from the params an outbox row holds
(JSON there and back) in every language: a preview with Send (and held by the posting
limit), and a refused alert in the words the chat uses for the same mistake."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

import pytest

from bot.core.languages import LANGUAGES
from bot.signals.alerts import json_param
from bot.signals.spec import spec_params
from bot.signals.syntax import parse_signal
from bot.texts import CATALOGUE
from bot.texts.notices import render_params

SPEC = spec_params(parse_signal("BTCUSDT long entry 65000 sl 63500 tp 67000 69000"))


def _stored(params: dict[str, Any]) -> dict[str, Any]:
    """What the outbox row gives back: JSON."""
    loaded: dict[str, Any] = json.loads(json.dumps(params))
    return loaded


def _problem(key: str, token: str, state: bool, **params: object) -> dict[str, Any]:
    return _stored(
        {
            "key": key,
            "params": {name: json_param(value) for name, value in params.items()},
            "token": token,
            "state": state,
            "excerpt": "BTCUSDT long <b>entry</b> 65000",
        }
    )


NOTICES = [
    ("alert_preview", _stored({"id": 4, "spec": SPEC, "recipients": 3, "held": None})),
    (
        "alert_preview",
        _stored({"id": 4, "spec": SPEC, "recipients": 1, "held": {"limit": 7, "seconds": 12}}),
    ),
    ("alert_problem", _problem("syntax.long_sl", "66000", False)),
    ("alert_problem", _problem("syntax.leverage", "300", False, max=Decimal(200))),
    (
        "alert_problem",
        _problem(
            "syntax.result_range",
            "1",
            False,
            r=Decimal("-12345678901.5"),
            pct=Decimal("-99.99"),
            max_r=1_000_000_000,
            max_pct=1_000_000_000,
        ),
    ),
    ("alert_problem", _problem("syntax.update_tp_count", "tp3", False, id=4, count=2)),
    ("alert_problem", _problem("signal.already", "", True, id=4, status="closed")),
    ("alert_problem", _problem("alert.no_open_signal", "", True, symbol="SOLUSDT")),
    ("alert_problem", _problem("alert.json_signal", "signal", False, example='{"signal": "x"}')),
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("kind", "params"), NOTICES)
def test_every_alert_notice_reads_in_every_language(
    language: str, kind: str, params: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with CATALOGUE.use_locale(language):
        text, markup = render_params(kind, params)
    assert "alert." not in text and "syntax." not in text and "signal." not in text, text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no id missing
    if kind == "alert_preview":
        assert markup is not None and len(markup.inline_keyboard[0]) == 2  # Send, Cancel
        assert ("12" in text) == (params["held"] is not None)
    else:
        assert markup is None
        assert "&lt;b&gt;entry&lt;/b&gt;" in text  # what the alert said, escaped


def test_the_english_words() -> None:
    with CATALOGUE.use_locale("en"):
        preview, _ = render_params(*NOTICES[1])
        problem, _ = render_params(*NOTICES[3])
    assert preview.startswith(
        "📡 <b>From a TradingView alert</b>\nNot published at once: at most 7"
    )
    assert "<code>300</code>: leverage must be between 1 and 200." in problem
