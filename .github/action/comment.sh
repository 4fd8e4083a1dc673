#!/usr/bin/env bash
# Posts the markdown diff as one sticky pull-request comment: the comment that
# carries the marker is edited on every push, never a new one per push.
# Environment: GH_TOKEN, REPO (owner/name), PR (number), BODY (a file);
# GITHUB_API_URL (set by GitHub; api.github.com by default, or a GHES host).
# GitHub's REST API through curl, JSON through python3 (both on every runner).
set -euo pipefail
marker='<!-- revalign:diff -->'
[ -s "$BODY" ] || { echo "no diff to post"; exit 0; }
api=${GITHUB_API_URL:-https://api.github.com}
call() {
  curl -fsS --retry 3 -H "Authorization: Bearer $GH_TOKEN" \
    -H "Accept: application/vnd.github+json" -H "X-GitHub-Api-Version: 2022-11-28" "$@"
}
# The comment with the marker, looking through every page of comments.
existing=""
page=1
while :; do
  comments=$(call "$api/repos/$REPO/issues/$PR/comments?per_page=100&page=$page")
  read -r count existing < <(printf '%s' "$comments" | python3 -c '
import json, sys
cs = json.load(sys.stdin)
hit = next((str(c["id"]) for c in cs if (c.get("body") or "").startswith(sys.argv[1])), "")
print(len(cs), hit)' "$marker")
  if [ -n "$existing" ] || [ "$count" -lt 100 ]; then
    break
  fi
  page=$((page + 1))
done
payload=$(python3 -c 'import json, sys; print(json.dumps({"body": sys.argv[1] + "\n" + open(sys.argv[2]).read()}))' "$marker" "$BODY")
if [ -n "$existing" ]; then
  call -X PATCH "$api/repos/$REPO/issues/comments/$existing" -d "$payload" > /dev/null
  echo "updated comment $existing"
else
  call -X POST "$api/repos/$REPO/issues/$PR/comments" -d "$payload" > /dev/null
  echo "posted a comment"
fi
