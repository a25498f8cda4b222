package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/payload"
)

func TestParseSize(t *testing.T) {
	good := map[string]int64{
		"":        0,
		"0":       0,
		"1048576": 1 << 20,
		"512K":    512 << 10,
		"4000M":   4000 << 20,
		"4000m":   4000 << 20,
		"4000MB":  4000 << 20,
		"4000MiB": 4000 << 20,
		"2G":      2 << 30,
		" 3g ":    3 << 30,
		"1T":      1 << 40,
	}
	for in, want := range good {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"x", "4000X", "-1M", "1.5G", "M", "99999999999999G"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q): no error", in)
		}
	}
}

func TestParseBuildArgs(t *testing.T) {
	t.Setenv("FROM_ENV", "env-value")
	got, err := parseBuildArgs([]string{"A=1", "B=", "C=x=y", "FROM_ENV", "NOT_SET_ANYWHERE_SEALPACK"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "1", "B": "", "C": "x=y", "FROM_ENV": "env-value"}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s=%q, want %q", k, got[k], v)
		}
	}
	if _, err := parseBuildArgs([]string{"=v"}); err == nil {
		t.Error("=v: no error")
	}
}

// sealpack build end to end, with a stub directory instead of embedded stubs.
func TestBuildCommand(t *testing.T) {
	stubs := t.TempDir()
	os.WriteFile(filepath.Join(stubs, "stub-linux-arm64"), []byte("#!/bin/sh\n"), 0o755)
	t.Setenv(stubDirEnv, stubs)
	ctxDir := t.TempDir()
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte("FROM scratch\nARG V=0\nLABEL v=$V\nCOPY a.txt /\nCMD echo hi\n"), 0o644)
	os.WriteFile(filepath.Join(ctxDir, "a.txt"), []byte("a"), 0o644)
	out := filepath.Join(t.TempDir(), "x.run")

	cmd := newRootCmd()
	var stdout, stderr bytes.Buffer
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SetArgs([]string{"build", "-o", out, "--platform", "linux/arm64", "--build-arg", "V=7", "--split-size", "1M", ctxDir})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), out+": linux/arm64 installer") || !strings.Contains(stderr.String(), "Step 4/4 : CMD echo hi") {
		t.Errorf("stdout %q\nstderr %q", stdout.String(), stderr.String())
	}
	r, err := payload.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Index().Labels["v"] != "7" || r.Index().Platform != "linux/arm64" {
		t.Errorf("index %+v", r.Index())
	}

	// A broken Kubefile: file:line in the error, nothing written.
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte("FROM scratch\nNOPE x\n"), 0o644)
	bad := filepath.Join(t.TempDir(), "bad.run")
	cmd = newRootCmd()
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SetArgs([]string{"build", "-o", bad, "--platform", "linux/arm64", ctxDir})
	err = cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), filepath.Join(ctxDir, "Kubefile")+`:2: unknown instruction "NOPE"`) {
		t.Errorf("error %v", err)
	}
	if _, err := os.Stat(bad); err == nil {
		t.Error("output written")
	}
	cmd = newRootCmd()
	cmd.SetArgs([]string{"build", "--split-size", "lots", ctxDir})
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--split-size") {
		t.Errorf("bad split size: %v", err)
	}
}
