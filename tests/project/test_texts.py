"""The text catalogue and the code held to each other: every message id the code uses is
in the catalogue, every one in the catalogue is used, the compiled catalogue is current,
and every placeholder can be filled. The code is the bot's and the web app's Python, and
the Mini App's front end (webapp/static: its JS modules and index.html), whose texts are
the catalogue's app.* messages."""

from __future__ import annotations

import ast
import gettext
import io
import json
import re
import string
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.signals.service import WINDOWS
from bot.texts import CATALOGUE, LOCALES, keys, plain, t
from bot.texts.billing import KNOWN_STATES
from bot.texts.commands import USER_COMMANDS

ROOT = Path(__file__).resolve().parents[2]
PO = LOCALES / "en" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
STATIC = ROOT / "webapp" / "static"
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


# The front end names its texts in full: a string literal in a module (t("app.x"),
# tn("app.x", n), rich("app.x"), or a table of ids), or an attribute of index.html
# (data-text="app.x", data-text-aria-label="app.x", ...). Ids are never built from data.
JS_ID = re.compile(r"[\"'](app(?:\.[a-z0-9_]+)+)[\"']")
HTML_ID = re.compile(r'\bdata-text(?:-[a-z-]+)?="(app(?:\.[a-z0-9_]+)+)"')


def _front_end_ids() -> set[str]:
    """Message ids the Mini App's front end uses (webapp/static/**/*.js and *.html)."""
    found: set[str] = set()
    for path in STATIC.rglob("*.js"):
        found.update(JS_ID.findall(path.read_text()))
    for path in STATIC.rglob("*.html"):
        found.update(HTML_ID.findall(path.read_text()))
    return found


def _used_ids() -> set[str]:
    return _literal_ids() | BUILT | _front_end_ids()


def test_every_id_the_code_uses_is_in_the_catalogue() -> None:
    assert _used_ids() - keys() == set()


def test_every_id_in_the_catalogue_is_used() -> None:
    assert keys() - _used_ids() == set()


def test_every_id_the_front_end_uses_is_an_app_text_in_the_catalogue() -> None:
    used = _front_end_ids()
    assert {"app.tab.signals", "app.error.network", "app.compose.send_to"} <= used
    assert used - keys() == set()


def _app_messages() -> list[tuple[str, tuple[str, ...]]]:
    with PO.open("rb") as source:
        catalog = read_po(source)
    found = []
    for message in catalog:
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key.startswith("app."):
            string = message.string
            texts = (string,) if isinstance(string, str) else tuple(string or ())
            found.append((key, texts))
    return found


def test_app_texts_are_plain_text_the_front_end_can_fill() -> None:
    """The front end (js/texts.js) fills `{name}` only, and shows the text as text."""
    messages = _app_messages()
    assert len(messages) > 100
    for key, texts in messages:
        for text in texts:
            assert text, key
            assert not re.search(r"<[a-zA-Z/!]", text), (key, "a text is not HTML")
            for _, name, spec, conversion in string.Formatter().parse(text):
                if name is not None:
                    assert name.isidentifier() and not spec and not conversion, (key, name)


class _Words(HTMLParser):
    """Text and labelling attributes a page shows, outside scripts and styles."""

    LABELS = ("aria-label", "placeholder", "title", "alt")

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.words: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)
        self.words.extend(
            (f"{tag}[{name}]", value or "") for name, value in attrs if name in self.LABELS
        )

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        if data.strip() and not {"script", "style"} & set(self.stack):
            self.words.append((self.stack[-1] if self.stack else "", data.strip()))


def test_the_page_has_no_words_of_its_own() -> None:
    """index.html names its texts (data-text); only the product's name stands in the title
    until the texts have come."""
    page = _Words()
    page.feed((STATIC / "index.html").read_text())
    assert page.words == [("title", plain("app.name"))]


def test_the_front_ends_fallback_says_what_the_catalogue_says() -> None:
    """texts.js keeps a few words for when the catalogue cannot be fetched: the same ones."""
    source = (STATIC / "js" / "texts.js").read_text()
    block = source.split("// --- fallback: begin ---")[1].split("// --- fallback: end ---")[0]
    fallback = {
        key: json.loads(f'"{text}"')
        for key, text in re.findall(r'"(app\.[a-z0-9_.]+)":\s*"((?:[^"\\]|\\.)*)"', block)
    }
    assert set(fallback) == {"app.fatal.title", "app.error.network", "app.action.retry"}
    assert fallback == {key: plain(key) for key in fallback}


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
