#!/usr/bin/env bash
# A short run of every fuzz target (the parsers and the payload reader).
set -euo pipefail
t=${1:-10s}
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for fz in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/func //'); do
		echo "fuzz $pkg $fz ($t)"
		go test -run '^$' -fuzz "^$fz\$" -fuzztime "$t" "$pkg" >/tmp/fuzz-$fz.log 2>&1 || { cat /tmp/fuzz-$fz.log; exit 1; }
	done
done
echo "fuzz: all targets passed"
