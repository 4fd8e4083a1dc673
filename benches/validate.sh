#!/usr/bin/env bash
# Benchmark: `revalign validate` on a generated alignment of 1,000 files against
# native `taplo check` with the same JSON Schemas, side by side in one hyperfine
# run; plus `revalign validate examples/acme` cold.
#
# Needs: hyperfine (apt-get install hyperfine), taplo (cargo install taplo-cli --locked),
# python3. Usage: benches/validate.sh [FILES] (default 1000).
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-1000}
cargo build --release --locked --quiet
bin=$PWD/target/release/revalign
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 benches/gen_alignment.py "$work/alignment" "$files"
cp -r schemas "$work/schemas"

# taplo has no notion of file kinds: one run per kind, each with its schema,
# chained in one shell command so hyperfine times the whole check.
taplo_cmd="cd $work/alignment && taplo check --schema file://$work/schemas/manifest.schema.json revalign.toml \
 && taplo check --schema file://$work/schemas/metrics.schema.json 'metrics/*.toml' \
 && taplo check --schema file://$work/schemas/goals.schema.json 'goals/*.toml' \
 && taplo check --schema file://$work/schemas/sla.schema.json 'sla/*.toml' \
 && taplo check --schema file://$work/schemas/leads.schema.json 'leads/*.toml'"
# Both must accept the generated files, or the comparison means nothing.
"$bin" validate "$work/alignment" --quiet
bash -c "$taplo_cmd" >/dev/null 2>&1 || { echo "taplo rejected the generated files"; bash -c "$taplo_cmd"; exit 1; }

echo "== $(find "$work/alignment" -name '*.toml' | wc -l) files, $(du -sh "$work/alignment" | cut -f1)"
hyperfine --warmup 3 --runs 20 --style basic -N \
  -n "revalign validate" "$bin validate $work/alignment --quiet" \
  -n "taplo check (5 schemas)" "bash -c \"$taplo_cmd\""
hyperfine --warmup 3 --runs 50 --style basic -N \
  -n "revalign validate examples/acme" "$bin validate examples/acme --quiet"
for cmd in "$bin validate $work/alignment --quiet" "bash -c \"$taplo_cmd\""; do
  /usr/bin/time -f "max RSS %M KiB: $cmd" bash -c "$cmd" >/dev/null 2>"$work/time" || true
  tail -1 "$work/time" | sed "s|$work|<tmp>|g"
done
