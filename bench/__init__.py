"""Benchmarks that print figures (run with `make bench`, or `make bench-quick`); not tests."""

# Here rather than in bench.common: bench.delivery_worker needs only this, and importing
# bench.common would add its modules to the memory (d) measures.
BOT_TOKEN = "123456:BENCH-token-for-the-fake-bot-api-000"
