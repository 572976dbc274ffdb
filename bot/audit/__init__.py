"""The audit log: every admin action, who did it, when, to whom, and the state before and
after. Written in the action's own transaction (it is recorded if and only if it happened),
read by /audit, the Mini App and a user's timeline, exported as CSV."""
