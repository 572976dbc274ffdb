"""Trading signals: the one-line syntax, drafts and publishing, follow-ups, results."""
