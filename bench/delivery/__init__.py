"""Delivery bench: the real DeliveryWorker in its own process against a fake Bot API in another.

`python -m bench.delivery` (__main__.py: the arguments, the run, the summary in report.py).
One module per scenario: throughput.py (a) no limit and (d) the worker's peak RSS,
rate_limit.py (b) a fake enforcing 30/s, crash.py (c) the worker killed mid-broadcast,
adaptive.py (e) DELIVERY_RATE=auto against a limit it is not told. What they share: the
fake Bot API's process (fake.py), the worker's process seen from the bench (worker.py) and
the process itself (worker_process.py), seeding and checking the outbox (outbox.py),
DESIGN.md's targets (targets.py).

Nothing is imported here: worker_process.py's memory is what (d) measures."""
