"""Pure rules: no app, no database, no socket (signal syntax and math, entitlements,
settings, log redaction, the coalescer)."""
