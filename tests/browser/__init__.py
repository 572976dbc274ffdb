"""The Mini App in headless Chromium (Playwright) against the real app and the fakes."""
