#!/usr/bin/env bash
# make demo: builds an installer from testdata/demo and runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p demo
echo "== sealpack build -f testdata/demo/Kubefile -o demo/app-installer.run testdata/demo"
bin/sealpack build -f testdata/demo/Kubefile -o demo/app-installer.run testdata/demo
echo
echo "== ./demo/app-installer.run inspect"
./demo/app-installer.run inspect
echo
echo "== ./demo/app-installer.run verify"
./demo/app-installer.run verify
