"""Telegram Stars, the second payment rail: invoices whose payload only their user can pay
(payload.py), what pre-checkout and a payment decide (rules.py, pure), the ledger writes and
the Bot API calls around them (service.py), and reconciliation from getStarTransactions
(reconcile.py). Access goes through the same entitlements as every other source."""
