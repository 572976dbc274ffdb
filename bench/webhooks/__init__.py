"""Stripe webhook bench: signed, mixed events at 32 concurrent against `python -m bot`.

`python -m bench.webhooks` (__main__.py). The events: stripe_objects.py (Stripe's objects),
timeline.py (one subscriber's life), plan.py (the sends in delivery order). A run: fakes.py
(fake Stripe and Bot API), load.py (the signed POSTs, timed), cpu.py (the CPU they take,
by process), verify.py (the database afterwards), run.py (one run and its report line)."""
