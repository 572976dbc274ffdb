"""How work reaches the database and what hears of it: the unit of work (the one
transaction idiom), group commit, coalescing, commit events and the change feed."""
