"""Fake Telegram Bot API HTTP server for driving a real aiogram Bot in tests.

A package: `from tests.support.fakes.bot_api import FakeBotAPI, ...` imports its public
names from the modules that hold them."""

from tests.support.fakes.bot_api.server import (
    BOT_FIRST_NAME,
    BOT_USERNAME,
    FAULT_KINDS,
    MAX_TEXT_LENGTH,
    BotCall,
    FakeBotAPI,
    SentMessage,
)

__all__ = [
    "BOT_FIRST_NAME",
    "BOT_USERNAME",
    "FAULT_KINDS",
    "MAX_TEXT_LENGTH",
    "BotCall",
    "FakeBotAPI",
    "SentMessage",
]
