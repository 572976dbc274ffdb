"""Benchmarks that print figures (run with `make bench`, or `make bench-quick`); not tests.

One module or package per bench (`python -m bench.NAME`); what several share is in
bench/shared/. docs/benchmarks.md describes each and its latest figures."""

# Here rather than in bench.shared: the delivery worker's process needs only this, and
# importing bench.shared would add its modules to the memory delivery (d) measures.
BOT_TOKEN = "123456:BENCH-token-for-the-fake-bot-api-000"
