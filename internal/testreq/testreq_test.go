package testreq

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// recorder stands in for a test: it records Skip and Fatal instead of
// ending the goroutine.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()           {}
func (r *recorder) Skip(args ...any)  { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Fatal(args ...any) { r.failed = fmt.Sprint(args...) }

type buffer struct{ bytes.Buffer }

func (*buffer) Close() error { return nil }

func TestSkipAnnouncesOncePerGroup(t *testing.T) {
	var out buffer
	open := func() (io.WriteCloser, error) { return &out, nil }
	for range 2 {
		r := &recorder{TB: t}
		skip(r, false, t.Name(), "the line", open)
		if r.skipped != "the line" || r.failed != "" {
			t.Errorf("skipped %q, failed %q", r.skipped, r.failed)
		}
	}
	want := "the line\n"
	if testing.Verbose() {
		want = "" // the skip message shows under -v
	}
	if out.String() != want {
		t.Errorf("announced %q, want %q", out.String(), want)
	}
	// No terminal: the skip alone.
	r := &recorder{TB: t}
	skip(r, false, t.Name()+"/other", "other", func() (io.WriteCloser, error) { return nil, errors.New("no tty") })
	if r.skipped != "other" {
		t.Errorf("skipped %q", r.skipped)
	}
}

func TestSkipFailsWhenRequired(t *testing.T) {
	t.Setenv(RequireEnv, "1")
	r := &recorder{TB: t}
	Skip(r, "tests on real sshd hosts", "needs root")
	if r.skipped != "" || !strings.Contains(r.failed, "REQUIRED TESTS NOT RUN: tests on real sshd hosts in internal/testreq: needs root") {
		t.Errorf("skipped %q, failed %q", r.skipped, r.failed)
	}
}

func TestOptInNeverFails(t *testing.T) {
	t.Setenv(RequireEnv, "1")
	t.Setenv("SEALPACK_TESTREQ_OPTIN", "1")
	r := &recorder{TB: t}
	OptIn(r, "SEALPACK_TESTREQ_OPTIN", "slow tests", "make slow")
	if r.skipped != "" || r.failed != "" {
		t.Errorf("opted in, yet skipped %q, failed %q", r.skipped, r.failed)
	}
	t.Setenv("SEALPACK_TESTREQ_OPTIN", "")
	announced.Store("slow tests", true) // nothing on the terminal of whoever runs this
	r = &recorder{TB: t}
	OptIn(r, "SEALPACK_TESTREQ_OPTIN", "slow tests", "make slow")
	if r.failed != "" || !strings.Contains(r.skipped, "OPT-IN TESTS NOT RUN: slow tests in internal/testreq: set SEALPACK_TESTREQ_OPTIN=1 (make slow)") {
		t.Errorf("not opted in under %s=1: skipped %q, failed %q", RequireEnv, r.skipped, r.failed)
	}
}
