#!/usr/bin/env bash
# Prints sealpack's figures beside their references, measured in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./internal/benchtool -sealpack bin/sealpack "$@"
