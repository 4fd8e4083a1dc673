#!/usr/bin/env python3
"""Generates a realistic alignment of N files for the validate benchmark:
one manifest and N-1 metrics, goals, SLA and lead files (about 4 KB each),
deterministically, all valid, with unique ids across files."""
import os
import sys

out, n = sys.argv[1], int(sys.argv[2])
for d in ("metrics", "goals", "sla", "leads"):
    os.makedirs(os.path.join(out, d), exist_ok=True)

teams = ["marketing", "sales", "sdr", "revops"]
manifest = ['[organization]\nname = "Bench Co"\ntime_zone = "America/New_York"\nfiscal_year_start = "february"\n']
for t in teams:
    manifest.append(f'[team.{t}]\nname = "{t.title()}"\nhead = {{ name = "{t.title()} Head", email = "{t}@example.com", handle = "{t}-head" }}\n')
manifest.append('[source.crm]\nkind = "csv"\nleads = "data/leads.csv"\ndeals = "data/deals.csv"\n[defaults]\nperiod = "month"\nsource = "crm"\n')
open(os.path.join(out, "revalign.toml"), "w").write("\n".join(manifest))

stages = ["lead", "mql", "sal", "sql", "opportunity", "customer"]
owners = ["marketing", "marketing", "sdr", "sales", "sales", "sales"]
leads = ['recycle_reasons = ["bad-timing", "no-budget"]\ndisqualify_reasons = ["spam", "student"]\n']
for s, o in zip(stages, owners):
    leads.append(f'[[stage]]\nid = "{s}"\nname = "{s.upper()}"\nowner = "{o}"\nentry = {{ all = [{{ field = "score", gte = 10 }}, {{ field = "email", exists = true }}] }}\n')
leads.append('[[handoff]]\nstage = "mql"\nto = "sdr"\naccept_within = "24h"\n')
open(os.path.join(out, "leads", "stages.toml"), "w").write("\n".join(leads))

rest = n - 2
per = 8
kinds = ["metrics", "goals", "sla"]
for i in range(rest):
    kind = kinds[i % 3]
    parts = []
    for j in range(per):
        k = f"{i}_{j}"
        if kind == "metrics":
            parts.append(
                f'[[metric]]\nid = "m{k}"\nname = "Metric {k}"\ndescription = "MQL to SQL conversion within 90 days for segment {j}, measured on the cohort of the period."\n'
                f'unit = "percent"\nowners = ["marketing", "sales"]\nkind = "conversion"\nfrom = "mql"\nto = "sql"\nwithin = "90d"\n'
                f'filter = {{ field = "segment", in = ["smb", "mid-market"] }}\n')
        elif kind == "goals":
            m = f"m{(i // 3) * 3}_{j}"
            parts.append(
                f'[[goal]]\nid = "g{k}"\ntitle = "Convert more MQLs to SQLs, segment {j}"\nmetric = "{m}"\ntarget = ">= 25%"\nwarn = ">= 30%"\n'
                f'period = "quarter"\neffective_from = 2026-02-01\nowners = ["marketing", "sales"]\nrationale = "Pipeline coverage needs a steady conversion rate; reviewed quarterly by both heads."\n')
        else:
            m = f"m{(i // 3) * 3}_{j}"
            parts.append(
                f'[[commitment]]\nid = "c{k}"\ndescription = "Marketing keeps MQL to SQL conversion up for segment {j}."\nprovider = "marketing"\nconsumer = "sales"\n'
                f'metric = "{m}"\ntarget = ">= 20%"\nwarn = ">= 22%"\nperiod = "month"\nseverity = "major"\n')
    open(os.path.join(out, kind, f"f{i:05}.toml"), "w").write("\n".join(parts))
