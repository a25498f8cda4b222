package registry

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealpack/sealpack/internal/testreq"
)

// skopeo finds skopeo, installing Debian's package when it is missing and
// the test runs as root; it skips loudly when neither works.
func skopeo(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("skopeo"); err == nil {
		return p
	}
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("apt-get"); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, "apt-get", "install", "-y", "skopeo").CombinedOutput()
			if err != nil {
				t.Logf("apt-get install skopeo: %v\n%s", err, out)
			}
		}
	}
	p, err := exec.LookPath("skopeo")
	if err != nil {
		testreq.Skip(t, "pulls with skopeo", "skopeo is not installed and cannot be installed here (make deps as root installs it)")
	}
	return p
}

func TestPullWithSkopeo(t *testing.T) {
	bin := skopeo(t)
	f := newFixture(t)
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policy, []byte(`{"default":[{"type":"insecureAcceptAnything"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, args ...string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append([]string{"--policy", policy, "--override-os", "linux", "--override-arch", "amd64"}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+dir) // no stray auth or registries.conf of the user
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// ociDigest reads the digest that skopeo wrote into an OCI layout.
	ociDigest := func(t *testing.T, layout string) string {
		var idx manifest
		if err := json.Unmarshal(must(os.ReadFile(filepath.Join(layout, "index.json"))), &idx); err != nil || len(idx.Manifests) != 1 {
			t.Fatalf("index.json of %s: %v %v", layout, err, idx.Manifests)
		}
		return idx.Manifests[0].Digest
	}

	tests := []struct {
		name, src, want string
	}{
		{"image", "library/foo:1", digestOf(t, f.foo)},
		{"image by full name", "docker.io/library/foo:1", digestOf(t, f.foo)},
		{"quay's copy", "quay.io/foo/bar:1", digestOf(t, f.quayBar)},
		{"index carried for one platform", "x/multi:2", childDigest(t, f.multi, "linux/amd64")},
		{"index carried whole", "library/full:3", childDigest(t, f.full, "linux/amd64")},
		{"by digest", "library/pinned@" + digestOf(t, f.pinned), digestOf(t, f.pinned)},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(dir, "oci-"+string(rune('a'+i)))
			out, err := run(t, "copy", "--src-tls-verify=false", "--src-no-creds", "--preserve-digests",
				"docker://"+f.addr+"/"+tc.src, "oci:"+dst+":x")
			if err != nil {
				t.Fatalf("skopeo copy: %v\n%s", err, out)
			}
			if got := ociDigest(t, dst); got != tc.want {
				t.Fatalf("digest %s, want %s", got, tc.want)
			}
		})
	}
	t.Run("docker schema2 into dir:", func(t *testing.T) {
		dst := filepath.Join(dir, "dir")
		out, err := run(t, "copy", "--src-tls-verify=false", "--src-no-creds", "docker://"+f.addr+"/foo/bar:1", "dir:"+dst)
		if err != nil {
			t.Fatalf("skopeo copy: %v\n%s", err, out)
		}
		if got := sha(must(os.ReadFile(filepath.Join(dst, "manifest.json")))); got != digestOf(t, f.dockerBar) {
			t.Fatalf("digest %s, want %s", got, digestOf(t, f.dockerBar))
		}
	})
	t.Run("inspect --raw of an index", func(t *testing.T) {
		out, err := run(t, "inspect", "--raw", "--tls-verify=false", "--no-creds", "docker://"+f.addr+"/library/full:3")
		if err != nil {
			t.Fatalf("skopeo inspect: %v\n%s", err, out)
		}
		if got := sha([]byte(out)); got != digestOf(t, f.full) {
			t.Fatalf("digest %s, want %s", got, digestOf(t, f.full))
		}
	})
	t.Run("not carried", func(t *testing.T) {
		out, err := run(t, "copy", "--src-tls-verify=false", "--src-no-creds", "docker://"+f.addr+"/library/nope:1", "oci:"+filepath.Join(dir, "nope")+":x")
		if err == nil || !strings.Contains(strings.ToLower(out), "manifest unknown") {
			t.Fatalf("want manifest unknown, got %v\n%s", err, out)
		}
	})
}
