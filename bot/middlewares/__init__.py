"""aiogram middlewares."""
