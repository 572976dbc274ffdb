"""Mini App API bench: GET /api/v1/signals, bearer tokens, 64 concurrent, vs `python -m bot`.

`python -m bench.api` (__main__.py). seed.py: the database a few weeks into a live bot;
tokens.py: bearer tokens from several loopback addresses and the access checks; feed.py:
the feed's shape and the checked load; run.py: one run and its report line."""
