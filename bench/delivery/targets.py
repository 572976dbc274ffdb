"""DESIGN.md's delivery targets (Performance), which the summary checks."""

TARGET_RATE = 1000.0  # (a) messages/s with no limit; also bounds how long a drain may take
TARGET_LIMIT_SHARE = 0.95  # (b), (e): the share of the fake's limit reached
TARGET_RSS_MB = 200.0  # (d): the worker's peak resident set
TARGET_THROTTLED_PER_1000 = 1.0  # (e): 429s per 1,000 messages
# (f), issue 29: the time to the last of 10,000 subscribers in each lane, with no 429.
TARGET_LANE_SUBSCRIBERS = 10_000
TARGET_PAID_SECONDS = 15.0
TARGET_FREE_SECONDS = 350.0
