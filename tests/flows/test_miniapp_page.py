"""The Mini App's page: its security headers, its JavaScript modules served as JavaScript,
and its texts (GET /api/v1/texts: public, cached, and with their placeholders unfilled)."""

from __future__ import annotations

from bot.texts import keys
from tests.support.api_client import call
from tests.support.harness import Harness
from webapp.miniapp_static import STATIC_DIR

# --- the page and its headers --------------------------------------------------------------


async def test_app_page_has_security_headers(harness: Harness) -> None:
    async with harness.http.get(harness.base_url + "/app/") as response:
        assert response.status == 200
        html = await response.text()
        csp = response.headers["Content-Security-Policy"]
    assert "telegram-web-app.js" in html
    assert "default-src 'self'" in csp and "script-src 'self' https://telegram.org" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    async with harness.http.get(harness.base_url + "/app", allow_redirects=False) as response:
        assert response.status == 308 and response.headers["Location"] == "/app/"
    async with harness.http.get(harness.base_url + "/app/../db/models.py") as response:
        assert response.status == 404


# --- the page's texts ----------------------------------------------------------------------


async def test_texts_are_public_cached_and_unfilled(harness: Harness) -> None:
    status, body, headers = await call(harness, "GET", "/api/v1/texts")  # no token
    assert status == 200
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    # Set by the route, not overridden by the API's no-store: the same for everyone.
    assert headers["Cache-Control"] == "public, max-age=300"
    assert body["locale"] == "en"
    texts = body["texts"]
    assert set(texts) == {key for key in keys() if key.startswith("app.")}
    for key, text in texts.items():
        if isinstance(text, dict):  # a plural text
            assert set(text) == {"one", "other"}, key
            assert all(isinstance(form, str) and form for form in text.values()), key
        else:
            assert isinstance(text, str) and text, key
    assert texts["app.tab.subscription"] == "Subscription"
    assert texts["app.tab.signals"] == "Signals"
    assert texts["app.tab.performance"] == "Track record"
    assert texts["app.tab.compose"] == "Post"
    assert texts["app.tab.stats"] == "Stats"
    # Placeholders are the front end's to fill.
    assert (
        texts["app.error.server"] == "The server had a problem (HTTP {status}). Please try again."
    )
    assert texts["app.compose.send_to"] == {
        "one": "Send to {count} subscriber",
        "other": "Send to {count} subscribers",
    }


async def test_the_app_modules_are_served_as_javascript(harness: Harness) -> None:
    """Browsers refuse a module script without a JavaScript MIME type."""
    modules = sorted(path.relative_to(STATIC_DIR).as_posix() for path in STATIC_DIR.rglob("*.js"))
    assert "js/main.js" in modules and "js/screens/signals.js" in modules
    assert "app.js" not in modules
    for name in modules:
        async with harness.http.get(f"{harness.base_url}/app/{name}") as response:
            assert response.status == 200, name
            assert response.content_type in ("text/javascript", "application/javascript"), name
    async with harness.http.get(harness.base_url + "/app/") as response:
        html = await response.text()
    assert '<script type="module" src="/app/js/main.js"></script>' in html
    assert html.index("telegram-web-app.js") < html.index("/app/js/main.js")
