#!/usr/bin/env bash
# Opens an issue for missed targets, or updates the open one (label
# `revalign`), with the markdown scorecard as its body.
# Environment: GH_TOKEN, REPO (owner/name), BODY (a file).
set -euo pipefail
title="revalign: targets missed"
gh label create revalign --repo "$REPO" --color 0e8a16 \
  --description "Opened by the revalign action" 2>/dev/null || true
number=$(gh issue list --repo "$REPO" --label revalign --state open \
  --json number --jq '.[0].number // empty')
if [ -n "$number" ]; then
  gh issue edit "$number" --repo "$REPO" --body-file "$BODY" > /dev/null
  echo "updated issue #$number"
else
  gh issue create --repo "$REPO" --title "$title" --label revalign --body-file "$BODY"
fi
