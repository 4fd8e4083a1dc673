#!/usr/bin/env bash
# Benchmark: fetching from HubSpot at its rate limit. The HubSpot stand-in of
# the tests (examples/hubspot-fake.rs) serves Acme's contacts repeated up to
# CONTACTS (200,000) and Acme's 1,709 deals, allowing PER_SECOND (100)
# requests a second (1,000 per 10 s in its headers, 429 beyond; the search's
# own 5 a second too). `revalign check --refresh` fetches everything (the
# objects list, 100 a page); then 1% of the contacts change and a plain
# `check` fetches what changed (the search by keyset, 5 a second).
# Reported: the full listing's request rate as a share of the limit (from the
# stand-in's arrival times), requests refused, failed runs (exit 3), and the
# incremental run's time as a share of the full run's.
# Needs hyperfine and jq. Usage: benches/hubspot.sh [CONTACTS] [PER_SECOND] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
contacts=${1:-200000}
per_second=${2:-100}
runs=${3:-3}
cargo build --release --locked --quiet --bin revalign --example hubspot-fake
bin=$PWD/target/release/revalign
dir=$(mktemp -d)
fake_out=$(mktemp)
./target/release/examples/hubspot-fake --contacts "$contacts" --per-second "$per_second" >"$fake_out" &
fake=$!
trap 'kill $fake 2>/dev/null; rm -rf "$dir" "$fake_out"' EXIT
until [ -s "$fake_out" ]; do sleep 0.2; done
base=$(head -1 "$fake_out")

cp -r examples/acme/. "$dir/"
cat >>"$dir/revalign.toml" <<TOML

[source.hubspot]
kind = "hubspot"
token_env = "HUBSPOT_TOKEN"
base_url = "$base"
columns = { sal = "sal_date" }
TOML
export HUBSPOT_TOKEN=pat-na1-fake-0000-test-token
# A run fails when its source could not be read (exit 3); 0 and 1 are
# verdicts on the targets.
cat >"$dir/run.sh" <<SH
#!/bin/sh
cd "$dir" && "$bin" check . --period 2026-10 --source hubspot --format json "\$@" >/dev/null 2>"$dir/stderr"
test \$? -le 1
SH
chmod +x "$dir/run.sh"
check="$dir/run.sh"

# The stand-in's log is reset before each run: its stats are the last run's;
# `limited` counts refusals since it started.
reset="curl -fsS -X POST '$base/_fake/reset' >/dev/null"
hyperfine --runs "$runs" --export-json "$dir/full.json" --prepare "$reset" \
  -n "full fetch of $contacts contacts (--refresh)" "$check --refresh"
full=$(curl -fsS "$base/_fake/stats")
# Before each incremental run the changes so far are aged an hour (changes
# are fetched from 5 minutes before the last sync began, so the previous
# rounds' would be fetched again: the runs are seconds apart, not hours),
# the cache is synced, then 1% of the contacts change.
age="curl -fsS -X POST '$base/_fake/age?minutes=60' >/dev/null"
touch="curl -fsS -X POST '$base/_fake/touch?share=0.01' >/dev/null"
hyperfine --runs "$runs" --export-json "$dir/incremental.json" \
  --prepare "$age; $check; $reset; $touch" \
  -n "incremental after 1% changed" "$check"
incremental=$(curl -fsS "$base/_fake/stats")

full_mean=$(jq '.results[0].mean' "$dir/full.json")
inc_mean=$(jq '.results[0].mean' "$dir/incremental.json")
echo
echo "full fetch (last of $runs runs, none failed): $(jq -c '{list_pages, list_seconds, requests, failed, limited}' <<<"$full")"
echo "  listing pace: $(jq -r '((.list_pages - 1) / .list_seconds) as $r | "\($r * 100 | round / 100) requests/s, \($r / .per_second * 1000 | round / 10)% of the limit"' <<<"$full")"
echo "incremental (last of $runs runs, none failed): $(jq -c '{searches, requests, failed, limited}' <<<"$incremental")"
echo "  incremental / full wall time: $(jq -n --argjson a "$inc_mean" --argjson b "$full_mean" '$a / $b * 1000 | round / 10')% ($inc_mean s / $full_mean s)"
