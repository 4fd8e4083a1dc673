#!/usr/bin/env bash
# Benchmark: `revalign check` on the postgres source (each metric one SQL query
# run in PostgreSQL), on the CSV source (the in-process engine), and DuckDB
# computing the same metrics over the same CSV (benches/check_duckdb.py, 2
# threads), side by side over the acme alignment with 5,000,000 generated
# leads: the metrics and definition drift, then the metrics alone.
# Needs hyperfine, python3 with duckdb, and PostgreSQL's server binaries
# (`apt-get install postgresql`); the script starts its own cluster on
# loopback and stops it at the end.
# Usage: benches/postgres.sh [LEADS]   (data is kept in $BENCH_DIR, default
# /tmp/revalign-bench-check-LEADS, shared with benches/check.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
leads=${1:-5000000}
dir=${BENCH_DIR:-/tmp/revalign-bench-check-$leads}
port=${BENCH_PG_PORT:-54331}
cargo build --release --locked --quiet --bin revalign --example gen-acme
bin=$PWD/target/release/revalign
mkdir -p "$dir"
cp examples/acme/*.toml "$dir/"
if [ ! -s "$dir/data/deals.csv" ]; then
  ./target/release/examples/gen-acme --seed 7 --leads "$leads" --out "$dir/data"
fi
cat >> "$dir/revalign.toml" <<TOML

[source.warehouse]
kind = "postgres"
url_env = "BENCH_PG_URL"
TOML
export BENCH_PG_URL="postgres://revalign@127.0.0.1:$port/postgres"

# A throwaway cluster (as the postgres user when run as root).
pgbin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d | sort | tail -1)
pg=$(mktemp -d)
as=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$pg"
  as=(runuser -u postgres --)
fi
"${as[@]}" "$pgbin/initdb" -D "$pg/data" -U revalign --auth=trust -E UTF8 --no-sync >/dev/null
"${as[@]}" "$pgbin/pg_ctl" -D "$pg/data" -l "$pg/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$pg -c shared_buffers=1GB -c work_mem=256MB -c max_parallel_workers_per_gather=2" start >/dev/null
trap '"${as[@]}" "$pgbin/pg_ctl" -D "$pg/data" -m fast -w stop >/dev/null; rm -rf "$pg"' EXIT
psql=(psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U revalign postgres)

# Tables as `revalign warehouse init-sql` lays them out, with every column of
# the export (times timestamptz, numbers double precision, flags boolean).
load() {
  local table=$1 csv=$2 cols
  cols=$(head -1 "$csv" | tr ',' '\n' | while read -r c; do
    case "$c" in
      *_at) echo "\"$c\" timestamptz" ;;
      employees|score|bant_score|amount) echo "\"$c\" double precision" ;;
      won) echo "\"$c\" boolean" ;;
      *) echo "\"$c\" text" ;;
    esac
  done | paste -sd,)
  "${psql[@]}" -c "CREATE TABLE $table ($cols)"
  "${psql[@]}" -c "\\copy $table FROM '$csv' WITH (FORMAT csv, HEADER true)"
  head -1 "$csv" | tr ',' '\n' | grep '_at$' | while read -r c; do
    "${psql[@]}" -c "CREATE INDEX ON $table (\"$c\")"
  done
  "${psql[@]}" -c "VACUUM ANALYZE $table"
}
start=$(date +%s)
load leads "$dir/data/leads.csv"
load deals "$dir/data/deals.csv"
echo "== loaded $("${psql[@]}" -Atc 'SELECT count(*) FROM leads') leads into PostgreSQL in $(( $(date +%s) - start )) s"

args=(check "$dir" --period 2026-10 --as-of 2026-11-01 --format json)
"$bin" "${args[@]}" --source crm_export > "$dir/check.json" || true
"$bin" "${args[@]}" --source warehouse > "$dir/check-warehouse.json" || true
span=$(python3 - "$dir/check.json" "$dir/check-warehouse.json" "$dir/plan.json" <<'PY'
import json, sys
docs = [json.load(open(p)) for p in sys.argv[1:3]]
a, b = (d["results"] for d in docs)
drift = [[{k: s[k] for k in ("stage", "judged", "drifted", "left_funnel")} for s in d["drift"]] for d in docs]
def close(p, q):
    return p == q or (p is not None and q is not None and abs(p - q) <= 1e-9 * max(abs(p), 1))
same = len(a) == len(b) and all(close(x["actual"], y["actual"]) and x["status"] == y["status"] for x, y in zip(a, b))
import sys as _s
print(f"== the warehouse and the CSV give the same {len(a)} results: {same}; the same drift: {drift[0] == drift[1]}", file=_s.stderr)
json.dump([{"metric": r["metric"], "start": r["period_start"], "end": r["period_end"]} for r in a], open(sys.argv[3], "w"))
print(f"--drift-start {docs[0]['selection_start']} --drift-end {docs[0]['selection_end']}")
PY
)
duck="python3 benches/check_duckdb.py --threads 2 --metrics $dir/metrics.toml --leads $dir/data/leads.csv --deals $dir/data/deals.csv --plan $dir/plan.json"
hyperfine --warmup 1 --runs 5 --style basic -N -i \
  -n "postgres source: metrics + drift" "$bin ${args[*]} --source warehouse" \
  -n "CSV source: metrics + drift" "$bin ${args[*]} --source crm_export" \
  -n "duckdb (2 threads): metrics + drift" "$duck --stages $dir/leads.toml $span" \
  -n "postgres source: metrics only" "$bin ${args[*]} --source warehouse --no-drift" \
  -n "CSV source: metrics only" "$bin ${args[*]} --source crm_export --no-drift" \
  -n "duckdb (2 threads): metrics only" "$duck"
