# sealpack: `make` builds bin/sealpack (with both installer programs inside),
# `make demo` builds and runs an installer from testdata/demo, `make test` runs
# every test, `make bench` prints the performance figures.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/sealpack/sealpack/internal/version.Version=$(VERSION)
STUBS := cmd/sealpack/stubs/stub-linux-amd64 cmd/sealpack/stubs/stub-linux-arm64
FUZZEXECS ?= 10000
export CGO_ENABLED := 0

.PHONY: all stubs deps test fuzz demo demo-intro bench clean kubernetes kubernetes-next kubernetes-e2e kubernetes-long-e2e

all: bin/sealpack

stubs: $(STUBS)

# The stubs are rebuilt every time: go's cache makes that cheap, and make
# cannot see every Go source they depend on.
cmd/sealpack/stubs/stub-linux-%: FORCE
	GOOS=linux GOARCH=$* $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./stub

bin/sealpack: $(STUBS) FORCE
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./cmd/sealpack

bin/fakek8s-%: FORCE
	GOOS=linux GOARCH=$* $(GO) build -trimpath -o $@ ./testdata/fakek8s

deps:
	./scripts/ensure-deps.sh

test: deps all
	$(GO) vet ./... ./testdata/fakek8s
	$(GO) test -count=1 -timeout 15m ./...
	$(MAKE) fuzz

fuzz:
	./scripts/fuzz.sh $(FUZZEXECS)

demo: demo-intro deps all bin/fakek8s-amd64
	./scripts/demo.sh

# Said first: on a fresh machine the builds below print nothing for minutes.
demo-intro:
	@echo "make demo: compiling sealpack, its installer programs (linux/amd64 and linux/arm64) and the fake Kubernetes;"
	@echo "the first time on a machine Go builds every dependency, which takes minutes (then it is cached)."

bench: deps all
	./scripts/bench.sh

# The Kubernetes base (bases/kubernetes): KUBERNETES_FROM=release on a
# connected build machine, else built from sources (see the README).
kubernetes: deps all
	./scripts/kubernetes-base.sh

# The base of the next Kubernetes minor, for the upgrade test.
kubernetes-next: deps all
	KUBE_VERSIONS=bases/kubernetes/versions-v1.35.env ./scripts/kubernetes-base.sh

# Real installs of an application FROM the base onto hosts that boot
# systemd: 1 master + 2 nodes (then a join and a delete), and the site's
# registry (root only).
kubernetes-e2e: kubernetes
	SEALPACK_KUBERNETES_E2E=1 $(GO) test -count=1 -timeout 40m -v -run 'TestRealKubernetes' ./internal/kubee2e/

# The long ones, side by side (about 13 minutes; not in CI, whose 20
# minutes they do not fit beside make test): 3 masters + 1 node with master0
# then lost, and an app and its Kubernetes upgraded from v1.34.3 to v1.35.4.
kubernetes-long-e2e: kubernetes kubernetes-next
	SEALPACK_KUBERNETES_E2E=1 SEALPACK_KUBERNETES_LONG_E2E=1 $(GO) test -count=1 -timeout 40m -v -run 'TestRealKubernetesHA|TestRealKubernetesUpgrade' ./internal/kubee2e/

clean:
	rm -rf bin demo $(STUBS)

FORCE:
