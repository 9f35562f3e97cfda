#!/usr/bin/env bash
# Prompts in, answers out: one prompt per line of PROMPTS -> ANSWERS (custom_id, text, ...).
#   oneliner.sh [ANSWERS [PROMPTS]]    default: answers.csv in the current directory, from the
#                                      prompts.txt next to this script
# Run it again after a Ctrl-C or a crash: it picks up the batch it already submitted.
set -euo pipefail
prompts="${2:-$(dirname "$0")/prompts.txt}"
batchctl prepare "$prompts" --max-tokens 300 | batchctl run - -o "${1:-answers.csv}" --exit-status
