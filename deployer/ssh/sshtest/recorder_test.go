package sshtest_test

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/sealpack/sealpack/deployer"
	"github.com/sealpack/sealpack/deployer/ssh"
	"github.com/sealpack/sealpack/deployer/ssh/sshtest"
)

// The Recorder fakes what the phases use, nothing else.
var _ deployer.Remote = (*sshtest.Recorder)(nil)

// phase is a stand-in for a deployer phase: it knows only deployer.Remote.
func phase(ctx context.Context, r deployer.Remote) (string, error) {
	if _, err := r.Download(ctx, "/var/lib/sealpack/done"); err == nil {
		return "skipped", nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := r.WriteFile(ctx, strings.NewReader("#!/bin/sh\necho hi\n"), "/usr/local/bin/hi.part", 0o755, 0); err != nil {
		return "", err
	}
	if err := r.Rename(ctx, "/usr/local/bin/hi.part", "/usr/local/bin/hi"); err != nil {
		return "", err
	}
	var logged []string
	out, err := r.Run(ctx, "hi", map[string]string{"SEALPACK_ROLE": "master"}, func(l string) { logged = append(logged, l) })
	if err != nil {
		return "", err
	}
	if len(logged) != 1 || logged[0] != "hi" {
		return "", errors.New("output not logged line by line: " + strings.Join(logged, "|"))
	}
	return strings.TrimSpace(out), r.WriteFile(ctx, strings.NewReader(""), "/var/lib/sealpack/done", 0o644, 0)
}

func TestRecorderDrivesAPhase(t *testing.T) {
	ctx := context.Background()
	r := sshtest.New("10.0.0.2", "10.0.0.1").On(`^hi$`, sshtest.Reply{Stdout: "hi\n"})
	got, err := phase(ctx, r)
	if err != nil || got != "hi" {
		t.Fatalf("first run: %q, %v", got, err)
	}
	if data, mode, ok := r.File("/usr/local/bin/hi"); !ok || mode != 0o755 || !strings.HasPrefix(string(data), "#!/bin/sh") {
		t.Errorf("the script put in place: %q %o %v", data, mode, ok)
	}
	if _, _, ok := r.File("/usr/local/bin/hi.part"); ok {
		t.Error("the renamed file is still at its old path")
	}
	var ops []string
	for _, c := range r.Calls() {
		ops = append(ops, c.Op+" "+c.Path+c.Script)
	}
	want := "download /var/lib/sealpack/done|write /usr/local/bin/hi.part|rename /usr/local/bin/hi.part|run hi|write /var/lib/sealpack/done"
	if strings.Join(ops, "|") != want {
		t.Errorf("calls:\n%s\nwant\n%s", strings.Join(ops, "|"), want)
	}
	if c := r.Calls()[3]; c.Env["SEALPACK_ROLE"] != "master" {
		t.Errorf("env not recorded: %+v", c)
	}
	if got, _ := phase(ctx, r); got != "skipped" {
		t.Errorf("re-run: %q", got)
	}
}

func TestRecorderAnswers(t *testing.T) {
	ctx := context.Background()
	r := sshtest.New("h", "10.0.0.1").
		On(`^kubeadm `, sshtest.Reply{Stdout: "generic"}).
		On(`^kubeadm token create`, sshtest.Reply{Stdout: "kubeadm join ..."}).
		On(`^systemctl (start|restart) `, sshtest.Reply{Stdout: "partial", Exit: 1, Stderr: "no systemd\n"})
	for _, c := range []struct {
		script, out, err string
	}{
		{"kubeadm token create --print-join-command", "kubeadm join ...", ""},
		{"kubeadm init --config x", "generic", ""},
		{"systemctl restart kubelet", "partial", `host h: "systemctl restart kubelet": exit status 1: no systemd`},
		{"rm -rf /\necho", "", `host h: "rm -rf / ...": exit status 127: sshtest: no answer for "rm -rf / ..."`},
	} {
		out, err := r.Run(ctx, c.script, nil, nil)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if out != c.out || gotErr != c.err {
			t.Errorf("%q: %q, %q; want %q, %q", c.script, out, gotErr, c.out, c.err)
		}
	}
	var re *ssh.RunError
	if _, err := r.Run(ctx, "systemctl start x", nil, nil); !errors.As(err, &re) || re.ExitCode != 1 {
		t.Errorf("not a RunError: %v", err)
	}

	// A handler sees the call and the host's files.
	r.SetFile("/etc/hostname", []byte("m0\n"), 0o644)
	r.Handle(`^hostname$`, func(ctx context.Context, h *sshtest.Recorder, c sshtest.Call) sshtest.Reply {
		b, _, _ := h.File("/etc/hostname")
		return sshtest.Reply{Stdout: string(b) + c.Env["X"]}
	})
	if out, err := r.Run(ctx, "hostname", map[string]string{"X": "y"}, nil); err != nil || out != "m0\ny" {
		t.Errorf("handler: %q, %v", out, err)
	}
	lost := errors.New("connection lost")
	r.On(`^hang$`, sshtest.Reply{Err: lost})
	if _, err := r.Run(ctx, "hang", nil, nil); err != lost {
		t.Errorf("Err reply: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.Run(cancelled, "hostname", nil, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestRecorderFiles(t *testing.T) {
	ctx := context.Background()
	r := sshtest.New("h", "10.0.0.1")
	dst := "/var/lib/sealpack/rootfs/blob.part"
	if err := r.WriteFile(ctx, strings.NewReader("hello "), dst, 0o600, 0); err != nil {
		t.Fatal(err)
	}
	// A resumed copy keeps what is there before its offset.
	if err := r.WriteFile(ctx, strings.NewReader("world"), dst, 0o644, 6); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Download(ctx, dst); err != nil || string(got) != "hello world" {
		t.Errorf("after resume: %q, %v", got, err)
	}
	if err := r.WriteFile(ctx, strings.NewReader("x"), dst, 0o644, 100); err == nil || !strings.Contains(err.Error(), "has only 11") {
		t.Errorf("offset past the end: %v", err)
	}
	if err := r.WriteFile(ctx, strings.NewReader("x"), "rel", 0o644, 0); err == nil {
		t.Error("relative path accepted")
	}
	if got := r.Files("/var/lib/sealpack"); len(got) != 1 || got[0] != dst {
		t.Errorf("files under /var/lib/sealpack: %q", got)
	}
	for name, err := range map[string]error{
		"download": func() error { _, err := r.Download(ctx, "/missing"); return err }(),
		"rename":   r.Rename(ctx, "/missing", "/x"),
	} {
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "host h") {
			t.Errorf("%s of a missing file: %v", name, err)
		}
	}
	if addr, err := r.Forward(ctx, "127.0.0.1:5000", "127.0.0.1:5000"); err != nil || addr != "127.0.0.1:5000" || r.LocalIP() != "10.0.0.1" {
		t.Errorf("forward %q %v, local IP %q", addr, err, r.LocalIP())
	}
}

func TestRecorderConcurrent(t *testing.T) {
	r := sshtest.New("h", "10.0.0.1").On(``, sshtest.Reply{Stdout: "ok"})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			r.Run(context.Background(), "x", nil, nil)
			r.WriteFile(context.Background(), strings.NewReader("d"), "/f", 0o644, 0)
		})
	}
	wg.Wait()
	if n := len(r.Calls()); n != 40 {
		t.Errorf("%d calls recorded, want 40", n)
	}
}
