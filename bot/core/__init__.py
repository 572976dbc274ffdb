"""The ground floor every part stands on: settings, logging, metrics, time, errors, strict
parsing of ids and input, languages, and what a process does before it starts work."""
