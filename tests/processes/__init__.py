"""The bot as an operator runs it: `python -m bot` and its commands as processes, start-up,
the database under it (migrations, backups, DATABASE_URL), several instances and senders,
and the faults it must live through. Most are marked `waits` and are handed out first."""
