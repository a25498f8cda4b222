package deployer

import (
	"strings"
	"testing"
)

// hosts.toml lists the installer's registry, then every master's, then the
// original server: containerd tries them in that order, so pulls keep
// working once the installer (the first) is gone.
func TestMirrorScriptOrder(t *testing.T) {
	s := mirrorScript([]string{"docker.io", "registry.k8s.io"}, []mirror{{addr: "127.0.0.1:5050"}, {addr: "10.0.0.11:5000", tls: true, ca: hostCAPath}, {addr: "10.0.0.12:5000", tls: true, ca: hostCAPath}})
	for _, reg := range []string{"docker.io", "registry.k8s.io"} {
		_, body, ok := strings.Cut(s, "cat > '/etc/containerd/certs.d/"+reg+"'/hosts.toml <<'SEALPACK_EOF'\n")
		if !ok {
			t.Fatalf("no hosts.toml for %s:\n%s", reg, s)
		}
		body, _, _ = strings.Cut(body, "SEALPACK_EOF\n")
		want := []string{`server = "https://`, `[host."http://127.0.0.1:5050"]`, `[host."https://10.0.0.11:5000"]`, `ca = "` + hostCAPath + `"`, `[host."https://10.0.0.12:5000"]`}
		last := -1
		for _, w := range want {
			j := strings.Index(body, w)
			if j < 0 || j < last {
				t.Errorf("%s: %q missing or out of order in\n%s", reg, w, body)
			}
			last = j
		}
		if strings.Count(body, "skip_verify") != 1 {
			t.Errorf("%s: only the installer's loopback registry goes unverified:\n%s", reg, body)
		}
		if strings.Count(body, `capabilities = ["pull", "resolve"]`) != 3 {
			t.Errorf("%s: every mirror needs pull and resolve:\n%s", reg, body)
		}
	}
	if !strings.Contains(s, `server = "https://registry-1.docker.io"`) {
		t.Errorf("docker.io's server is registry-1.docker.io:\n%s", s)
	}
}
