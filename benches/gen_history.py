#!/usr/bin/env python3
"""Writes a git fast-import stream for the history benchmark: N commits on main,
the alignment directory (examples/acme) changed in M of them (a target moved up
or down, deterministically), other files in the rest. Dates pinned."""
import os
import sys

commits, changes = int(sys.argv[1]), int(sys.argv[2])
root = os.path.join(os.path.dirname(__file__), "..", "examples", "acme")
files = {name: open(os.path.join(root, name)).read() for name in sorted(os.listdir(root)) if name.endswith(".toml")}
out = sys.stdout.buffer


def blob(text):
    data = text.encode()
    return b"data %d\n%s\n" % (len(data), data)


every = max(1, commits // changes)
sla = files["sla.toml"]
for i in range(1, commits + 1):
    t = 1_700_000_000 + i * 600
    msg = f"commit {i}"
    body = []
    if i == 1:
        for name, text in files.items():
            body.append(b"M 644 inline alignment/%s\n" % name.encode() + blob(text))
        msg = "Initial agreement"
    elif i % every == 0 and i // every <= changes:
        n = i // every
        sla = sla.replace('target = ">= 600"', f'target = ">= {600 + n}"', 1) if ">= 600" in sla else sla.replace(f'target = ">= {600 + n - 1}"', f'target = ">= {600 + n}"', 1)
        body.append(b"M 644 inline alignment/sla.toml\n" + blob(sla))
        msg = f"Raise the MQL delivery target to {600 + n} (#{n})"
    else:
        body.append(b"M 644 inline src/file%d.txt\n" % (i % 50) + blob(f"content {i}\n"))
    out.write(b"commit refs/heads/main\nmark :%d\n" % i)
    out.write(b"author Bench <bench@example.com> %d +0000\ncommitter Bench <bench@example.com> %d +0000\n" % (t, t))
    out.write(blob(msg))
    if i > 1:
        out.write(b"from :%d\n" % (i - 1))
    out.write(b"".join(body))
    out.write(b"\n")
