"""The Bot API client, its health, telling Telegram who we are, and what the webhook route
and the dispatcher agree on."""
