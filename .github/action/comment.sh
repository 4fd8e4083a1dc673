#!/usr/bin/env bash
# Posts the markdown diff as one sticky pull-request comment: the comment that
# carries the marker is edited on every push, never a new one per push.
# Environment: GH_TOKEN, REPO (owner/name), PR (number), BODY (a file).
set -euo pipefail
marker='<!-- revalign:diff -->'
[ -s "$BODY" ] || { echo "no diff to post"; exit 0; }
text="$(printf '%s\n%s' "$marker" "$(cat "$BODY")")"
existing=$(gh api --paginate "repos/$REPO/issues/$PR/comments" \
  --jq ".[] | select(.body | startswith(\"$marker\")) | .id" | head -n 1)
if [ -n "$existing" ]; then
  gh api --method PATCH "repos/$REPO/issues/comments/$existing" -f body="$text" > /dev/null
  echo "updated comment $existing"
else
  gh api --method POST "repos/$REPO/issues/$PR/comments" -f body="$text" > /dev/null
  echo "posted a comment"
fi
