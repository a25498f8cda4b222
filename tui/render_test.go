package tui

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/sealpack/sealpack/deployer/event"
)

// frameBudget is the figure: no frame takes longer than this to
// render with 50 hosts.
const frameBudget = 50 * time.Millisecond

// busyModel is a model on the install or preflight screen of a 50-host
// cluster with every host's checks, and logs filled to their cap.
func busyModel(t testing.TB, st state) *model {
	clock := newFakeClock()
	opts := Options{Info: testInfo(), Engine: &fakeEngine{}, SavePath: "Clusterfile", AlreadyVerified: true, Now: clock.Now}
	m := newModel(context.Background(), opts, plainStyles())
	m.cluster = testCluster(50)
	switch st {
	case statePreflight:
		m.state = statePreflight
		m.preflight = newPreflightScreen(m.e, m.cluster, nil)
		for i, h := range m.cluster.Hosts() {
			for _, name := range checkNames {
				ev := event.Event{Type: event.Check, Host: h.IP, Check: name, Status: event.OK, Message: okMessages[name]}
				if i%7 == 3 && name == "swap" {
					ev.Status, ev.Message = event.Fail, "swap is on: the kubelet refuses to start (swapoff -a, and remove it from /etc/fstab)"
				}
				m.preflight.apply(ev)
			}
		}
		m.preflight.sel = 25
	case stateInstall:
		m.state = stateInstall
		m.install = newInstallScreen(m.e, m.cluster)
		s := m.install
		for _, p := range event.InstallPhases[:3] {
			s.apply(event.Event{Type: event.PhaseStart, Phase: p, Total: 50})
		}
		for i, h := range m.cluster.Hosts() {
			s.apply(event.Event{Type: event.HostStart, Phase: event.Distribute, Host: h.IP})
			s.apply(event.Event{Type: event.Progress, Phase: event.Distribute, Host: h.IP, Done: int64(i) << 20, Total: 680 << 20})
			for j := range logCap + 100 {
				s.apply(event.Event{Type: event.Log, Host: h.IP, Message: fmt.Sprintf("[%s] line %d of the output of a step that is rather long, long enough to be cut at 80 columns", h.IP, j)})
			}
		}
		s.sel = 30
	}
	return m
}

// frameTimes renders n frames at each size and returns how long each took:
// the best of three tries, so that a moment when the shared machine gave
// the test no CPU does not count as a slow frame.
func frameTimes(m *model, n int) []time.Duration {
	runtime.GC() // the setup's garbage is not a frame's cost
	var out []time.Duration
	for _, size := range [][2]int{{80, 24}, {120, 40}, {250, 80}} {
		m.width, m.height = size[0], size[1]
		for range n {
			best := time.Hour
			for range 3 {
				start := time.Now()
				_ = m.View()
				best = min(best, time.Since(start))
			}
			out = append(out, best)
		}
	}
	return out
}

func TestFrameTime50Hosts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		state state
		logs  bool
	}{
		{"preflight", statePreflight, false},
		{"install", stateInstall, false},
		{"install-logs", stateInstall, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := busyModel(t, tc.state)
			if tc.logs {
				m.install.openLogs()
			}
			times := frameTimes(m, 50)
			sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
			worst, median := times[len(times)-1], times[len(times)/2]
			t.Logf("50 hosts, %s: median %v, worst %v over %d frames", tc.name, median, worst, len(times))
			if worst > frameBudget {
				t.Errorf("a frame took %v, more than %v", worst, frameBudget)
			}
		})
	}
}

// TestFirstFrame measures from the program's start to the first frame on
// its output, through a real bubbletea program. The best of three starts
// counts: a busy machine can stall any one of them.
func TestFirstFrame(t *testing.T) {
	best := time.Duration(-1)
	for range 3 {
		took := firstFrame(t)
		t.Logf("first frame after %v", took)
		if best < 0 || took < best {
			best = took
		}
		if best <= 300*time.Millisecond {
			return
		}
	}
	t.Errorf("the first frame took %v at best", best)
}

func firstFrame(t *testing.T) time.Duration {
	start := time.Now()
	m := newModel(context.Background(), Options{Info: testInfo(), Engine: &fakeEngine{}, SavePath: "Clusterfile", AlreadyVerified: true}, plainStyles())
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	defer tm.Quit()
	var seen []byte
	buf := make([]byte, 4096)
	for time.Since(start) < 5*time.Second {
		n, _ := tm.Output().Read(buf)
		seen = append(seen, buf[:n]...)
		if strings.Contains(string(seen), "Welcome") {
			break
		}
		time.Sleep(time.Millisecond)
	}
	took := time.Since(start)
	if !strings.Contains(string(seen), "Welcome") {
		t.Fatalf("no first frame after %v", took)
	}
	return took
}

func BenchmarkPreflightView50(b *testing.B) {
	m := busyModel(b, statePreflight)
	b.ResetTimer()
	for range b.N {
		_ = m.View()
	}
}

func BenchmarkInstallView50(b *testing.B) {
	m := busyModel(b, stateInstall)
	b.ResetTimer()
	for range b.N {
		_ = m.View()
	}
}

func BenchmarkInstallEvents50(b *testing.B) {
	m := busyModel(b, stateInstall)
	evs := make([]event.Event, 0, 512)
	for i := range 512 {
		evs = append(evs, event.Event{Type: event.Log, Host: fmt.Sprintf("10.0.1.%d", i%49+1), Message: "a line"})
	}
	b.ResetTimer()
	for range b.N {
		m.install.update(eventsMsg{events: evs})
	}
}

// TestImports holds the design's rule: the wizard never opens SSH itself
// and carries no build or registry code.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range []string{
			"github.com/sealpack/sealpack/deployer/ssh", "golang.org/x/crypto/ssh", "github.com/pkg/sftp",
			"github.com/sealpack/sealpack/packer", "github.com/sealpack/sealpack/registry", "github.com/sealpack/sealpack/stub",
		} {
			if dep == bad || strings.HasPrefix(dep, bad+"/") {
				t.Errorf("tui depends on %s", dep)
			}
		}
	}
}
