package main

import (
	"bytes"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// sealpack push, pull and inspect REF end to end through the commands.
func TestPushPullInspectCommands(t *testing.T) {
	stubs := t.TempDir()
	os.WriteFile(filepath.Join(stubs, "stub-linux-arm64"), []byte("#!/bin/sh\n"), 0o755)
	t.Setenv(stubDirEnv, stubs)
	ctxDir := t.TempDir()
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte("FROM scratch\nLABEL org.opencontainers.image.title=pushed\nCOPY a.txt /\nCMD echo hi\n"), 0o644)
	os.WriteFile(filepath.Join(ctxDir, "a.txt"), []byte("a"), 0o644)
	in := filepath.Join(t.TempDir(), "x.run")
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/apps/x:1"

	run := func(args ...string) (string, error) {
		cmd := newRootCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(io.Discard)
		cmd.SetArgs(args)
		err := cmd.Execute()
		return out.String(), err
	}
	if out, err := run("build", "-q", "-o", in, "--platform", "linux/arm64", ctxDir); err != nil {
		t.Fatalf("build: %v %s", err, out)
	}
	if out, err := run("push", in, ref); err != nil || !strings.Contains(out, "[linux/arm64]") {
		t.Fatalf("push: %v %s", err, out)
	}
	out, err := run("inspect", ref)
	if err != nil || !strings.Contains(out, "pushed") || !strings.Contains(out, "echo hi") || !strings.Contains(out, "linux/arm64") {
		t.Fatalf("inspect REF: %v\n%s", err, out)
	}
	pulled := filepath.Join(t.TempDir(), "y.run")
	if out, err := run("pull", ref, "-o", pulled); err != nil {
		t.Fatalf("pull: %v %s", err, out)
	}
	a, _ := os.ReadFile(in)
	b, _ := os.ReadFile(pulled)
	if !bytes.Equal(a, b) {
		t.Fatal("pulled installer differs from the pushed one")
	}
	if _, err := run("pull", ref, "-o", pulled+"2", "--platform", "linux/amd64"); err == nil || !strings.Contains(err.Error(), "the reference has linux/arm64") {
		t.Errorf("pull of a missing platform: %v", err)
	}
}
