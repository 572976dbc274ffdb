"""SignalDesk test suite."""
