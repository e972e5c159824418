"""Benchmarks: `aigupiao bench NAME --json` prints one JSON object as its last line."""
