#!/usr/bin/env bash
# A short run of every fuzz target (the parsers and the payload reader).
#
# The budget is a count of executions, not a duration: Go 1.26's fuzz
# coordinator can report "context deadline exceeded" when a -fuzztime
# duration ends while a worker is mid-call (go.dev/issue/75804, fixed in
# Go 1.27), which would fail CI with no crashing input. Minimizing a new
# input is bounded the same way. A real crash still fails and writes its
# input to testdata/fuzz/.
set -euo pipefail
execs=${1:-10000}
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for fz in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/func //'); do
		echo "fuzz $pkg $fz (${execs} executions)"
		go test -run '^$' -fuzz "^$fz\$" -fuzztime "${execs}x" -fuzzminimizetime 1000x "$pkg" >/tmp/fuzz-$fz.log 2>&1 || { cat /tmp/fuzz-$fz.log; exit 1; }
	done
done
echo "fuzz: all targets passed"
