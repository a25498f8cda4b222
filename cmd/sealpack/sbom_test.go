package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/packer"
	"github.com/sealpack/sealpack/payload"
)

// buildSmall builds an installer of one file, with or without its bill.
func buildSmall(t *testing.T, noSBOM bool) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Kubefile"), []byte("FROM scratch\nLABEL org.opencontainers.image.title=small\nCOPY a.txt /etc/\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a\n"), 0o644)
	out := filepath.Join(dir, "small.run")
	stub := func(string) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("stub")), nil }
	if _, err := packer.Build(context.Background(), packer.BuildOptions{ContextDir: dir, Output: out, Platform: "linux/amd64", Stub: stub, TempDir: dir, NoSBOM: noSBOM}); err != nil {
		t.Fatal(err)
	}
	return out
}

func run(args ...string) (string, error) {
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// TestSBOMCommands: sealpack sbom (to stdout and -o) and inspect --sbom
// print the stored bill byte for byte; an installer without one says so.
func TestSBOMCommands(t *testing.T) {
	file := buildSmall(t, false)
	r, err := payload.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	want, err := r.SBOM()
	r.Close()
	if err != nil || !strings.Contains(string(want), `"name":"etc/a.txt"`) {
		t.Fatalf("stored bill: %v\n%s", err, want)
	}
	for _, args := range [][]string{{"sbom", file}, {"inspect", file, "--sbom"}} {
		if got, err := run(args...); err != nil || got != string(want) {
			t.Errorf("%v: err %v, printed %d bytes, want the stored %d", args, err, len(got), len(want))
		}
	}
	out := filepath.Join(t.TempDir(), "bill.json")
	if _, err := run("sbom", file, "-o", out); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
		t.Errorf("sbom -o wrote %d bytes, want %d", len(got), len(want))
	}

	old := buildSmall(t, true)
	for _, args := range [][]string{{"sbom", old}, {"inspect", old, "--sbom"}} {
		if _, err := run(args...); err == nil || !strings.Contains(err.Error(), "carries no bill of materials") {
			t.Errorf("%v on an installer without a bill: %v", args, err)
		}
	}
}
