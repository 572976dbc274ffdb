"""The text catalogue and the code held to each other: every message id the code uses is
in the catalogue, every one in the catalogue is used, the compiled catalogue is current,
and every placeholder can be filled."""

from __future__ import annotations

import ast
import gettext
import io
import string
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.chat.texts import CATALOGUE, LOCALES, keys, plain, t
from bot.chat.texts.billing import KNOWN_STATES
from bot.chat.texts.commands import USER_COMMANDS
from bot.signals.service import WINDOWS

ROOT = Path(__file__).resolve().parents[1]
PO = LOCALES / "en" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
NAMESPACES = {key.split(".")[0] for key in keys()}
# Ids the code builds from data rather than writes out.
BUILT = (
    {f"command.{name}" for name in USER_COMMANDS}
    | {f"state.{status}" for status in KNOWN_STATES}
    | {f"side.{side}" for side in ("long", "short")}
    | {f"window.{window}" for window, _ in WINDOWS}
    | {f"plan.period.{period}" for period in ("day", "week", "month", "year")}
)


def _literal_ids() -> set[str]:
    """String constants in bot/ and webapp/ shaped like a message id of a known namespace."""
    found: set[str] = set()
    for package in ("bot", "webapp"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and node.value.split(".")[0] in NAMESPACES
                    and all(part.isidentifier() for part in node.value.split("."))
                    and "." in node.value
                ):
                    found.add(node.value)
    return found


def test_every_id_the_code_uses_is_in_the_catalogue() -> None:
    assert (_literal_ids() | BUILT) - keys() == set()


def test_every_id_in_the_catalogue_is_used() -> None:
    assert keys() - (_literal_ids() | BUILT) == set()


def test_the_compiled_catalogue_is_current() -> None:
    """messages.mo says what messages.po says (`make texts` compiles it)."""
    with PO.open("rb") as source:
        catalog = read_po(source)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    with MO.open("rb") as committed:
        shipped = gettext.GNUTranslations(committed)
    expected = gettext.GNUTranslations(compiled)
    # The header ("") carries compile-time dates; the messages are what matter.
    messages = [{k: v for k, v in c._catalog.items() if k} for c in (shipped, expected)]  # type: ignore[attr-defined]
    assert messages[0] == messages[1], "run `make texts`"


def test_every_placeholder_is_a_plain_name() -> None:
    with PO.open("rb") as source:
        catalog = read_po(source)
    for message in catalog:
        if not message.id:
            continue
        texts = (message.string,) if isinstance(message.string, str) else message.string or ()
        for text in texts:
            names = [field for _, field, _, _ in string.Formatter().parse(text) if field]
            assert all(name.isidentifier() for name in names), (message.id, names)


def test_what_fills_a_text_is_escaped_unless_it_is_html_already() -> None:
    assert t("start.welcome", name="<b>Eve</b>").startswith("👋 Welcome, &lt;b&gt;Eve&lt;/b&gt;!")
    assert plain("grant.taken_back", user="<7>") == "User <7>'s grant was taken back."
    assert CATALOGUE.default_locale == "en"
