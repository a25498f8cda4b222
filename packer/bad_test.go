package packer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Every bad input is an error that names what and where, and leaves no
// output file (nor a temporary one) behind.
func TestBadInput(t *testing.T) {
	cases := []struct {
		name     string
		kubefile string
		files    map[string]string // context files
		setup    func(t *testing.T, ctxDir string, o *BuildOptions)
		want     []string
	}{
		{name: "syntax error", kubefile: "FROM scratch\nENV KEY\n", want: []string{"Kubefile:2: ENV must have two arguments"}},
		{name: "unknown instruction", kubefile: "FROM scratch\nCOPY a /\n\nFOOBAR x\n", files: map[string]string{"a": "a"},
			want: []string{`Kubefile:4: unknown instruction "FOOBAR"`}},
		{name: "copy outside by dotdot", kubefile: "FROM scratch\nCOPY ../secret /\n",
			want: []string{"Kubefile:2: COPY ../secret: outside the build context"}},
		{name: "copy outside by symlink", kubefile: "FROM scratch\nCOPY link /\n",
			setup: func(t *testing.T, ctxDir string, _ *BuildOptions) {
				outside := filepath.Join(t.TempDir(), "secret")
				os.WriteFile(outside, []byte("secret"), 0o600)
				os.Symlink(outside, filepath.Join(ctxDir, "link"))
			},
			want: []string{"Kubefile:2: COPY link: resolves to", "outside the build context", "(through a symlink)"}},
		{name: "copy outside by symlinked dir", kubefile: "FROM scratch\nCOPY dir/secret /\n",
			setup: func(t *testing.T, ctxDir string, _ *BuildOptions) {
				outside := t.TempDir()
				os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o600)
				os.Symlink(outside, filepath.Join(ctxDir, "dir"))
			},
			want: []string{"Kubefile:2: COPY dir/secret: resolves to", "outside the build context"}},
		{name: "copy missing", kubefile: "FROM scratch\nCOPY a /\nCOPY missing.txt /x/\n", files: map[string]string{"a": "a"},
			want: []string{"Kubefile:3: COPY missing.txt: no such file or directory in the build context"}},
		{name: "copy glob no match", kubefile: "FROM scratch\nCOPY *.yaml /m/\n", files: map[string]string{"a.txt": "a"},
			want: []string{"Kubefile:2: COPY *.yaml: no file in the build context", "matches"}},
		{name: "copy several to a file", kubefile: "FROM scratch\nCOPY a b /dest\n", files: map[string]string{"a": "a", "b": "b"},
			want: []string{"Kubefile:2: COPY: 2 sources, so the destination /dest must be a directory ending in /"}},
		{name: "copy under a file", kubefile: "FROM scratch\nCOPY a /x\nCOPY b /x/y\n", files: map[string]string{"a": "a", "b": "b"},
			want: []string{"Kubefile:3: COPY b: cannot create x/y: x is a file in the image"}},
		{name: "copy fifo", kubefile: "FROM scratch\nCOPY d /d/\n", files: map[string]string{"d/ok": "ok"},
			setup: func(t *testing.T, ctxDir string, _ *BuildOptions) {
				if err := syscall.Mkfifo(filepath.Join(ctxDir, "d", "pipe"), 0o644); err != nil {
					t.Skip("mkfifo:", err)
				}
			},
			want: []string{"Kubefile:2: COPY d:", "d/pipe is a named pipe: an installer stores only files, directories and symlinks"}},
		{name: "failing run", kubefile: "FROM scratch\nARG X=1\nRUN echo to-stdout; echo first >&2; echo 'the real problem' >&2; exit 3\nCMD x\n",
			want: []string{"Kubefile:3: RUN exited with code 3", "first\n  the real problem"}},
		{name: "run not found", kubefile: "FROM scratch\nRUN [\"no-such-program-sealpack\"]\n",
			want: []string{"Kubefile:2: RUN exited with code 127", "no-such-program-sealpack: not found"}},
		{name: "run makes a fifo", kubefile: "FROM scratch\nRUN mkfifo p\n",
			want: []string{"Kubefile:2: RUN: reading back the rootfs: RUN created p, a named pipe"}},
		{name: "from missing", kubefile: "FROM ./nope.run\n",
			want: []string{"Kubefile:1: FROM ./nope.run: no such installer or image directory"}},
		{name: "from not an installer", kubefile: "FROM ./garbage.run\n", files: map[string]string{"garbage.run": "not an installer"},
			want: []string{"Kubefile:1: FROM ./garbage.run: not a usable sealpack installer"}},
		{name: "from image name", kubefile: "FROM ubuntu:22.04\n",
			want: []string{"Kubefile:1: FROM ubuntu:22.04: no such installer or image directory", "use FROM scratch"}},
		{name: "unwritable output (missing dir)", kubefile: "FROM scratch\n",
			setup: func(t *testing.T, _ string, o *BuildOptions) {
				o.Output = filepath.Join(t.TempDir(), "no", "such", "dir", "x.run")
			},
			want: []string{"cannot write the installer", "/no/such/dir/x.run: stat", "no such file or directory"}},
		{name: "unwritable output (under a file)", kubefile: "FROM scratch\n", files: map[string]string{"file": "x"},
			setup: func(t *testing.T, ctxDir string, o *BuildOptions) { o.Output = filepath.Join(ctxDir, "file", "x.run") },
			want:  []string{"cannot write the installer", "not a directory"}},
		{name: "unwritable output (permission)", kubefile: "FROM scratch\n",
			setup: func(t *testing.T, _ string, o *BuildOptions) {
				// sysfs refuses new files even to root; elsewhere a read-only dir does.
				o.Output = "/sys/app.run"
				if os.Geteuid() != 0 {
					dir := t.TempDir()
					os.Chmod(dir, 0o555)
					o.Output = filepath.Join(dir, "app.run")
				}
			},
			want: []string{"cannot write the installer", "permission denied"}},
		{name: "output is a directory", kubefile: "FROM scratch\n",
			setup: func(t *testing.T, _ string, o *BuildOptions) { o.Output = t.TempDir() },
			want:  []string{"output", "is a directory"}},
		{name: "bad platform", kubefile: "FROM scratch\n",
			setup: func(t *testing.T, _ string, o *BuildOptions) { o.Platform = "windows/amd64" },
			want:  []string{`platform "windows/amd64" is not supported`}},
		{name: "missing kubefile", kubefile: "",
			setup: func(t *testing.T, ctxDir string, o *BuildOptions) { o.Kubefile = filepath.Join(ctxDir, "Nope") },
			want:  []string{"kubefile: open", "Nope: no such file or directory"}},
		{name: "context not a dir", kubefile: "FROM scratch\n", files: map[string]string{"f": "x"},
			setup: func(t *testing.T, ctxDir string, o *BuildOptions) { o.ContextDir = filepath.Join(ctxDir, "f") },
			want:  []string{"build context", "is not a directory"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctxDir := t.TempDir()
			if c.kubefile != "" {
				os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte(c.kubefile), 0o644)
			}
			for name, content := range c.files {
				p := filepath.Join(ctxDir, name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.WriteFile(p, []byte(content), 0o644)
			}
			outDir := t.TempDir()
			o := opts(ctxDir, filepath.Join(outDir, "app.run"))
			o.Kubefile = filepath.Join(ctxDir, "Kubefile")
			if c.setup != nil {
				c.setup(t, ctxDir, &o)
			}
			res, err := Build(context.Background(), o)
			if err == nil {
				t.Fatalf("no error (result %+v)", res)
			}
			t.Log(err)
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "goroutine ") || strings.Contains(err.Error(), ".go:") {
				t.Errorf("error carries a stack trace: %q", err)
			}
			if left := leftovers(t, outDir); len(left) > 0 {
				t.Errorf("left in the output dir: %q", left)
			}
			if _, err := os.Stat(o.Output); err == nil && o.Output != outDir && !strings.HasPrefix(c.name, "output is") {
				t.Errorf("output %s exists", o.Output)
			}
		})
	}
}

