#!/usr/bin/env bash
# For cron: download the results of every tracked batch that has ended, one file per batch,
# named <label-or-job>-<batch id>.csv, into $RESULTS_DIR. Safe to run as often as you like.
#
# cron starts with an almost empty environment: set PATH to find batchctl, and keep the API key
# in a file only you can read (chmod 600), e.g. ~/.config/batchctl/env containing
#   export ANTHROPIC_API_KEY=sk-ant-...
set -euo pipefail
export PATH="$HOME/.local/bin:/usr/local/bin:/usr/bin:/bin:$PATH"
env_file="${BATCHCTL_ENV_FILE:-$HOME/.config/batchctl/env}"
if [ -r "$env_file" ]; then
    # shellcheck disable=SC1090
    . "$env_file"
fi
results_dir="${RESULTS_DIR:-$HOME/batch-results}"
mkdir -p "$results_dir"
# Exit codes: 0 collected (or nothing to do), 6 API unavailable (cron mails you), 7 state problem.
exec batchctl collect --dir "$results_dir" --format csv
