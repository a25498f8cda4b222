package tui

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/payload"
)

// fakeClock is the wizard's clock in tests: it moves only when the test or
// the fake engine says, so elapsed times and estimates in goldens are fixed.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// fakeEngine plays scripted events. Each call runs the test's function,
// which emits through an emitter that stamps events with the fake clock.
type fakeEngine struct {
	clock     *fakeClock
	preflight func(ctx context.Context, c *clusterfile.Cluster, e *emitter) error
	install   func(ctx context.Context, c *clusterfile.Cluster, e *emitter) error

	mu         sync.Mutex
	accepted   []map[string]string
	preflights []*clusterfile.Cluster
	installs   []*clusterfile.Cluster
}

func (f *fakeEngine) Preflight(ctx context.Context, c *clusterfile.Cluster, sink event.Sink) error {
	f.mu.Lock()
	f.preflights = append(f.preflights, c)
	f.mu.Unlock()
	if f.preflight == nil {
		return allPass(c, &emitter{f.clock, sink})
	}
	return f.preflight(ctx, c, &emitter{f.clock, sink})
}

func (f *fakeEngine) AcceptHostKeys(c *clusterfile.Cluster, fps map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accepted = append(f.accepted, fps)
	return nil
}

func (f *fakeEngine) Install(ctx context.Context, c *clusterfile.Cluster, sink event.Sink) error {
	f.mu.Lock()
	f.installs = append(f.installs, c)
	f.mu.Unlock()
	return f.install(ctx, c, &emitter{f.clock, sink})
}

func (f *fakeEngine) acceptedKeys() []map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]string(nil), f.accepted...)
}

type emitter struct {
	clock *fakeClock
	sink  event.Sink
}

func (e *emitter) emit(ev event.Event) {
	ev.Time = e.clock.Now()
	e.sink(ev)
}

// after moves the clock, then emits.
func (e *emitter) after(d time.Duration, ev event.Event) {
	e.clock.Advance(d)
	e.emit(ev)
}

// checkNames are the checks of deployer/preflight.go, in its order.
var checkNames = []string{"connect", "platform", "cpu", "memory", "disk", "swap", "clock", "ports"}

// checks emits the checks of a host as the deployer does, OK unless over
// says otherwise; a failed connect ends the host's checks.
func (e *emitter) checks(ip string, over map[string]event.Event) {
	e.emit(event.Event{Type: event.HostStart, Phase: event.Preflight, Host: ip})
	for _, name := range checkNames {
		ev := event.Event{Type: event.Check, Phase: event.Preflight, Host: ip, Check: name, Status: event.OK, Message: okMessages[name]}
		if o, ok := over[name]; ok {
			ev.Status, ev.Message = o.Status, o.Message
			if o.Check != "" {
				ev.Check = o.Check // the deployer names a failed connect by its cause
			}
		}
		e.emit(ev)
		if name == "connect" && ev.Status == event.Fail {
			return
		}
	}
	e.emit(event.Event{Type: event.HostDone, Phase: event.Preflight, Host: ip})
}

// checkOK are the deployer's messages of passed checks.
var okMessages = map[string]string{
	"connect": "reachable, authenticated, host key verified", "platform": "linux/amd64",
	"cpu": "4 CPU(s)", "memory": "7963 MiB", "disk": "41.2 GiB free under /var/lib, 2.3 GiB needed",
	"swap": "off", "clock": "in sync with the jump host", "ports": "free",
}

func fail(msg string) event.Event { return event.Event{Status: event.Fail, Message: msg} }

func allPass(c *clusterfile.Cluster, e *emitter) error {
	for _, h := range c.Hosts() {
		e.checks(h.IP, nil)
	}
	return nil
}

// testInfo is the product the goldens show.
func testInfo() *payload.Report {
	return &payload.Report{
		Name: "acme-platform", Version: "3.1.4", Platform: "linux/amd64",
		PayloadBytes: 2_250_000_000, StubBytes: 9_000_000,
		Images: make([]payload.Image, 37),
		Cmds:   []string{"kubectl apply -f manifests/app.yaml", "helm install acme charts/acme"},
	}
}

