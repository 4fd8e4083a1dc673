#!/usr/bin/env python3
"""Times commands in alternation, run after run, and reports each one's median
wall time and the median of its per-round ratio to the first command.

On a shared 2-core VM the machine's speed drifts by tens of percent within a
minute; hyperfine times one command's runs and then the next's, so the drift
lands in the ratio. Alternating puts both commands of a round on the same
machine state. Usage: paired.py RUNS 'CMD 1' 'CMD 2' ...  (commands are split
on spaces; output is discarded; a command that fails stops the run.)"""
import statistics
import subprocess
import sys
import time

runs = int(sys.argv[1])
commands = [c.split() for c in sys.argv[2:]]
times = [[] for _ in commands]
for _ in range(runs):
    for i, command in enumerate(commands):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times[i].append(time.perf_counter() - start)
for i, command in enumerate(commands):
    ratios = [t / base for t, base in zip(times[i], times[0])]
    q = statistics.quantiles(ratios, n=4) if runs >= 4 else [min(ratios), 0, max(ratios)]
    print(
        f"{statistics.median(times[i]) * 1000:8.1f} ms median   "
        f"ratio to the first: {statistics.median(ratios):.2f} (quartiles {q[0]:.2f}-{q[2]:.2f})   "
        f"{' '.join(command)}"
    )
