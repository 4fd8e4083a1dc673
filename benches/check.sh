#!/usr/bin/env bash
# Benchmark: `revalign check` over the acme alignment with 5,000,000 generated
# leads (and their deals) in CSV, against DuckDB computing the same metrics over
# the same windows with SQL, and the same definition-drift counts
# (benches/check_duckdb.py, 2 threads), side by side.
# Needs hyperfine, python3 with duckdb (`python3 -m pip install duckdb`).
# Usage: benches/check.sh [LEADS]   (data is kept in $BENCH_DIR, default
# /tmp/revalign-bench-check-LEADS, and reused by later runs)
set -euo pipefail
cd "$(dirname "$0")/.."
leads=${1:-5000000}
dir=${BENCH_DIR:-/tmp/revalign-bench-check-$leads}
cargo build --release --locked --quiet --bin revalign --example gen-acme
bin=$PWD/target/release/revalign
mkdir -p "$dir"
cp examples/acme/*.toml "$dir/"
if [ ! -s "$dir/data/deals.csv" ]; then
  ./target/release/examples/gen-acme --seed 7 --leads "$leads" --out "$dir/data"
fi
echo "== $(du -h "$dir/data/leads.csv" | cut -f1) leads.csv, $(du -h "$dir/data/deals.csv" | cut -f1) deals.csv"
args=(check "$dir" --period 2026-10 --as-of 2026-11-01 --format json)
# The windows revalign judges (weeks, months, fiscal quarter and year around
# October 2026) become DuckDB's plan.
"$bin" "${args[@]}" > "$dir/check.json" || true
# Its definition-drift span becomes DuckDB's drift query.
span=$(python3 - "$dir/check.json" "$dir/plan.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
plan = [{"metric": r["metric"], "start": r["period_start"], "end": r["period_end"]} for r in doc["results"]]
json.dump(plan, open(sys.argv[2], "w"))
print(f"--drift-start {doc['selection_start']} --drift-end {doc['selection_end']}")
PY
)
echo "== $(python3 -c "import json; print(len(json.load(open('$dir/plan.json'))))" ) metric windows and definition drift over $span"
duck="python3 benches/check_duckdb.py --threads 2 --metrics $dir/metrics.toml --leads $dir/data/leads.csv --deals $dir/data/deals.csv --plan $dir/plan.json --stages $dir/leads.toml $span"
duck_metrics="python3 benches/check_duckdb.py --threads 2 --metrics $dir/metrics.toml --leads $dir/data/leads.csv --deals $dir/data/deals.csv --plan $dir/plan.json"
hyperfine --warmup 1 --runs 5 --style basic -N -i \
  -n "duckdb (2 threads): metrics + drift" "$duck" \
  -n "revalign check: metrics + drift" "$bin ${args[*]}" \
  -n "duckdb (2 threads): metrics only" "$duck_metrics" \
  -n "revalign check --no-drift: metrics only" "$bin ${args[*]} --no-drift"
for cmd in "$duck" "$bin ${args[*]}"; do
  # shellcheck disable=SC2086 # the command is split into its words on purpose
  /usr/bin/time -f "max RSS %M KiB: ${cmd%% *} ..." $cmd >/dev/null 2>"$dir/time" || true
  tail -1 "$dir/time"
done
