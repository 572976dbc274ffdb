"""Fake Telegram Bot API HTTP server for driving a real aiogram Bot in tests.

A package: server.py (FakeBotAPI: recording, the request pipeline), faults.py (injected
faults and rate limits), messages.py (messages, getMe, command menus), updates.py
(getUpdates and the webhook), wire.py (form decoding, answers, the call record); the Stars
and chats ledgers are ../stars.py and ../chats.py.
`from tests.support.fakes.bot_api import FakeBotAPI, ...` imports the public names from here."""

from tests.support.fakes.bot_api.faults import FAULT_KINDS, GROUP_PER_MINUTE
from tests.support.fakes.bot_api.messages import (
    BOT_FIRST_NAME,
    BOT_USERNAME,
    MAX_TEXT_LENGTH,
    SentMessage,
)
from tests.support.fakes.bot_api.server import FakeBotAPI
from tests.support.fakes.bot_api.wire import BotCall

__all__ = [
    "BOT_FIRST_NAME",
    "BOT_USERNAME",
    "FAULT_KINDS",
    "GROUP_PER_MINUTE",
    "MAX_TEXT_LENGTH",
    "BotCall",
    "FakeBotAPI",
    "SentMessage",
]
