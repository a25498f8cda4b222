package packer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/sealpack/sealpack/packer/kubefile"
)

// stderrTail is how much of a failing RUN's stderr its error shows.
const (
	stderrTailBytes = 4 << 10
	stderrTailLines = 20
)

// run executes a RUN on the build machine, in the rootfs written out to the
// work dir, then reads the tree back: whatever the command wrote is part of
// the image.
func (b *builder) run(ctx context.Context, r *kubefile.Run) error {
	dir, err := b.materialize(ctx)
	if err != nil {
		return kubefile.Errorf(r.Pos, "RUN: preparing the rootfs: %w", err)
	}
	// umask 022 as in a container: the builder's own umask must not change
	// the modes of what RUN writes (the same inputs give the same installer).
	var cmd *exec.Cmd
	if r.Exec != nil {
		cmd = exec.CommandContext(ctx, "sh", append([]string{"-c", `umask 022 && exec "$@"`, "sh"}, r.Exec...)...)
	} else {
		cmd = exec.CommandContext(ctx, "sh", "-c", `umask 022 && exec sh -c "$1"`, "sh", r.Shell)
	}
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), r.Env...) // the last value of a key wins
	tail := &tailBuffer{max: stderrTailBytes}
	cmd.Stdout = b.log
	cmd.Stderr = io.MultiWriter(b.log, tail)
	// Its own process group, so cancelling kills what the command started too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		var stderr string
		if t := tail.lines(stderrTailLines); t != "" {
			stderr = "; its stderr ends with:\n" + t
		}
		var ee *exec.ExitError
		switch {
		case !errors.As(err, &ee):
			// It did not start: the cause stays in the chain.
			return kubefile.Errorf(r.Pos, "RUN: %w%s", err, stderr)
		case ee.ExitCode() >= 0:
			return kubefile.Errorf(r.Pos, "RUN exited with code %d%s", ee.ExitCode(), stderr)
		default:
			return kubefile.Errorf(r.Pos, "RUN was killed: %s%s", ee.String(), stderr)
		}
	}
	if err := b.rescan(); err != nil {
		return kubefile.Errorf(r.Pos, "RUN: reading back the rootfs: %w", err)
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

// lines returns at most n last lines, indented for an error message.
func (t *tailBuffer) lines(n int) string {
	b := t.buf
	if len(b) > t.max {
		b = b[len(b)-t.max:]
	}
	b = bytes.TrimRight(b, "\n")
	if len(b) == 0 {
		return ""
	}
	ls := strings.Split(string(b), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return "  " + strings.Join(ls, "\n  ")
}
