package tui

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
)

// syncBuffer is an output the test reads while the program writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRun drives Run itself through its Input and Output, as a terminal
// would: raw key bytes in, frames out, to a completed install.
func TestRun(t *testing.T) {
	in, keys := io.Pipe()
	out := &syncBuffer{}
	eng := &fakeEngine{clock: newFakeClock(), install: script{}.run}
	save := t.TempDir() + "/Clusterfile"
	type ran struct {
		res *Result
		err error
	}
	done := make(chan ran, 1)
	go func() {
		res, err := Run(context.Background(), Options{
			Info: testInfo(), Engine: eng, SavePath: save, AlreadyVerified: true,
			Input: in, Output: out, NoColor: true, Now: eng.clock.Now,
		})
		done <- ran{res, err}
	}()
	step := func(wait, send string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(out.String(), wait) {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %q; output so far:\n%q", wait, out.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
		if _, err := keys.Write([]byte(send)); err != nil {
			t.Fatal(err)
		}
	}
	step("Welcome", "\r")
	step("Machines", "10.0.0.11\r")
	step("1 master, 0 nodes", "\r")
	step("SSH login", "\r\rs3cret\r\r\r")
	step("all hosts passed", "\r")
	step("Review", "\r")
	step("installed in", "\r")
	var r ran
	select {
	case r = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !r.res.Installed || r.res.Cluster == nil || r.res.Cluster.SSH.Passwd != "s3cret" || r.res.SavedPath != save {
		t.Errorf("result = %+v", r.res)
	}
	// The summary stays in the terminal once the alternate screen is gone.
	all := out.String()
	tail := all[strings.LastIndex(all, "\x1b[?1049l")+1:]
	if !strings.Contains(tail, "acme-platform 3.1.4 runs on 1 host") {
		t.Errorf("no summary after the wizard:\n%q", tail)
	}
	if strings.Contains(all, "s3cret") {
		t.Error("the password was written to the terminal")
	}
	keys.Close()
}

func TestRunQuit(t *testing.T) {
	out := &syncBuffer{}
	res, err := Run(context.Background(), Options{
		Info: testInfo(), Engine: &fakeEngine{}, SavePath: "Clusterfile", AlreadyVerified: true,
		Input: strings.NewReader("\x03y"), Output: out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Quit || res.Installed || res.Cluster != nil {
		t.Errorf("result = %+v", res)
	}
}

func TestRunOptions(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Engine: &fakeEngine{}, SavePath: "x"}, "Options.Info is required"},
		{Options{Info: testInfo(), SavePath: "x"}, "Options.Engine is required"},
		{Options{Info: testInfo(), Engine: &fakeEngine{}}, "Options.SavePath is required"},
	} {
		if _, err := Run(context.Background(), tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Run error = %v, want %q", err, tc.want)
		}
	}
}

// TestNoColor: without colour, styles keep bold and reverse video (the
// cursor stays visible) and emit no colour; plain styles emit nothing.
func TestNoColor(t *testing.T) {
	ansiRenderer := func() *lipgloss.Renderer {
		r := lipgloss.NewRenderer(io.Discard)
		r.SetColorProfile(termenv.ANSI)
		return r
	}
	color := buildStyles(ansiRenderer(), true)
	if got := color.fail.Render("x"); !strings.Contains(got, "31") {
		t.Errorf("colour styles render fail as %q, want red", got)
	}
	mono := buildStyles(ansiRenderer(), false)
	for name, s := range map[string]string{"fail": mono.fail.Render("x"), "ok": mono.ok.Render("x"), "cursor": mono.cursor.Render("x")} {
		for _, c := range []string{"30", "31", "32", "33", "34", "35", "36", "37", "38", "90"} {
			if strings.Contains(s, "["+c) || strings.Contains(s, ";"+c) {
				t.Errorf("NO_COLOR style %s has colour %s: %q", name, c, s)
			}
		}
	}
	if got := mono.cursor.Render("x"); !strings.Contains(got, "7") {
		t.Errorf("NO_COLOR cursor = %q, want reverse video", got)
	}
	if got := plainStyles().fail.Render("x"); got != "x" {
		t.Errorf("plain style renders %q", got)
	}
	// A writer that is not a terminal gets no escape sequence at all.
	if got := newStyles(os.Stderr, true).fail.Render("x"); strings.Contains(got, "\x1b[3") {
		t.Errorf("NO_COLOR on %v renders %q", os.Stderr.Name(), got)
	}
}

func TestCleanLines(t *testing.T) {
	got := cleanLines("a\tb\r\n\x1b[31mred\x1b[0m\ndownloading 10%\rdownloading 100%\nbell\a\n")
	want := []string{"a b", "red", "downloading 100%", "bell"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("cleanLines = %q, want %q", got, want)
	}
}

func TestLogBufKeepsTheEnd(t *testing.T) {
	var l logBuf
	for i := range logCap + 5 {
		l.add(string(rune('a' + i%26)))
	}
	if l.len() != logCap {
		t.Fatalf("len = %d", l.len())
	}
	last := l.last(3)
	// Lines logCap+2, +3, +4 (0-based) are the newest.
	for i, s := range last {
		if want := string(rune('a' + (logCap+2+i)%26)); s != want {
			t.Errorf("last[%d] = %q, want %q", i, s, want)
		}
	}
}

func TestETA(t *testing.T) {
	clock := newFakeClock()
	e := &env{st: plainStyles(), keys: newKeyMap(), now: clock.Now, opts: &Options{Info: testInfo()}}
	s := newInstallScreen(e, testCluster(3))
	if got := s.eta(time.Minute); got != "estimating…" {
		t.Errorf("eta before any work = %q", got)
	}
	// Preflight (1) and distribute (6) of 22 weight units done in 7 minutes:
	// 15 units left at one unit a minute.
	for _, p := range []string{event.Preflight, event.Distribute} {
		s.apply(event.Event{Type: event.PhaseStart, Phase: p})
		s.apply(event.Event{Type: event.PhaseDone, Phase: p})
	}
	if got := s.eta(7 * time.Minute); got != "~15:00 left" {
		t.Errorf("eta = %q, want ~15:00 left", got)
	}
	// A skipped phase takes no time: it leaves the estimate alone.
	s.apply(event.Event{Type: event.PhaseSkip, Phase: event.Registry})
	if got := s.eta(7 * time.Minute); got != "~12:00 left" {
		t.Errorf("eta after a skip = %q, want ~12:00 left", got)
	}
}

// TestShutdownWaitsForInstall: when the program ends abnormally during the
// install, Run does not return before the Engine has stopped.
func TestShutdownWaitsForInstall(t *testing.T) {
	m := newModel(context.Background(), Options{Info: testInfo(), Engine: &fakeEngine{}, SavePath: "x"}, plainStyles())
	m.cluster = testCluster(2)
	m.state = stateInstall
	m.install = newInstallScreen(m.e, m.cluster)
	var stopped atomic.Bool
	batch := m.startStream(func(ctx context.Context, _ *clusterfile.Cluster, _ event.Sink) error {
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond) // a step finishing safely
		stopped.Store(true)
		return ctx.Err()
	})().(tea.BatchMsg)
	go batch[0]() // the Engine call, as bubbletea would run it
	for !m.stream.started.Load() {
		time.Sleep(time.Millisecond)
	}
	m.shutdown()
	if !stopped.Load() {
		t.Error("shutdown returned before the install stopped")
	}
}
