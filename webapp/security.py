"""Security headers on every response: CSP for the Mini App, no caching for the API."""

from __future__ import annotations

from aiohttp import web

# Telegram requires its own script; nothing else is loaded from elsewhere. Telegram Web
# shows Mini Apps in an iframe, hence frame-ancestors.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' https://telegram.org",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "object-src 'none'",
        "frame-ancestors 'self' https://web.telegram.org https://*.telegram.org",
    ]
)


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.path.startswith("/app"):
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    if request.path.startswith("/api/"):
        # Tokens and personal data must not sit in shared caches.
        headers.setdefault("Cache-Control", "no-store")
