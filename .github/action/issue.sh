#!/usr/bin/env bash
# Opens an issue for missed targets, or updates the open one (label
# `revalign`), with the markdown scorecard as its body.
# Environment: GH_TOKEN, REPO (owner/name), BODY (a file); GITHUB_API_URL.
# GitHub's REST API through curl, JSON through python3 (both on every runner).
set -euo pipefail
title="revalign: targets missed"
api=${GITHUB_API_URL:-https://api.github.com}
call() {
  curl -fsS --retry 3 -H "Authorization: Bearer $GH_TOKEN" \
    -H "Accept: application/vnd.github+json" -H "X-GitHub-Api-Version: 2022-11-28" "$@"
}
# The label, once (an existing one answers 422, which is fine).
call -X POST "$api/repos/$REPO/labels" \
  -d '{"name":"revalign","color":"0e8a16","description":"Opened by the revalign action"}' > /dev/null 2>&1 || true
# The open one (the issues endpoint lists pull requests too: not those).
number=$(call "$api/repos/$REPO/issues?labels=revalign&state=open&per_page=100" \
  | python3 -c 'import json, sys; i = [x for x in json.load(sys.stdin) if "pull_request" not in x]; print(i[0]["number"] if i else "")')
if [ -n "$number" ]; then
  payload=$(python3 -c 'import json, sys; print(json.dumps({"body": open(sys.argv[1]).read()}))' "$BODY")
  call -X PATCH "$api/repos/$REPO/issues/$number" -d "$payload" > /dev/null
  echo "updated issue #$number"
else
  payload=$(python3 -c 'import json, sys; print(json.dumps({"title": sys.argv[1], "body": open(sys.argv[2]).read(), "labels": ["revalign"]}))' "$title" "$BODY")
  number=$(call -X POST "$api/repos/$REPO/issues" -d "$payload" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["number"])')
  echo "opened issue #$number"
fi
