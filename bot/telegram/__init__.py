"""The Bot API client, its health, and telling Telegram who we are."""
