"""Benchmarks: measurements of the pipeline, run by hand (bench/README.md).

Each benchmark separates correctness checks from targets. A correctness check (rows equal to
the generated events, nothing lost or duplicated, a re-run sends nothing, every record linked)
holds at any size: when one fails the command stops with a message and exits 1. A target
(throughput, ratios, peak memory, F1) is only meaningful at the size it is stated for: it is
judged from that size up, and below it only reported. Exit codes:

    0  every check passed and every judged target was met
    1  a correctness check failed (or the benchmark could not run)
    3  the checks passed but a judged target was missed (the results files say which)

tests/bench/ runs each benchmark at a tiny size on every ``make test``, so they cannot rot.
"""

EXIT_TARGET_MISSED = 3
