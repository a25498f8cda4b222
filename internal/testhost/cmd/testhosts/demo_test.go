package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/internal/testreq"
)

// TestMakeDemoSaysFirstThatItCompiles: on a fresh machine the builds of
// make demo print nothing for minutes; it says what is happening before the
// first one starts.
func TestMakeDemoSaysFirstThatItCompiles(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		testreq.Skip(t, "make demo", "needs make")
	}
	cmd := exec.Command("make", "-n", "demo") // prints the commands, runs none
	cmd.Dir = filepath.Join("..", "..", "..", "..")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n demo: %v\n%s", err, out)
	}
	text := string(out)
	said, build := strings.Index(text, "Go builds every dependency, which takes minutes"), strings.Index(text, "go build")
	if said < 0 || build < 0 || said > build {
		t.Errorf("make demo does not say that it compiles before it does:\n%s", text)
	}
}

// TestSaysItRemovesTheHosts: the hosts go when the command ends, taking
// what ran on them, and testhosts says so (seen: make demo removed its hosts
// without a word).
func TestSaysItRemovesTheHosts(t *testing.T) {
	if os.Geteuid() != 0 {
		testreq.Skip(t, "test hosts", "needs root")
	}
	bin := filepath.Join(t.TempDir(), "testhosts")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-n", "1", "--", "sh", "-c", `test -n "$SEALPACK_TEST_HOSTS"`)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("testhosts: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"testhosts: starting the test host", "testhosts: removing the test host (its namespaces and files)", "testhosts: removed"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("testhosts does not say %q:\n%s", want, stderr.String())
		}
	}
}
