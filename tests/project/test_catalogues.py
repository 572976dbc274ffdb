"""Every language's catalogue held to the English one: the same message ids, the same
placeholders (names and format specs), the same HTML, as many plural forms as the language
has, and a compiled .mo that says what the .po says. A translation that drops `{date}` or
a `<b>` fails here, not in a subscriber's chat."""

from __future__ import annotations

import gettext
import io
import re
import string
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.core.languages import LANGUAGES
from bot.texts import CATALOGUE, LOCALES

TRANSLATIONS = [language for language in LANGUAGES if language != "en"]
TAG = re.compile(r"</?[a-z]+\b[^>]*>")


def _po(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / "messages.po"


def _catalog(language: str) -> Catalog:
    with _po(language).open("rb") as source:
        return read_po(source, locale=language)


def _messages(catalog: Catalog) -> dict[str, Message]:
    return {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}


def _forms(message: Message) -> list[str]:
    if isinstance(message.string, str):
        return [message.string]
    return list(message.string or ())


def _fields(text: str) -> set[tuple[str, str]]:
    return {(name, spec or "") for _, name, spec, _ in string.Formatter().parse(text) if name}


ENGLISH = _messages(_catalog("en"))


def test_every_offered_language_has_a_compiled_catalogue() -> None:
    assert set(LANGUAGES) == {"en", "ru", "es", "pt_BR"}
    assert set(LANGUAGES) <= set(CATALOGUE.available_locales)


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_a_translation_has_every_message_and_no_other(language: str) -> None:
    translated = _messages(_catalog(language))
    assert set(ENGLISH) - set(translated) == set(), "missing"
    assert set(translated) - set(ENGLISH) == set(), "not in English"
    empty = [key for key, message in translated.items() if not all(_forms(message))]
    assert empty == []


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_placeholders_and_markup_are_the_english_ones(language: str) -> None:
    """A non-plural text has exactly the English placeholders; a plural form may leave
    {count} out (as English "day" does), never add one. Tags are the same, form by form."""
    problems = []
    for key, message in _messages(_catalog(language)).items():
        english = _forms(ENGLISH[key])
        wanted = set().union(*(_fields(text) for text in english))
        tags = sorted(TAG.findall(english[-1]))
        for text in _forms(message):
            got = _fields(text)
            if (got != wanted) if len(english) == 1 else not got <= wanted:
                problems.append(f"{key}: {sorted(got)} against {sorted(wanted)}")
            if sorted(TAG.findall(text)) != tags:
                problems.append(f"{key}: tags {TAG.findall(text)}")
    assert problems == []


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_plural_texts_have_the_forms_of_the_language(language: str) -> None:
    catalog = _catalog(language)
    # The header's rule has as many forms as CLDR has integer categories (Russian: one,
    # few, many; Portuguese and Spanish: one, other).
    integer_categories = {Locale.parse(language).plural_form(n) for n in range(200)}
    assert catalog.num_plurals == len(integer_categories)
    for key, message in _messages(catalog).items():
        if isinstance(ENGLISH[key].string, tuple):
            assert len(_forms(message)) == catalog.num_plurals, key


def test_russian_plurals_pick_the_right_form() -> None:
    counts = (1, 3, 5, 11, 21)
    forms = [
        CATALOGUE.gettext("plan.period.day", "plan.period.day.plural", n, "ru") for n in counts
    ]
    shown = [form.format(count=n) for form, n in zip(forms, counts, strict=True)]
    assert shown == ["1 день", "3 дня", "5 дней", "11 дней", "21 день"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_is_current(language: str) -> None:
    """messages.mo says what messages.po says (`make texts` compiles them)."""
    compiled = io.BytesIO()
    write_mo(compiled, _catalog(language))
    compiled.seek(0)
    with _po(language).with_suffix(".mo").open("rb") as committed:
        shipped = gettext.GNUTranslations(committed)
    expected = gettext.GNUTranslations(compiled)
    # The header ("") carries compile-time dates; the messages are what matter.
    messages = [{k: v for k, v in c._catalog.items() if k} for c in (shipped, expected)]  # type: ignore[attr-defined]
    assert messages[0] == messages[1], "run `make texts`"
