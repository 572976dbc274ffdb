"""SignalDesk: a paid trading-signal service run inside Telegram."""
