package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The extra-image flags, through a dry run: stdout is the list the
// installer would carry, stderr says which extras and where they were named.
func TestBuildExtraImageFlags(t *testing.T) {
	stubs := t.TempDir()
	os.WriteFile(filepath.Join(stubs, "stub-linux-amd64"), []byte("#!/bin/sh\n"), 0o755)
	t.Setenv(stubDirEnv, stubs)
	ctxDir := t.TempDir()
	os.MkdirAll(filepath.Join(ctxDir, "manifests"), 0o755)
	os.WriteFile(filepath.Join(ctxDir, "manifests", "op.yaml"), []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: op}
spec:
  template:
    spec:
      containers:
      - name: op
        image: quay.io/acme/operator:v1
        args: [--helper-image=quay.io/acme/helper:v2]
`), 0o644)
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte("FROM scratch\nCOPY manifests /manifests/\n"), 0o644)
	const (
		at         = "manifests/op.yaml#0 Deployment/op containers[op].args[0]"
		carried    = "images: extra image quay.io/acme/helper:v2, named at " + at
		leftOut    = "warning: extra image quay.io/acme/helper:v2 left out (--skip-extra-images), named at " + at
		deprecated = "warning: --include-extra-images is deprecated: extra images are carried by default now, so it does nothing; --skip-extra-images leaves them out"
		both       = "quay.io/acme/helper:v2\nquay.io/acme/operator:v1\n"
	)
	tests := []struct {
		name   string
		flags  []string
		stdout string
		stderr []string // lines
	}{
		{"default", nil, both, []string{carried}},
		{"skip", []string{"--skip-extra-images"}, "quay.io/acme/operator:v1\n", []string{leftOut}},
		{"deprecated include", []string{"--include-extra-images"}, both, []string{deprecated, carried}},
		{"deprecated include=false is a no-op", []string{"--include-extra-images=false"}, both, []string{deprecated, carried}},
		{"skip wins over include", []string{"--include-extra-images", "--skip-extra-images"}, "quay.io/acme/operator:v1\n", []string{deprecated, leftOut}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"build", "--dry-run", "--platform", "linux/amd64"}, tc.flags...)
			stdout, stderr, err := sealpack(t, append(args, ctxDir)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if stdout != tc.stdout {
				t.Errorf("stdout = %q, want %q", stdout, tc.stdout)
			}
			lines := strings.Split(stderr, "\n")
			for _, want := range tc.stderr {
				found := false
				for _, l := range lines {
					found = found || l == want
				}
				if !found {
					t.Errorf("stderr lacks the line %q:\n%s", want, stderr)
				}
			}
		})
	}

	// The deprecated flag is gone from the help, the new one is there.
	stdout, _, err := sealpack(t, "build", "--help")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stdout, "include-extra-images") || !strings.Contains(stdout, "--skip-extra-images") {
		t.Errorf("build --help:\n%s", stdout)
	}
}
