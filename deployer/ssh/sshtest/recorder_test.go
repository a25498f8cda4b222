package sshtest

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/sealpack/sealpack/deployer/ssh"
)

// phase is a stand-in for a deployer phase: it only knows ssh.Runner.
func phase(ctx context.Context, r ssh.Runner) (string, error) {
	if _, err := r.Stat(ctx, "/var/lib/sealpack/done"); err == nil {
		return "skipped", nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := r.Upload(ctx, strings.NewReader("#!/bin/sh\necho hi\n"), "/usr/local/bin/hi", 0o755); err != nil {
		return "", err
	}
	out, err := r.Run(ctx, "hi", ssh.Env("SEALPACK_ROLE=master"), ssh.Dir("/var/lib/sealpack/rootfs"))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), r.Upload(ctx, strings.NewReader(""), "/var/lib/sealpack/done", 0o644)
}

func TestRecorderDrivesAPhase(t *testing.T) {
	ctx := context.Background()
	r := New("10.0.0.2").On("hi", Reply{Stdout: "hi\n"})
	got, err := phase(ctx, r)
	if err != nil || got != "hi" {
		t.Fatalf("first run: %q, %v", got, err)
	}
	if data, mode, ok := r.File("/usr/local/bin/hi"); !ok || mode != 0o755 || !strings.HasPrefix(string(data), "#!/bin/sh") {
		t.Errorf("uploaded script: %q %v %v", data, mode, ok)
	}
	calls := r.Calls()
	want := []string{"stat /var/lib/sealpack/done", "upload /usr/local/bin/hi", "run hi", "upload /var/lib/sealpack/done"}
	if len(calls) != len(want) {
		t.Fatalf("calls: %+v", calls)
	}
	for i, c := range calls {
		if got := c.Op + " " + c.Path + c.Cmd; got != want[i] {
			t.Errorf("call %d: %q, want %q", i, got, want[i])
		}
	}
	if c := calls[2]; c.Dir != "/var/lib/sealpack/rootfs" || len(c.Env) != 1 || c.Env[0] != "SEALPACK_ROLE=master" {
		t.Errorf("run options not recorded: %+v", c)
	}
	// Second run: the marker is there, nothing is done.
	if got, _ := phase(ctx, r); got != "skipped" {
		t.Errorf("re-run: %q", got)
	}
}

func TestRecorderAnswers(t *testing.T) {
	ctx := context.Background()
	r := New("h").
		On("kubeadm *", Reply{Stdout: "generic"}).
		On("kubeadm token create --print-join-command", Reply{Stdout: "kubeadm join ..."}).
		OnRegexp(`^systemctl (start|restart) `, Reply{Exit: 1, Stderr: "no systemd\n"})

	for _, c := range []struct {
		cmd, out, err string
	}{
		{"kubeadm token create --print-join-command", "kubeadm join ...", ""},
		{"kubeadm init --config x", "generic", ""},
		{"systemctl restart kubelet", "", `host h: "systemctl restart kubelet": exit status 1: no systemd`},
		{"rm -rf /", "", `host h: "rm -rf /": exit status 127: sshtest: no answer for "rm -rf /"`},
	} {
		out, err := r.Run(ctx, c.cmd)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if string(out) != c.out || gotErr != c.err {
			t.Errorf("%s: %q, %q; want %q, %q", c.cmd, out, gotErr, c.out, c.err)
		}
	}
	var re *ssh.RunError
	if _, err := r.Run(ctx, "systemctl start x"); !errors.As(err, &re) || re.ExitCode != 1 {
		t.Errorf("RunError: %v", err)
	}

	// Streams, stdin, hooks and plain errors.
	var stdout, stderr bytes.Buffer
	r.On("cat", Reply{Stdout: "out", Stderr: "err", Do: func(ctx context.Context, c Call) error {
		if string(c.Stdin) != "input" {
			t.Errorf("Do saw stdin %q", c.Stdin)
		}
		return nil
	}})
	if out, err := r.Run(ctx, "cat", ssh.Stdin(strings.NewReader("input")), ssh.Stdout(&stdout), ssh.Stderr(&stderr)); err != nil || out != nil ||
		stdout.String() != "out" || stderr.String() != "err" {
		t.Errorf("streams: %q %v %q %q", out, err, stdout.String(), stderr.String())
	}
	lost := errors.New("connection lost")
	r.On("hang", Reply{Err: lost})
	if _, err := r.Run(ctx, "hang"); err != lost {
		t.Errorf("Err reply: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.Run(cancelled, "cat"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestRecorderFiles(t *testing.T) {
	ctx := context.Background()
	r := New("h")
	dst := "/var/lib/sealpack/rootfs/blob"
	if err := r.Upload(ctx, strings.NewReader("hello "), dst, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.Upload(ctx, strings.NewReader("world"), dst, 0o644, ssh.Offset(6)); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := r.Download(ctx, dst, &got); err != nil || got.String() != "hello world" {
		t.Errorf("after resume: %q, %v", got.String(), err)
	}
	if sum, _ := r.Sha256(ctx, dst); sum != "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9" {
		t.Errorf("sha256: %s", sum)
	}
	if fi, err := r.Stat(ctx, dst); err != nil || fi.Size != 11 || fi.Mode != 0o644 {
		t.Errorf("stat: %+v, %v", fi, err)
	}
	if err := r.Upload(ctx, strings.NewReader("x"), dst, 0o644, ssh.Offset(100)); err == nil || !strings.Contains(err.Error(), "has only 11") {
		t.Errorf("offset past the end: %v", err)
	}
	if err := r.Upload(ctx, strings.NewReader("x"), "rel", 0o644); err == nil {
		t.Error("relative path accepted")
	}
	for name, err := range map[string]error{
		"stat":     func() error { _, err := r.Stat(ctx, "/missing"); return err }(),
		"sha256":   func() error { _, err := r.Sha256(ctx, "/missing"); return err }(),
		"download": r.Download(ctx, "/missing", &got),
	} {
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "host h") {
			t.Errorf("%s of a missing file: %v", name, err)
		}
	}
	full := errors.New("no space left on device")
	r.Fail("upload", dst, full)
	if err := r.Upload(ctx, strings.NewReader("x"), dst, 0o644); !errors.Is(err, full) {
		t.Errorf("injected failure: %v", err)
	}
	r.Fail("upload", dst, nil)
	if err := r.Upload(ctx, strings.NewReader("x"), dst, 0o644); err != nil {
		t.Errorf("after clearing the failure: %v", err)
	}
}

func TestRecorderConcurrent(t *testing.T) {
	r := New("h").On("*", Reply{Stdout: "ok"})
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Run(context.Background(), "x")
			r.Upload(context.Background(), strings.NewReader("d"), "/f", 0o644)
		}()
	}
	wg.Wait()
	if n := len(r.Calls()); n != 40 {
		t.Errorf("%d calls recorded, want 40", n)
	}
}
