"""The subscription lifecycle on a clock: the scheduler that runs periodic jobs once across
processes (scheduler.py), and the jobs that tell users about ends by time, reminders before
a non-renewing end (sweeps.py), with their rules kept pure (rules.py)."""
