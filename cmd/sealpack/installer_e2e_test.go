package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// stubsOnce builds the real installer program for both platforms once.
var stubsOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "sealpack-stubs-")
	if err != nil {
		return "", err
	}
	for _, arch := range []string{"amd64", "arm64"} {
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "stub-linux-"+arch), "github.com/sealpack/sealpack/stub")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", &exec.ExitError{Stderr: out}
		}
	}
	return dir, nil
})

// sealpack runs the build tool's root command in-process.
func sealpack(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := newRootCmd()
	var stdout, stderr bytes.Buffer
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return stdout.String(), stderr.String(), err
}

// installer runs a built installer as a program, as a user would.
func installer(t *testing.T, path string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func buildInstaller(t *testing.T, platform string, extra ...string) (string, string) {
	t.Helper()
	dir, err := stubsOnce()
	if err != nil {
		t.Fatalf("building the installer program: %v", err)
	}
	t.Setenv(stubDirEnv, dir)
	ctxDir := t.TempDir()
	os.MkdirAll(filepath.Join(ctxDir, "bin"), 0o755)
	os.WriteFile(filepath.Join(ctxDir, "bin", "tool"), bytes.Repeat([]byte("#!/bin/sh\necho tool\n"), 1000), 0o755)
	big := make([]byte, 8<<20) // incompressible, so split parts fill up
	rand.NewChaCha8([32]byte{7}).Read(big)
	os.WriteFile(filepath.Join(ctxDir, "big.bin"), big, 0o600)
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte(`FROM scratch
LABEL org.opencontainers.image.title="e2e app" org.opencontainers.image.version="1.2.3"
COPY bin /bin/
COPY big.bin /data/
CMD kubectl apply -f manifests/
CMD ["echo", "second"]
`), 0o644)
	out := filepath.Join(t.TempDir(), "app.run")
	args := append([]string{"build", "-q", "--platform", platform, "-o", out}, extra...)
	if _, stderr, err := sealpack(t, append(args, ctxDir)...); err != nil {
		t.Fatalf("build: %v\n%s", err, stderr)
	}
	return out, ctxDir
}

