#!/usr/bin/env bash
# The action's main step (action.yml): runs one revalign command, puts what it
# produced where GitHub shows it, and records the exit code as the step output
# `exit-code` (the action's last step exits with it, after commenting and
# uploading). Inputs arrive as environment variables: COMMAND, DIRECTORY, ARGS
# (split on spaces), FAIL_ON (comma-separated), BASE_SHA (pull requests), OUT,
# REPORT and REPORT_ARGS (check).
set -uo pipefail
mkdir -p "$OUT"
read -r -a extra <<< "$ARGS"
summary=${GITHUB_STEP_SUMMARY:-/dev/null}
code=0
case "$COMMAND" in
  validate)
    # Annotations on the files' lines; the human report in the log.
    revalign validate ${DIRECTORY:+"$DIRECTORY"} --format github "${extra[@]}" || code=$?
    ;;
  diff)
    gates=()
    IFS=',' read -r -a classes <<< "$FAIL_ON"
    for c in "${classes[@]}"; do
      c=${c// /}
      [ -n "$c" ] && gates+=(--fail-on "$c")
    done
    # On a pull request: its base against the checked-out merge commit.
    revs=()
    [ -n "${BASE_SHA:-}" ] && revs=("$BASE_SHA" HEAD)
    dir=()
    [ -n "$DIRECTORY" ] && dir=(-- "$DIRECTORY")
    revalign diff "${revs[@]}" --format markdown "${gates[@]}" "${extra[@]}" "${dir[@]}" > "$OUT/diff.md" || code=$?
    cat "$OUT/diff.md" >> "$summary"
    ;;
  check)
    # One run for the JSON (the artifact), one each for the job summary and
    # the annotations; a file source is read again each time.
    revalign check ${DIRECTORY:+"$DIRECTORY"} --format json "${extra[@]}" > "$OUT/scorecard.json" || code=$?
    revalign check ${DIRECTORY:+"$DIRECTORY"} --format markdown "${extra[@]}" > "$OUT/scorecard.md" || true
    cat "$OUT/scorecard.md" >> "$summary"
    revalign check ${DIRECTORY:+"$DIRECTORY"} --format github "${extra[@]}" || true
    # The meeting pack (HTML), uploaded with the scorecard; its flags differ
    # from check's, so it takes its own (REPORT_ARGS). A report that cannot be
    # made is a warning here: the check above decides the job.
    if [ "${REPORT:-true}" = true ]; then
      read -r -a report_extra <<< "${REPORT_ARGS:-}"
      revalign report ${DIRECTORY:+"$DIRECTORY"} --out "$OUT/report.html" "${report_extra[@]}" \
        || echo "::warning::revalign report could not be made (see the log above)"
    fi
    ;;
  history)
    revalign history ${DIRECTORY:+--dir "$DIRECTORY"} --format markdown "${extra[@]}" > "$OUT/history.md" || code=$?
    cat "$OUT/history.md" >> "$summary"
    ;;
  *)
    echo "::error::unknown command '$COMMAND': use validate, diff, check or history"
    code=2
    ;;
esac
echo "exit-code=$code" >> "${GITHUB_OUTPUT:-/dev/null}"
exit 0
