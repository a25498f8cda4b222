package packer

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sealpack/sealpack/packer/kubefile"
	"github.com/sealpack/sealpack/payload"
)

// cancelOn is a build log that cancels the build when a line holds text:
// the log is written just before each step runs, so this cancels inside it.
type cancelOn struct {
	text   string
	cancel context.CancelFunc
}

func (c cancelOn) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(c.text)) {
		c.cancel()
	}
	return len(p), nil
}

// A cancelled build says so to its caller (errors.Is), wherever it stopped,
// so the CLI can tell an interrupt from a broken Kubefile.
func TestCancelledBuildIsContextCanceled(t *testing.T) {
	cases := []struct {
		name     string
		kubefile string
		cancel   func(cancel context.CancelFunc, o *BuildOptions)
		where    string // the error still says where, if the step had begun
	}{
		{"before the build", "FROM scratch\nCOPY files /files/\n",
			func(cancel context.CancelFunc, _ *BuildOptions) { cancel() }, ""},
		// Many files, so writing them out for the RUN sees the cancel.
		{"while RUN writes out the rootfs", "FROM scratch\nCOPY files /files/\nRUN true\n",
			func(cancel context.CancelFunc, o *BuildOptions) { o.Log = cancelOn{"RUN true", cancel} },
			"Kubefile:3: RUN: preparing the rootfs"},
		{"during RUN", "FROM scratch\nRUN sleep 60\n",
			func(cancel context.CancelFunc, _ *BuildOptions) { time.AfterFunc(100*time.Millisecond, cancel) }, ""},
		{"while compressing", "FROM scratch\nCOPY files /files/\n",
			func(cancel context.CancelFunc, o *BuildOptions) {
				o.Progress = func(_, total int64) {
					if total > 0 {
						cancel()
					}
				}
			}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctxDir := t.TempDir()
			os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte(tc.kubefile), 0o644)
			os.Mkdir(filepath.Join(ctxDir, "files"), 0o755)
			for i := range 64 {
				os.WriteFile(filepath.Join(ctxDir, "files", strconv.Itoa(i)), []byte(strings.Repeat("x", 4096)), 0o644)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			o := opts(ctxDir, filepath.Join(t.TempDir(), "app.run"))
			tc.cancel(cancel, &o)
			_, err := Build(ctx, o)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want one that is context.Canceled", err)
			}
			if !strings.Contains(err.Error(), tc.where) {
				t.Errorf("err = %v, want it to name %q", err, tc.where)
			}
		})
	}
}

// FROM of a broken installer fails with payload's own sentinel in the chain
// (and the Kubefile line in front), so callers need not match messages.
func TestCorruptBaseIsRecognisable(t *testing.T) {
	good := smallBase(t, 0)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	// rewrite writes a changed copy of the good base and returns its path.
	rewrite := func(t *testing.T, change func([]byte) []byte) string {
		p := filepath.Join(t.TempDir(), "base.run")
		if err := os.WriteFile(p, change(bytes.Clone(data)), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name string
		base func(t *testing.T) string
		want []error
	}{
		{"not an installer", func(t *testing.T) string {
			return rewrite(t, func([]byte) []byte { return []byte("#!/bin/sh\necho not an installer\n") })
		}, []error{payload.ErrFormat}},
		{"empty", func(t *testing.T) string {
			return rewrite(t, func([]byte) []byte { return nil })
		}, []error{payload.ErrFormat}},
		{"truncated", func(t *testing.T) string {
			return rewrite(t, func(b []byte) []byte { return b[:len(b)-1] })
		}, []error{payload.ErrFormat}},
		{"trailer flipped", func(t *testing.T) string {
			return rewrite(t, func(b []byte) []byte { b[len(b)-payload.TrailerSize/2] ^= 0x40; return b })
		}, []error{payload.ErrFormat}},
		{"index flipped", func(t *testing.T) string {
			return rewrite(t, func(b []byte) []byte { b[len(b)-payload.TrailerSize-1] ^= 0x40; return b })
		}, []error{payload.ErrChecksum}},
		{"split part missing", func(t *testing.T) string {
			p := smallBase(t, 1<<20)
			os.Remove(p + ".001")
			return p
		}, []error{payload.ErrPart, fs.ErrNotExist}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctxDir := t.TempDir()
			os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte("FROM "+tc.base(t)+"\nCMD x\n"), 0o644)
			_, err := Build(context.Background(), opts(ctxDir, filepath.Join(t.TempDir(), "app.run")))
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("err = %v, want one that is %q", err, w)
				}
			}
			var ke *kubefile.Error
			if !errors.As(err, &ke) || ke.Pos.Line != 1 {
				t.Errorf("err = %v, want a kubefile.Error at line 1", err)
			}
		})
	}
}

// smallBase builds a small installer to be FROM'd; split > 0 splits it
// (a random file makes it large enough for several parts).
func smallBase(t *testing.T, split int64) string {
	t.Helper()
	ctxDir := t.TempDir()
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte("FROM scratch\nCOPY . /share/\n"), 0o644)
	os.WriteFile(filepath.Join(ctxDir, "data.txt"), []byte("base data\n"), 0o644)
	o := opts(ctxDir, filepath.Join(t.TempDir(), "base.run"))
	if split > 0 {
		writeRandom(t, filepath.Join(ctxDir, "random.bin"), int(2*split))
		o.SplitSize = split
	}
	return mustBuild(t, o).Output
}
