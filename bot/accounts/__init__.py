"""The people and what they may do: users, their preferences, access (the one rule),
every entitlement write, one subscriber for an admin, admin grants, broadcasts and /stats,
referrals, and the limits on what a person can try again and again."""