func TestInstallerInspectVerifyExtract(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("runs the linux/amd64 installer")
	}
	out, ctxDir := buildInstaller(t, "linux/amd64")
	stdout, stderr, err := installer(t, out, "inspect", "--json")
	if err != nil {
		t.Fatalf("inspect: %v\n%s", err, stderr)
	}
	var rep struct {
		Platform     string            `json:"platform"`
		Labels       map[string]string `json:"labels"`
		Cmds         []string          `json:"cmds"`
		Images       []any             `json:"images"`
		PayloadBytes int64             `json:"payloadBytes"`
		Files        []struct {
			Path string `json:"path"`
			Size int64  `json:"size"`
			Mode string `json:"mode"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("inspect --json: %v\n%s", err, stdout)
	}
	if rep.Platform != "linux/amd64" || rep.Labels["org.opencontainers.image.version"] != "1.2.3" ||
		len(rep.Cmds) != 2 || rep.Cmds[1] != "echo second" || rep.Images == nil || rep.PayloadBytes <= 0 {
		t.Errorf("inspect --json = %+v", rep)
	}
	found := false
	for _, f := range rep.Files {
		found = found || f.Path == "bin/tool" && f.Mode == "0755" && f.Size == 20000
	}
	if !found {
		t.Errorf("bin/tool missing or wrong in %+v", rep.Files)
	}
	// The same report from the build tool.
	stdout2, _, err := sealpack(t, "inspect", "--json", out)
	if err != nil || stdout2 != stdout {
		t.Errorf("sealpack inspect differs from the installer's: %v", err)
	}
	if stdout, stderr, err := installer(t, out, "verify"); err != nil || !strings.Contains(stdout, "ok:") {
		t.Errorf("verify: %v\n%s%s", err, stdout, stderr)
	}
	dir := filepath.Join(t.TempDir(), "x")
	if _, stderr, err := installer(t, out, "extract", dir); err != nil {
		t.Fatalf("extract: %v\n%s", err, stderr)
	}
	want, _ := os.ReadFile(filepath.Join(ctxDir, "big.bin"))
	if got, _ := os.ReadFile(filepath.Join(dir, "data", "big.bin")); !bytes.Equal(got, want) {
		t.Error("extracted data/big.bin differs")
	}
	if st, err := os.Stat(filepath.Join(dir, "bin", "tool")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("bin/tool: %v %v", st, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "data", "big.bin")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("data/big.bin mode: %v %v", st, err)
	}
	// FROM the extracted directory inherits files, labels and CMDs.
	derived := t.TempDir()
	os.WriteFile(filepath.Join(derived, "Kubefile"), []byte("FROM "+dir+"\nCMD echo third\n"), 0o644)
	out2 := filepath.Join(t.TempDir(), "derived.run")
	if _, stderr, err := sealpack(t, "build", "-q", "-o", out2, derived); err != nil {
		t.Fatalf("build FROM the extracted dir: %v\n%s", err, stderr)
	}
	stdout, _, _ = sealpack(t, "inspect", "--json", out2)
	var rep2 struct {
		Labels map[string]string `json:"labels"`
		Cmds   []string          `json:"cmds"`
	}
	json.Unmarshal([]byte(stdout), &rep2)
	if rep2.Labels["org.opencontainers.image.version"] != "1.2.3" || len(rep2.Cmds) != 3 {
		t.Errorf("FROM dir did not inherit labels and CMDs: %+v", rep2)
	}
	// Without a terminal, the guided installer names --unattended.
	if _, stderr, err := installer(t, out); err == nil || !strings.Contains(stderr, "--unattended") {
		t.Errorf("no tty: %v %q", err, stderr)
	}
}

func TestInstallerBadInput(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("runs the linux/amd64 installer")
	}
	out, _ := buildInstaller(t, "linux/amd64")
	orig, _ := os.ReadFile(out)
	dir := t.TempDir()

	// A flipped byte in the data: verify fails and names what is damaged.
	flipped := filepath.Join(dir, "flipped.run")
	b := bytes.Clone(orig)
	b[len(b)-200_000] ^= 0x55
	os.WriteFile(flipped, b, 0o755)
	if _, stderr, err := installer(t, flipped, "verify"); err == nil || !strings.Contains(stderr, "damaged") {
		t.Errorf("flipped byte: %v %q", err, stderr)
	}
	// Truncated: the installer says so instead of running.
	trunc := filepath.Join(dir, "trunc.run")
	os.WriteFile(trunc, orig[:len(orig)-1000], 0o755)
	if _, stderr, err := installer(t, trunc, "inspect"); err == nil || !strings.Contains(stderr, "truncated") || strings.Contains(stderr, "goroutine") {
		t.Errorf("truncated: %v %q", err, stderr)
	}
	// sealpack inspect on an empty file and on garbage.
	for name, data := range map[string][]byte{"empty": nil, "garbage": bytes.Repeat([]byte("garbage!"), 1000)} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o644)
		if _, _, err := sealpack(t, "inspect", p); err == nil || !strings.Contains(err.Error(), "not a sealpack installer") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// An installer for another architecture: sealpack inspect says which.
	arm, _ := buildInstaller(t, "linux/arm64")
	if stdout, _, err := sealpack(t, "inspect", arm); err != nil || !strings.Contains(stdout, "linux/arm64") || !strings.Contains(stdout, "Run it on a linux/arm64 jump host") {
		t.Errorf("arm64 installer: %v\n%s", err, stdout)
	}
	// An output path that is not writable: a clear error, nothing written.
	if _, _, err := sealpack(t, "build", "-q", "-o", "/proc/nope/app.run", t.TempDir()); err == nil {
		t.Error("unwritable output: no error")
	}
}

func TestInstallerSplitParts(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("runs the linux/amd64 installer")
	}
	out, _ := buildInstaller(t, "linux/amd64", "--split-size", "3M")
	if _, stderr, err := installer(t, out, "verify"); err != nil {
		t.Fatalf("verify of a split installer: %v\n%s", err, stderr)
	}
	parts, _ := filepath.Glob(out + ".0*")
	if len(parts) < 2 {
		t.Fatalf("parts = %v, want several", parts)
	}
	// A missing part is named.
	os.Rename(parts[1], parts[1]+".away")
	if _, stderr, err := installer(t, out, "inspect"); err == nil || !strings.Contains(stderr, filepath.Base(parts[1])) {
		t.Errorf("missing part: %v %q", err, stderr)
	}
	// Swapped parts are named too.
	os.Rename(parts[1]+".away", parts[0]+".tmp")
	os.Rename(parts[0], parts[1])
	os.Rename(parts[0]+".tmp", parts[0])
	if _, stderr, err := installer(t, out, "inspect"); err == nil || !strings.Contains(stderr, "expected part") {
		t.Errorf("swapped parts: %v %q", err, stderr)
	}
}
