// Package depcheck holds the import direction of the project (STYLE.md): data
// flows one way, and the installer carries no build code.
package depcheck

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/sealpack/sealpack/"

// rules: for each top-level package, project packages and external module
// prefixes that must not appear anywhere in its dependencies.
var rules = []struct {
	pkg       string
	forbidden []string
}{
	{"payload", []string{mod + "packer", mod + "registry", mod + "deployer", mod + "tui", mod + "stub", mod + "cmd", mod + "internal"}},
	{"packer", []string{mod + "registry", mod + "deployer", mod + "tui", mod + "stub"}},
	{"registry", []string{mod + "packer", mod + "deployer", mod + "tui", "helm.sh/", "github.com/moby/buildkit"}},
	{"deployer", []string{mod + "packer", mod + "registry", mod + "tui", "helm.sh/", "github.com/moby/buildkit", "github.com/google/go-containerregistry"}},
	{"tui", []string{mod + "packer", mod + "registry", "golang.org/x/crypto/ssh", "github.com/pkg/sftp", mod + "deployer/ssh", "helm.sh/"}},
	{"stub", []string{mod + "packer", "helm.sh/", "github.com/moby/buildkit", "k8s.io/"}},
	{"cmd/sealpack", []string{mod + "deployer", mod + "tui", mod + "registry"}},
}

func TestImportDirection(t *testing.T) {
	for _, r := range rules {
		out, err := exec.Command("go", "list", "-deps", "-json=ImportPath", mod+r.pkg+"/...").Output()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok && strings.Contains(string(ee.Stderr), "matched no packages") {
				continue // not written yet
			}
			t.Fatalf("go list %s: %v", r.pkg, err)
		}
		dec := json.NewDecoder(strings.NewReader(string(out)))
		for dec.More() {
			var p struct{ ImportPath string }
			if err := dec.Decode(&p); err != nil {
				t.Fatal(err)
			}
			for _, f := range r.forbidden {
				if strings.HasPrefix(p.ImportPath, f) {
					t.Errorf("%s depends on %s (forbidden: %s)", r.pkg, p.ImportPath, f)
				}
			}
		}
	}
}
