package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sealpack/sealpack/internal/testreq"
)

// conformanceModule is the OCI distribution-spec conformance suite, pinned
// here (the newest the Go module proxy serves). It is a program, not a
// dependency: the test downloads it into the module cache through the proxy
// and builds it there, so CI runs it; where neither the proxy nor the cache
// has it, the test skips loudly (and fails under SEALPACK_REQUIRE_ROOT_TESTS=1).
const (
	conformanceModule  = "github.com/opencontainers/distribution-spec/conformance"
	conformanceVersion = "v0.0.0-20260831232431-97274622c111"
	conformanceGroup   = "the OCI distribution-spec conformance suite"
)

// buildConformance builds the suite, or skips when it cannot be had here.
func buildConformance(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "mod", "download", "-json", conformanceModule+"@"+conformanceVersion).Output()
	var mod struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &mod); mod.Dir == "" {
		why := errors.Join(err, jerr)
		if mod.Error != "" {
			why = errors.New(mod.Error) // go mod download says why in its JSON
		}
		testreq.Skip(t, conformanceGroup, fmt.Sprintf("cannot download %s@%s through the Go module proxy: %v", conformanceModule, conformanceVersion, why))
	}
	bin := filepath.Join(t.TempDir(), "conformance")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = mod.Dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		testreq.Skip(t, conformanceGroup, fmt.Sprintf("cannot build it (its dependencies come through the Go module proxy): %v\n%s", err, out))
	}
	return bin
}

func TestDistributionSpecConformance(t *testing.T) {
	bin := buildConformance(t)

	img := randomImage(t, 8<<10, 2, "linux", "amd64")
	docker := randomDockerImage(t, 4<<10, 1, "linux", "amd64")
	whole := randomIndex(t, "linux/amd64", "linux/arm64")
	partial := randomIndex(t, "linux/amd64", "linux/arm64")
	l := newLayout(t)
	l.add(carry{name: "docker.io/conformance/repo1:image", img: img})
	l.add(carry{name: "docker.io/conformance/repo1:docker", img: docker})
	l.add(carry{name: "docker.io/conformance/repo1:index", idx: whole})
	l.add(carry{name: "docker.io/conformance/repo1:partial", idx: partial, only: []string{"linux/amd64"}})
	r := l.write(t.TempDir(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	addr, wait, err := Serve(ctx, PayloadStore(r), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = wait() }()

	var manifests, blobs []string
	addImage := func(i v1.Image) {
		manifests = append(manifests, digestOf(t, i))
		blobs = append(blobs, must(i.ConfigName()).String())
		for _, layer := range must(i.Layers()) {
			blobs = append(blobs, must(layer.Digest()).String())
		}
	}
	addImage(img)
	addImage(docker)
	for _, idx := range []v1.ImageIndex{whole, partial} {
		manifests = append(manifests, digestOf(t, idx))
	}
	for _, m := range must(whole.IndexManifest()).Manifests {
		addImage(must(whole.Image(m.Digest)))
	}
	addImage(must(partial.Image(must(v1.NewHash(childDigest(t, partial, "linux/amd64"))))))

	results := t.TempDir()
	cmd := exec.Command(bin)
	cmd.Dir = results
	cmd.Env = append(os.Environ(),
		"OCI_REGISTRY="+addr,
		"OCI_TLS=disabled",
		"OCI_REPO1=conformance/repo1",
		"OCI_REPO2=conformance/repo1",
		"OCI_RESULTS_DIR="+results,
		"OCI_API_PULL=true",
		"OCI_API_PUSH=false",
		"OCI_API_BLOBS_DELETE=false",
		"OCI_API_MANIFESTS_DELETE=false",
		"OCI_API_TAGS_DELETE=false",
		"OCI_API_TAGS_LIST=true",
		"OCI_API_REFERRER=false", // distribution/v3 has no referrers API
		"OCI_RO_DATA_TAGS=image docker index partial",
		"OCI_RO_DATA_MANIFESTS="+strings.Join(manifests, " "),
		"OCI_RO_DATA_BLOBS="+strings.Join(blobs, " "),
	)
	out, err := cmd.CombinedOutput()
	t.Logf("conformance:\n%s", out)
	if !bytes.Contains(out, []byte("OCI Conformance Result: Pass")) {
		t.Fatalf("conformance suite failed: %v (report in %s)", err, results)
	}
	for _, api := range []string{"Ping", "Tag listing", "Blob get", "Blob head", "Manifest get by digest", "Manifest get by tag",
		"Manifest head by digest", "Manifest head by tag", "Read Only Inputs", "Invalid Manifest Digest"} {
		if !regexp.MustCompile(`(?m)^\s*` + api + `\.*:\s+Pass$`).Match(out) {
			t.Errorf("%s did not pass", api)
		}
	}
	if err != nil {
		// This suite version crashes writing results.yaml when it pushed no
		// data of its own (a nil map entry in ReportResultsYAML), after the
		// summary above; the summary is the result.
		t.Logf("the suite exited with %v after printing its summary", err)
	}
}
