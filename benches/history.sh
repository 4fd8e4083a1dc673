#!/usr/bin/env bash
# Benchmark: `revalign history` against `git log --format=%H -- <dir>` on the same
# generated repository (20,000 commits, the alignment changed in 500), side by side.
# Needs hyperfine and python3. Usage: benches/history.sh [COMMITS] [CHANGES]
set -euo pipefail
cd "$(dirname "$0")/.."
commits=${1:-20000}
changes=${2:-500}
cargo build --release --locked --quiet
bin=$PWD/target/release/revalign
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git init -q -b main "$work/repo"
python3 benches/gen_history.py "$commits" "$changes" | git -C "$work/repo" fast-import --quiet
git -C "$work/repo" checkout -q main
echo "== $(git -C "$work/repo" rev-list --count HEAD) commits, $(git -C "$work/repo" rev-list --count HEAD -- alignment) touching alignment/"
echo "revalign history entries: $("$bin" -C "$work/repo" history --dir alignment --format csv | tail -n +2 | wc -l) changes"
hyperfine --warmup 3 --runs 15 --style basic -N \
  -n "git log -- alignment" "git -C $work/repo log --format=%H -- alignment" \
  -n "revalign history" "$bin -C $work/repo history --dir alignment --format json"
# The same two commands alternated run after run: the ratio the aim is judged by
# (hyperfine's ratio above also carries the machine's drift between its blocks).
python3 benches/paired.py 30 "git -C $work/repo log --format=%H -- alignment" "$bin -C $work/repo history --dir alignment --format json" | sed "s|$work|<tmp>|g"
for cmd in "git -C $work/repo log --format=%H -- alignment" "$bin -C $work/repo history --dir alignment --format json"; do
  # shellcheck disable=SC2086 # the command is split into its words on purpose
  /usr/bin/time -f "max RSS %M KiB: $cmd" $cmd >/dev/null 2>"$work/time" || true
  tail -1 "$work/time" | sed "s|$work|<tmp>|g"
done