// probe wraps the model so that a test can read the exact frame the
// program would draw, between two messages, without racing the renderer.
type probe struct{ m *model }

type snapMsg struct{ ch chan string }

func (p probe) Init() tea.Cmd { return p.m.Init() }

func (p probe) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if s, ok := msg.(snapMsg); ok {
		s.ch <- p.m.render()
		return p, nil
	}
	_, cmd := p.m.Update(msg)
	return p, cmd
}

func (p probe) View() string { return p.m.View() }

// wizard is one running wizard under test.
type wizard struct {
	t      *testing.T
	tm     *teatest.TestModel
	m      *model
	clock  *fakeClock
	engine *fakeEngine
	cancel context.CancelFunc // ends the caller's ctx
}

// startWizard runs the model in a real bubbletea program (teatest) with
// plain styles at 80x24, unless size says otherwise.
func startWizard(t *testing.T, opts Options, size ...int) *wizard {
	t.Helper()
	clock := newFakeClock()
	eng, _ := opts.Engine.(*fakeEngine)
	if eng == nil {
		eng = &fakeEngine{}
		if opts.Engine == nil {
			opts.Engine = eng
		}
	}
	eng.clock = clock
	if opts.Info == nil {
		opts.Info = testInfo()
	}
	if opts.SavePath == "" {
		opts.SavePath = t.TempDir() + "/Clusterfile"
	}
	opts.Now = clock.Now
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m := newModel(ctx, opts, plainStyles())
	w, h := 80, 24
	if len(size) == 2 {
		w, h = size[0], size[1]
	}
	tm := teatest.NewTestModel(t, probe{m}, teatest.WithInitialTermSize(w, h))
	wz := &wizard{t: t, tm: tm, m: m, clock: clock, engine: eng, cancel: cancel}
	t.Cleanup(func() { _ = tm.Quit() })
	return wz
}

func (w *wizard) snap() string {
	w.t.Helper()
	ch := make(chan string, 1)
	w.tm.Send(snapMsg{ch})
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		w.t.Fatal("the program did not answer a snapshot")
	}
	return ""
}

// waitFor returns the first frame for which ok holds.
func (w *wizard) waitFor(what string, ok func(string) bool) string {
	w.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var s string
	for time.Now().Before(deadline) {
		if s = w.snap(); ok(s) {
			return s
		}
		time.Sleep(5 * time.Millisecond)
	}
	w.t.Fatalf("waiting for %s; the screen is:\n%s", what, s)
	return ""
}

func (w *wizard) waitText(text string) string {
	w.t.Helper()
	return w.waitFor(strconvQuote(text), func(s string) bool { return strings.Contains(s, text) })
}

func strconvQuote(s string) string { return `"` + s + `"` }

func (w *wizard) key(k tea.KeyType) { w.tm.Send(tea.KeyMsg{Type: k}) }
func (w *wizard) typ(s string)      { w.tm.Type(s) }
func (w *wizard) enter()            { w.key(tea.KeyEnter) }

// golden compares the current frame with testdata/<test name>.golden,
// after checking that it fits the terminal.
func (w *wizard) golden(t *testing.T, frame string) {
	t.Helper()
	checkFits(t, frame, w.m.width, w.m.height)
	teatest.RequireEqualOutput(t, []byte(frame+"\n"))
}

// checkFits: a frame has exactly height lines, none wider than width.
func checkFits(t *testing.T, frame string, width, height int) {
	t.Helper()
	lines := strings.Split(frame, "\n")
	if len(lines) != height {
		t.Errorf("frame has %d lines, want %d", len(lines), height)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n > width {
			t.Errorf("line %d is %d cells wide, more than %d: %q", i+1, n, width, l)
		}
	}
}
