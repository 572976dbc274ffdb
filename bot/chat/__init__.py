"""The chat adapter: the aiogram Dispatcher, its routers, middlewares and texts."""
