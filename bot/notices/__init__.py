"""What the features tell people, queued: the kinds of notice (kinds.py) and the outbox
they are written to in the feature's own transaction (outbox.py). The delivery worker
(bot/delivery/) sends them; bot/texts/notices.py renders each kind into words."""