// A failing build keeps the installer that was there before.
func TestFailureKeepsPreviousOutput(t *testing.T) {
	ctxDir := t.TempDir()
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte("FROM scratch\nRUN exit 1\n"), 0o644)
	out := filepath.Join(t.TempDir(), "app.run")
	os.WriteFile(out, []byte("previous"), 0o755)
	if _, err := Build(context.Background(), opts(ctxDir, out)); err == nil {
		t.Fatal("no error")
	}
	if data, _ := os.ReadFile(out); string(data) != "previous" {
		t.Errorf("output now %q", data)
	}
	if left := leftovers(t, filepath.Dir(out), "app.run"); len(left) > 0 {
		t.Errorf("left: %q", left)
	}
}

// Cancelling stops a running RUN (and what it started) quickly.
func TestCancelRun(t *testing.T) {
	ctxDir := t.TempDir()
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte("FROM scratch\nRUN sleep 60 & sleep 60\n"), 0o644)
	outDir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Build(ctx, opts(ctxDir, filepath.Join(outDir, "app.run")))
	if err == nil {
		t.Fatal("no error")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s to stop", d)
	}
	if left := leftovers(t, outDir); len(left) > 0 {
		t.Errorf("left: %q", left)
	}
}

// A work dir is removed even when a RUN made it read-only.
func TestWorkDirRemoved(t *testing.T) {
	ctxDir := t.TempDir()
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte("FROM scratch\nRUN mkdir -p ro/sub && touch ro/sub/f && chmod 500 ro/sub ro\n"), 0o644)
	tmp := t.TempDir()
	o := opts(ctxDir, filepath.Join(t.TempDir(), "app.run"))
	o.TempDir = tmp
	res := mustBuild(t, o)
	if left := leftovers(t, tmp); len(left) > 0 {
		t.Errorf("work dirs left: %q", left)
	}
	r := open(t, res.Output)
	if f, ok := r.File("ro/sub"); !ok || f.Mode != 0o500 {
		t.Errorf("ro/sub: %+v", f)
	}
}
