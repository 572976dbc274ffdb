"""The embedded aiohttp server: Stripe webhook, Telegram webhook, health (and the Mini App)."""
