#!/usr/bin/env bash
# Prompts in, answers out: one prompt per line of prompts.txt -> answers.csv (custom_id, text, ...).
# Run it again after a Ctrl-C or a crash: it picks up the batch it already submitted.
set -euo pipefail
cd "$(dirname "$0")"
batchctl prepare prompts.txt --max-tokens 300 | batchctl run - -o "${1:-answers.csv}" --exit-status
