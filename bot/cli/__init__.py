"""The pieces of `python -m bot`'s commands that are not the bot: backup and restore, and
what an offline command says when Stripe or Telegram is away."""
