#!/usr/bin/env bash
# make bench: every performance figure of the issues, each beside its
# reference measured in the same run. The machines are noisy: read ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
section() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
bench() { # package, benchmark regexp, extra args
	go test -run '^$' -bench "$2" -benchtime "${3:-1x}" -timeout 20m "$1" 2>&1 |
		grep -E '^(Benchmark|    |ok|FAIL|--- )' || true
}

section "build, size, verify, extract, inspect vs tar|zstd -T0 -3, sha256sum, zstd -d|tar -x (issue 2)"
go run ./internal/benchtool -sealpack bin/sealpack "$@"

section "merge of two 500 MiB installers vs cat A B > C (issue 12)"
bench ./packer BenchmarkMerge 3x

section "bill of materials: build of 8 images and 400 files with the bill vs without (issue 14)"
bench ./packer/sbom BenchmarkBuildBill 10x

section "image pulls: 8 images from a loopback registry vs skopeo copy + tar|zstd (issue 3)"
bench ./packer/pull BenchmarkStore
section "installers in a registry: pull vs skopeo copy; bytes a derived push sends vs its new blobs (issue 12)"
bench ./packer/artifact BenchmarkPullVsSkopeo 3x
go test -count=1 -v -run TestDerivedPushSendsOnlyNew ./packer/artifact 2>&1 | grep -E 'derived push|new chunks' || true
section "embedded registry: ready time, blob download vs cat (issue 3)"
bench ./registry 'BenchmarkReady|BenchmarkBlobDownload'
section "image discovery over the corpus (issue 3)"
bench ./packer/discover BenchmarkFindCorpus 20x

if [ "$(id -u)" = 0 ]; then
	section "distribute 200 MB to 3 hosts vs scp; install overhead of 10 hosts (issue 4)"
	bench ./deployer 'BenchmarkDistributeVsScp|BenchmarkInstallOverhead' 3x
	section "cluster registry: seeding 2 masters + 1 node vs blob bytes × masters; a node's pull vs scp (issue 10)"
	bench ./stub 'BenchmarkClusterRegistry'
else
	echo "(install figures need root: test hosts are network namespaces)"
fi

section "cluster registry: start over 2 GiB of images vs 1 MiB (issue 10)"
bench ./stub 'BenchmarkRegistryStart'

section "wizard frame times with 50 hosts (issue 5)"
bench ./tui 'BenchmarkPreflightView50|BenchmarkInstallView50' 200x
