"""The risk disclaimer a user accepts before a first payment: its words (DISCLAIMER_TEXT,
or the catalogue's in the reader's language) and the version an acceptance records.

The version is the first 12 hex digits of the sha256 of the canonical text: DISCLAIMER_TEXT
when set, else the catalogue's English (the source the other languages translate), with
runs of white space made one space. Editing the text (or the English catalogue entry)
makes a new version, and everyone is asked again at their next payment start; a fixed
translation alone does not (docs/consents.md).
"""

from __future__ import annotations

import hashlib

from bot.texts import CATALOGUE, DEFAULT_LOCALE, Html, plain, t

KEY = "consent.disclaimer"
VERSION_DIGITS = 12
# DISCLAIMER_TEXT, set once by the composition root (None: the catalogue's text).
_custom: dict[str, str | None] = {"text": None}


def use_text(text: str | None) -> None:
    _custom["text"] = text


def text() -> str:
    """The disclaimer in the current language (DISCLAIMER_TEXT is one language), plain."""
    custom = _custom["text"]
    return custom if custom is not None else plain(KEY)


def canonical() -> str:
    """The language-independent text whose hash is the version."""
    custom = _custom["text"]
    if custom is None:
        with CATALOGUE.use_locale(DEFAULT_LOCALE):
            custom = plain(KEY)
    return " ".join(custom.split())


def version() -> str:
    """The current version: what an acceptance must name to count."""
    return hashlib.sha256(canonical().encode()).hexdigest()[:VERSION_DIGITS]


def ask() -> Html:
    """The chat's message before a first payment: the text and what the button does."""
    return t("consent.ask", text=text())


def terms_message(url: str, language: str) -> str:
    """Checkout's words beside its terms checkbox (Markdown, as Stripe's custom_text takes
    it), linking TERMS_URL, in the language Checkout speaks."""
    locale = language if language in CATALOGUE.available_locales else DEFAULT_LOCALE
    with CATALOGUE.use_locale(locale):
        return plain("consent.terms", url=url)
