#!/usr/bin/env bash
# make demo: builds an installer from testdata/demo and installs its cluster
# onto three local test hosts (real sshd in network namespaces; the
# Kubernetes binaries are the fake distribution of testdata/fakek8s, since
# this machine cannot download real ones).
set -euo pipefail
cd "$(dirname "$0")/.."
out=demo
rm -rf "$out" && mkdir -p "$out"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "a stand-in for Docker Hub on loopback, serving docker.io/library/nginx:1.27 (compiling it first)"
go build -o "$out/demoregistry" ./internal/demoregistry
"$out/demoregistry" -addr-file "$out/registry.addr" docker.io/library/nginx:1.27 >"$out/registry.log" 2>&1 &
reg_pid=$!
trap 'kill $reg_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$out/registry.addr" ] && break; sleep 0.1; done
registry=$(cat "$out/registry.addr")

say "sealpack build --dry-run (the images the installer will carry)"
bin/sealpack build --dry-run --build-arg KUBERNETES_BIN="$PWD/bin/fakek8s-amd64" \
	-f testdata/demo/Kubefile testdata/demo 2>/dev/null

say "sealpack build -f testdata/demo/Kubefile -o $out/app-installer.run testdata/demo"
bin/sealpack build --build-arg KUBERNETES_BIN="$PWD/bin/fakek8s-amd64" \
	--registry-mirror docker.io=http://"$registry" --cache-dir "$out/cache" \
	-f testdata/demo/Kubefile -o "$out/app-installer.run" testdata/demo

say "./$out/app-installer.run inspect"
"./$out/app-installer.run" inspect

say "./$out/app-installer.run verify"
"./$out/app-installer.run" verify

if [ "$(id -u)" != 0 ]; then
	echo "(the install onto test hosts needs root: run make demo as root)"
	exit 0
fi
say "install onto 3 test hosts, removed at the end: ./$out/app-installer.run --unattended -f $out/Clusterfile"
echo "(compiling the test hosts' program; the first start also installs their packages)"
go build -o "$out/testhosts" ./internal/testhost/cmd/testhosts
"$out/testhosts" -n 3 -- ./scripts/demo-install.sh "$out"
