// Package fakek8stest builds the fake Kubernetes distribution in
// testdata/fakek8s (one binary that acts as kubeadm, kubectl and kubelet by
// the name it runs under) for tests, installs it under those names, and
// reads what it recorded. Its own tests check the fake against the
// contracts of the real commands.
package fakek8stest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Names are the commands the binary answers to; Install copies it under
// each of them.
func Names() []string { return []string{"kubeadm", "kubectl", "kubelet"} }

// DefaultVersion is the Kubernetes version the fake claims unless built
// WithVersion.
const DefaultVersion = "v1.30.4"

type buildConfig struct {
	goarch  string
	version string
}

// Option changes how Build builds.
type Option func(*buildConfig)

// WithArch builds for linux/<goarch> (default amd64).
func WithArch(goarch string) Option { return func(c *buildConfig) { c.goarch = goarch } }

// WithVersion sets the Kubernetes version the binary reports (kubelet
// --version, kubeadm version, node info).
func WithVersion(v string) Option { return func(c *buildConfig) { c.version = v } }

// Build compiles testdata/fakek8s statically (CGO_ENABLED=0) for linux into
// dir and returns the binary's path (dir/fakek8s).
func Build(dir string, opts ...Option) (string, error) {
	cfg := buildConfig{goarch: "amd64", version: DefaultVersion}
	for _, o := range opts {
		o(&cfg)
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "fakek8s")
	cmd := exec.Command("go", "build", "-trimpath",
		"-ldflags", "-s -w -X main.version="+cfg.version,
		"-o", out, "./testdata/fakek8s")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+cfg.goarch)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("fakek8stest: building the fake distribution: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// BuildT is Build into a temporary directory of t, failing t on error.
func BuildT(t testing.TB, opts ...Option) string {
	t.Helper()
	bin, err := Build(t.TempDir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// Install copies bin into dir under every name of Names (as the installer
// copies bin/* of the rootfs into /usr/local/bin).
func Install(bin, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range Names() {
		if err := copyFile(bin, filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("fakek8stest: installing %s: %w", name, err)
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// moduleRoot is the directory of go.mod: two levels above this file.
func moduleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if ok {
		root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
		if _, err := os.Stat(filepath.Join(root, "testdata", "fakek8s", "main.go")); err == nil {
			return root, nil
		}
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("fakek8stest: finding the module root: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("fakek8stest: not inside the sealpack module")
	}
	return filepath.Dir(gomod), nil
}
