package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/internal/testhost"
)

// jumpHost is an installer in a directory of the jump host, with the test
// hosts it installs onto.
type jumpHost struct {
	t   *testing.T
	w   *testhost.World
	dir string
	exe string
}

// run runs the installer with args in the directory; a failure fails the test.
func (j jumpHost) run(args ...string) string {
	j.t.Helper()
	cmd := exec.Command(j.exe, args...)
	cmd.Dir = j.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		j.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// on runs script on host h and returns its output, trimmed.
func (j jumpHost) on(h int, script string) string {
	j.t.Helper()
	out, _ := j.w.Hosts[h].Exec(j.t.Context(), script)
	return strings.TrimSpace(string(out))
}
