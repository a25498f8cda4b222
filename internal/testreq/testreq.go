// Package testreq is how a test says that this machine cannot run it: with
// one loud line that names what goes untested, and, under
// SEALPACK_REQUIRE_ROOT_TESTS=1 (which .ci/run sets for `make test`), with a
// failure instead of a skip, so that CI never passes on tests it did not run.
//
// go test hides the output of a passing package, skip messages included,
// unless -v is given. So the first skip of each group in a test binary also
// writes its line to the terminal (/dev/tty) when there is one: a developer
// who runs `go test ./...` as a normal user sees, among the ok lines, each
// group of tests that did not run. With -v, or when no terminal is there
// (CI), the skip message alone carries it.
package testreq

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// RequireEnv is the variable under which Skip fails instead of skipping.
const RequireEnv = "SEALPACK_REQUIRE_ROOT_TESTS"

// Skip skips t because this machine cannot run it: group names what goes
// untested ("tests on real sshd hosts"), why what is missing and how to get
// it ("needs root"). Under SEALPACK_REQUIRE_ROOT_TESTS=1 it fails t instead.
func Skip(t testing.TB, group, why string) {
	t.Helper()
	line := fmt.Sprintf("REQUIRED TESTS NOT RUN: %s%s: %s (%s=1, as CI sets, makes this a failure)", group, in(), why, RequireEnv)
	skip(t, os.Getenv(RequireEnv) == "1", group, line, openTTY)
}

// OptIn skips t unless the variable env is "1": for tests run on purpose
// because they take long (how says where they run, e.g. "make
// kubernetes-e2e"). It is as loud as Skip but never fails: requiring the
// root tests does not opt in.
func OptIn(t testing.TB, env, group, how string) {
	t.Helper()
	if os.Getenv(env) == "1" {
		return
	}
	line := fmt.Sprintf("OPT-IN TESTS NOT RUN: %s%s: set %s=1 (%s)", group, in(), env, how)
	skip(t, false, group, line, openTTY)
}

// skip fails t with line when required, else skips it, after writing line
// to what open opens: once per group, and not under -v, which shows the skip
// message anyway.
func skip(t testing.TB, required bool, group, line string, open func() (io.WriteCloser, error)) {
	t.Helper()
	if required {
		t.Fatal(line)
		return
	}
	if _, done := announced.LoadOrStore(group, true); !done && !testing.Verbose() {
		if w, err := open(); err == nil {
			fmt.Fprintln(w, line)
			w.Close()
		}
	}
	t.Skip(line)
}

// announced holds the groups this test binary has announced.
var announced sync.Map

// openTTY opens the terminal, which go test does not capture; without one
// (CI) it fails and the skip message alone carries the line.
func openTTY() (io.WriteCloser, error) { return os.OpenFile("/dev/tty", os.O_WRONLY, 0) }

// module is the prefix that in strips from package paths.
const module = "github.com/sealpack/sealpack/"

// in names the package of the test that is skipping, as " in stub": the
// function that testing's tRunner called is the test (or a subtest's
// closure) in that package.
func in() string {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	var prev string
	for {
		f, more := frames.Next()
		if f.Function == "testing.tRunner" {
			break
		}
		prev = f.Function
		if !more {
			return ""
		}
	}
	// "github.com/sealpack/sealpack/stub.TestX.func1": the package ends at
	// the first dot after the last slash.
	slash := strings.LastIndex(prev, "/")
	dot := strings.Index(prev[slash+1:], ".")
	if prev == "" || dot < 0 {
		return ""
	}
	return " in " + strings.TrimPrefix(prev[:slash+1+dot], module)
}
