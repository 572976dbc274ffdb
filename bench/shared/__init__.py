"""What several benches share, one module per part:

- basics.py: BenchError, the JSON type, the fakes' credentials, time bounds;
- args.py: the common arguments (--quick, --postgres, --runs, --seed, sizes) and run_bench;
- databases.py: a fresh, migrated database per run, and the run's scratch directory;
- servers.py: helper processes, a fake Bot API with a control app, `python -m bot` itself;
- figures.py: repeated runs, percentiles, medians, the target lines;
- measures.py: a log's tail and warnings, a process's peak RSS and CPU, the load average.

Process helpers the tests use too live in tests/support/processes.py; the fakes in
tests/support/fakes/."""
