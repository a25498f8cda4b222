package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
)

// script plays an install as the deployer reports it. gate, when not nil,
// is waited for in the middle of init-master0 (the test looks at the
// screen then); failInit makes kubeadm init fail.
type script struct {
	gate     chan struct{}
	failInit bool
}

func (s script) run(ctx context.Context, c *clusterfile.Cluster, e *emitter) error {
	var all []string
	for _, h := range c.Hosts() {
		all = append(all, h.IP)
	}
	m0 := all[0]
	nodes := all[1:]
	phase := func(name string, hosts []string, d time.Duration, each func(ip string)) {
		e.emit(event.Event{Type: event.PhaseStart, Phase: name, Total: int64(len(hosts))})
		for _, ip := range hosts {
			e.emit(event.Event{Type: event.HostStart, Phase: name, Host: ip})
		}
		for _, ip := range hosts {
			if each != nil {
				each(ip)
			}
			e.after(d, event.Event{Type: event.HostDone, Phase: name, Host: ip})
		}
		e.emit(event.Event{Type: event.PhaseDone, Phase: name})
	}
	log := func(phase, ip string, lines ...string) {
		for _, l := range lines {
			e.emit(event.Event{Type: event.Log, Phase: phase, Host: ip, Message: l})
		}
	}
	phase(event.Preflight, all, time.Second, func(ip string) {
		for _, name := range checkNames {
			e.emit(event.Event{Type: event.Check, Phase: event.Preflight, Host: ip, Check: name, Status: event.OK, Message: okMessages[name]})
		}
	})
	const size = 680 << 20
	phase(event.Distribute, all, 22*time.Second, func(ip string) {
		for _, part := range []int64{size / 4, size / 2, size} {
			e.emit(event.Event{Type: event.Progress, Phase: event.Distribute, Host: ip, Done: part, Total: size})
		}
		log(event.Distribute, ip, "rootfs: 412 files, 680.0 MiB, checksums verified", "bin: 9 executables installed in /usr/local/bin")
	})
	phase(event.HostInit, all, 5*time.Second, func(ip string) {
		log(event.HostInit, ip, "+ modprobe br_netfilter", "+ sysctl -w net.ipv4.ip_forward=1", "containerd: hosts.toml for docker.io, registry.k8s.io")
	})
	e.emit(event.Event{Type: event.PhaseSkip, Phase: event.Registry, Message: "already serving 37 images"})
	e.emit(event.Event{Type: event.PhaseStart, Phase: event.InitMaster0, Total: 1})
	e.emit(event.Event{Type: event.HostStart, Phase: event.InitMaster0, Host: m0})
	e.clock.Advance(20 * time.Second)
	log(event.InitMaster0, m0, "[init] Using Kubernetes version: v1.30.4", "[preflight] Running pre-flight checks",
		"[preflight] Pulling images required for setting up a Kubernetes cluster",
		"[certs] Using certificateDir folder \"/etc/kubernetes/pki\"", "[certs] Generating \"ca\" certificate and key",
		"\x1b[32m[kubeconfig]\x1b[0m Writing \"admin.conf\" kubeconfig file\r")
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if s.failInit {
		log(event.InitMaster0, m0, "[wait-control-plane] Waiting for the kubelet to boot up the control plane",
			"[kubelet-check] The kubelet is not healthy after 4m0s", "error execution phase wait-control-plane: could not initialize a Kubernetes cluster")
		e.after(4*time.Minute, event.Event{Type: event.HostFail, Phase: event.InitMaster0, Host: m0, Message: "kubeadm init: exit status 1"})
		e.emit(event.Event{Type: event.PhaseFail, Phase: event.InitMaster0, Message: "host " + m0 + ": kubeadm init: exit status 1"})
		return fmt.Errorf("init-master0: host %s: kubeadm init: exit status 1", m0)
	}
	e.after(40*time.Second, event.Event{Type: event.HostDone, Phase: event.InitMaster0, Host: m0})
	e.emit(event.Event{Type: event.PhaseDone, Phase: event.InitMaster0})
	e.emit(event.Event{Type: event.PhaseSkip, Phase: event.JoinMasters, Message: "no other masters"})
	phase(event.JoinNodes, nodes, 15*time.Second, func(ip string) {
		log(event.JoinNodes, ip, "This node has joined the cluster")
	})
	phase(event.Apps, []string{m0}, 30*time.Second, func(ip string) {
		log(event.Apps, ip, "$ kubectl apply -f manifests/app.yaml", "deployment.apps/acme created")
	})
	phase(event.Verify, all, time.Second, nil)
	e.emit(event.Event{Type: event.Done, Status: event.OK})
	return nil
}

// toReview goes through preflight (all pass) to the review.
func toReview(t *testing.T, opts Options, size ...int) *wizard {
	t.Helper()
	w := toPreflight(t, opts, size...)
	w.waitText("all hosts passed")
	w.enter()
	w.waitText("Review")
	return w
}

func TestReview(t *testing.T) {
	eng := &fakeEngine{install: script{}.run}
	w := toReview(t, Options{Engine: eng, SavePath: "testdata/out/Clusterfile"})
	t.Run("review", func(t *testing.T) {
		w.golden(t, w.snap())
	})
	for range 10 {
		w.key(tea.KeyDown)
	}
	t.Run("scrolled", func(t *testing.T) {
		w.golden(t, w.waitText("lines 7-19 of 19"))
	})
}

func TestInstall(t *testing.T) {
	gate := make(chan struct{})
	eng := &fakeEngine{install: script{gate: gate}.run}
	save := fixedDir(t, "install") + "/Clusterfile"
	w := toReview(t, Options{Engine: eng, SavePath: save, KubeconfigPath: "/root/.sealpack/admin.conf", LogPath: "/root/.sealpack/logs"})
	w.enter()
	t.Run("running", func(t *testing.T) {
		w.golden(t, w.waitText("[kubeconfig] Writing"))
	})
	// The Clusterfile is on disk before the install starts, with no password.
	data, err := os.ReadFile(save)
	if err != nil {
		t.Fatalf("the Clusterfile was not saved before the install: %v", err)
	}
	if strings.Contains(string(data), "s3cret") {
		t.Errorf("the saved Clusterfile holds the password:\n%s", data)
	}
	c, _, err := clusterfile.Parse(save, data)
	if err != nil {
		t.Fatalf("the saved Clusterfile does not parse: %v\n%s", err, data)
	}
	if got := len(c.Hosts()); got != 3 {
		t.Errorf("saved Clusterfile has %d hosts, want 3", got)
	}
	if eng.installs[0].SSH.Passwd != "s3cret" {
		t.Error("the Engine did not get the password kept in memory")
	}
	w.key(tea.KeyDown)
	t.Run("host-selected", func(t *testing.T) {
		w.golden(t, w.waitText("── 10.0.0.12"))
	})
	w.key(tea.KeyUp)
	w.enter()
	t.Run("logs", func(t *testing.T) {
		w.golden(t, w.waitText("Log of 10.0.0.11"))
	})
	w.key(tea.KeyEsc)
	w.waitText("elapsed")
	close(gate)
	t.Run("done", func(t *testing.T) {
		w.golden(t, w.waitText("Done"))
	})
	w.enter()
	res := w.tm.FinalModel(t, finalTimeout).(probe).m.result()
	if !res.Installed || res.Failure != nil || res.Quit || res.SavedPath != save || res.Cluster == nil {
		t.Errorf("result = %+v", res)
	}
}

var finalTimeout = teatest.WithFinalTimeout(5 * time.Second)

// fixedDir is a directory whose name the goldens can show.
func fixedDir(t *testing.T, name string) string {
	t.Helper()
	dir := "/tmp/sealpack-tui-test/" + name
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func testCluster(n int) *clusterfile.Cluster {
	rows := []hostRow{{ip: "10.0.0.11", master: true, group: -1}}
	for i := 1; i < n; i++ {
		rows = append(rows, hostRow{ip: fmt.Sprintf("10.0.1.%d", i), group: -1})
	}
	return buildCluster(nil, testInfo(), rows, sshValues{user: "root", port: 22, method: authPassword, passwd: "pw"})
}

func TestInstallFailure(t *testing.T) {
	eng := &fakeEngine{install: script{failInit: true}.run}
	dir := fixedDir(t, "failure")
	w := toReview(t, Options{Engine: eng, SavePath: dir + "/Clusterfile", LogPath: dir + "/logs"})
	w.enter()
	t.Run("failed", func(t *testing.T) {
		w.golden(t, w.waitText("Install failed"))
	})
	f := w.m.res.Failure
	want := &Failure{
		Host: "10.0.0.11", Step: event.InitMaster0, Message: "kubeadm init: exit status 1",
		Resume: "./app-installer.run --unattended -f /tmp/sealpack-tui-test/failure/Clusterfile",
	}
	if f == nil {
		t.Fatal("no failure recorded")
	}
	if got := *f; got.Host != want.Host || got.Step != want.Step || got.Message != want.Message || got.Resume != want.Resume || got.Stopped {
		t.Errorf("failure = %+v, want %+v", got, *want)
	}
	if n := len(f.Log); n == 0 || f.Log[n-1] != "error execution phase wait-control-plane: could not initialize a Kubernetes cluster" {
		t.Errorf("log excerpt = %q", f.Log)
	}
	// r resumes from the wizard: the Engine runs again and completes.
	eng.install = script{}.run
	w.typ("r")
	w.waitText("Done")
	if n := len(eng.installs); n != 2 {
		t.Errorf("Install ran %d times, want 2", n)
	}
}

func TestInstallStop(t *testing.T) {
	gate := make(chan struct{}) // never opened: the install waits until stopped
	eng := &fakeEngine{install: script{gate: gate}.run}
	dir := fixedDir(t, "stop")
	w := toReview(t, Options{Engine: eng, SavePath: dir + "/Clusterfile", Command: "./acme-3.1.4.run"})
	w.enter()
	w.waitText("[kubeconfig] Writing")
	w.key(tea.KeyCtrlC)
	t.Run("ask", func(t *testing.T) {
		w.golden(t, w.waitText("Stop the install?"))
	})
	w.typ("n")
	w.waitFor("the question to go", func(s string) bool { return !strings.Contains(s, "Stop the install?") })
	w.key(tea.KeyCtrlC)
	w.waitText("Stop the install?")
	w.typ("y")
	t.Run("stopped", func(t *testing.T) {
		w.golden(t, w.waitText("Stopped"))
	})
	w.enter()
	res := w.tm.FinalModel(t, finalTimeout).(probe).m.result()
	if res.Installed || !res.Quit || res.Failure == nil || !res.Failure.Stopped || res.Failure.Step != event.InitMaster0 {
		t.Errorf("result = %+v, failure %+v", res, res.Failure)
	}
	if want := "./acme-3.1.4.run --unattended -f /tmp/sealpack-tui-test/stop/Clusterfile"; res.Failure.Resume != want {
		t.Errorf("resume = %q, want %q", res.Failure.Resume, want)
	}
}

// TestInstallCallerCancels: the caller's ctx ending (SIGTERM) stops the
// install safely too, without a question.
func TestInstallCallerCancels(t *testing.T) {
	gate := make(chan struct{})
	eng := &fakeEngine{install: script{gate: gate}.run}
	w := toReview(t, Options{Engine: eng})
	w.enter()
	w.waitText("[kubeconfig] Writing")
	w.cancel()
	res := w.tm.FinalModel(t, finalTimeout).(probe).m.result()
	if f := res.Failure; f == nil || !f.Stopped || !res.Quit || res.Installed {
		t.Errorf("result = %+v, failure = %+v", res, f)
	}
	if s := w.m.summary(); !strings.Contains(s, "The install was stopped during init-master0") {
		t.Errorf("summary left in the terminal:\n%s", s)
	}
}

func TestQuit(t *testing.T) {
	w := toHosts(t, Options{})
	w.key(tea.KeyCtrlC)
	t.Run("ask", func(t *testing.T) {
		w.golden(t, w.waitText("Quit the installer?"))
	})
	w.key(tea.KeyEsc)
	w.waitFor("the question to go", func(s string) bool { return !strings.Contains(s, "Quit the installer?") })
	w.typ("y") // without the question, y is typed into the input
	w.waitFor("y typed", func(s string) bool { return strings.Contains(s, "› y") })
	w.key(tea.KeyCtrlC)
	w.waitText("Quit the installer?")
	w.typ("y")
	res := w.tm.FinalModel(t, finalTimeout).(probe).m.result()
	if !res.Quit || res.Installed || res.Cluster != nil || res.Failure != nil {
		t.Errorf("result = %+v", res)
	}
}

func TestResize(t *testing.T) {
	w := toHosts(t, Options{}, 120, 40)
	w.typ("10.0.0.11")
	w.enter()
	t.Run("wide", func(t *testing.T) {
		w.golden(t, w.waitText("10.0.0.11"))
	})
	w.tm.Send(tea.WindowSizeMsg{Width: 80, Height: 24})
	w.waitFor("80x24", func(s string) bool { return len(strings.Split(s, "\n")) == 24 })
	t.Run("narrow", func(t *testing.T) {
		w.golden(t, w.snap())
	})
}

func TestFailureDetails(t *testing.T) {
	s := newInstallScreen(&env{st: plainStyles(), keys: newKeyMap(), now: newFakeClock().Now, opts: &Options{Info: testInfo()}}, testCluster(3))
	s.apply(event.Event{Type: event.PhaseStart, Phase: event.Distribute, Total: 3})
	s.apply(event.Event{Type: event.Log, Host: "", Message: "registry: listening on 10.0.0.1:5000"})
	s.stopping = true
	f := s.failure(context.Canceled, "cmd")
	want := &Failure{Step: event.Distribute, Message: "stopped by the user", Log: []string{"registry: listening on 10.0.0.1:5000"}, Resume: "cmd", Stopped: true}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("failure = %+v, want %+v", f, want)
	}
	if f := s.failure(nil, "cmd"); f != nil {
		t.Errorf("a completed install has a failure: %+v", f)
	}
	s.stopping = false
	if f := s.failure(errors.New("boom"), "cmd"); f.Message != "boom" || f.Stopped {
		t.Errorf("failure = %+v", f)
	}
}

// TestInstallPreflightFails: the install's own preflight reports every
// problem in one multi-line error; rows stay one line and the resume
// command stays on the screen.
func TestInstallPreflightFails(t *testing.T) {
	eng := &fakeEngine{install: func(ctx context.Context, c *clusterfile.Cluster, e *emitter) error {
		e.emit(event.Event{Type: event.PhaseStart, Phase: event.Preflight, Total: 3})
		var lines []string
		for i := range 12 {
			ip := fmt.Sprintf("10.0.0.%d", 11+i%3)
			e.emit(event.Event{Type: event.Check, Phase: event.Preflight, Host: ip, Check: "disk", Status: event.Fail, Message: "1.2 GiB free under /var/lib, 2.5 GiB needed"})
			lines = append(lines, fmt.Sprintf("host %s: disk %d: 1.2 GiB free under /var/lib, 2.5 GiB needed", ip, i))
		}
		msg := "12 problem(s), nothing was changed on any host:\n" + strings.Join(lines, "\n")
		e.after(3*time.Second, event.Event{Type: event.PhaseFail, Phase: event.Preflight, Message: msg})
		return errors.New("preflight: " + msg)
	}}
	dir := fixedDir(t, "preflight-fails")
	w := toReview(t, Options{Engine: eng, SavePath: dir + "/Clusterfile"})
	w.enter()
	t.Run("failed", func(t *testing.T) {
		w.golden(t, w.waitText("Install failed"))
	})
	f := w.m.res.Failure
	if f == nil || f.Step != event.Preflight || f.Host != "" {
		t.Fatalf("failure = %+v", f)
	}
	// Left in the terminal, the command is whole, on one line.
	if s := w.m.summary(); !strings.Contains(s, "\n   "+f.Resume+"\n") || !strings.Contains(s, "host 10.0.0.13: disk 11") {
		t.Errorf("summary:\n%s", s)
	}
}

// TestDensity50Hosts shows the install and preflight screens of a 50-host
// cluster at 80x24.
func TestDensity50Hosts(t *testing.T) {
	for _, st := range []state{statePreflight, stateInstall} {
		m := busyModel(t, st)
		name := map[state]string{statePreflight: "preflight", stateInstall: "install"}[st]
		t.Run(name, func(t *testing.T) {
			frame := m.render()
			checkFits(t, frame, 80, 24)
			teatest.RequireEqualOutput(t, []byte(frame+"\n"))
		})
	}
}

// The distribute row counts hosts, although its phase's Total counts the
// bytes to move (seen: "0/138712082 hosts").
func TestDistributeRowCountsHosts(t *testing.T) {
	s := newInstallScreen(&env{st: plainStyles(), keys: newKeyMap(), now: newFakeClock().Now, opts: &Options{Info: testInfo()}}, testCluster(3))
	s.apply(event.Event{Type: event.PhaseStart, Phase: event.Distribute, Total: 138712082})
	s.apply(event.Event{Type: event.HostDone, Phase: event.Distribute, Host: s.hosts[0].ip})
	v := s.view(100, 30)
	if strings.Contains(v, "138712082") || !strings.Contains(v, "1/3 hosts") {
		t.Errorf("the distribute row:\n%s", v)
	}
}

// TestInstallOwnLines: the lines of the installer itself (events no host
// sent) have a row that says where they come from (seen: an unexplained
// "installer installer" row).
func TestInstallOwnLines(t *testing.T) {
	s := newInstallScreen(&env{st: plainStyles(), keys: newKeyMap(), now: newFakeClock().Now, opts: &Options{Info: testInfo()}}, testCluster(3))
	s.apply(event.Event{Type: event.PhaseStart, Phase: event.Registry, Total: 3})
	s.apply(event.Event{Type: event.Log, Phase: event.Registry, Host: "", Message: "registry: listening on 10.0.0.1:5000"})
	v := s.view(100, 30)
	if strings.Contains(v, "installer installer") || strings.Contains(v, "installer  ") {
		t.Errorf("a row names the installer twice:\n%s", v)
	}
	var row string
	for _, l := range strings.Split(v, "\n") {
		if strings.Contains(l, thisMachine) && !strings.Contains(l, "──") {
			row = l
		}
	}
	if !strings.Contains(row, "registry") || !strings.Contains(row, "registry: listening on 10.0.0.1:5000") {
		t.Errorf("the installer's row %q does not show its phase and last line:\n%s", row, v)
	}
	s.sel = len(s.hosts) - 1
	s.openLogs()
	if left, right := s.title(); left != "Log of this machine" || !strings.Contains(right, "the installer's own lines · 1 line") {
		t.Errorf("log title %q, %q", left, right)
	}
}

// TestUpgradeRowOnANewCluster: on a new cluster upgrade-kubernetes starts
// over every host and ends with nothing done; its row says that, not
// "0/3 hosts".
func TestUpgradeRowOnANewCluster(t *testing.T) {
	s := newInstallScreen(&env{st: plainStyles(), keys: newKeyMap(), now: newFakeClock().Now, opts: &Options{Info: testInfo()}}, testCluster(3))
	if v := s.view(100, 30); !strings.Contains(v, "upgrade-kubernetes on upgrades") {
		t.Errorf("the pending row:\n%s", v)
	}
	s.apply(event.Event{Type: event.PhaseStart, Phase: event.UpgradeKubernetes, Total: 3})
	s.apply(event.Event{Type: event.PhaseDone, Phase: event.UpgradeKubernetes})
	v := s.view(100, 30)
	if strings.Contains(v, "0/3 hosts") || !strings.Contains(v, "upgrade-kubernetes nothing to upgrade") {
		t.Errorf("the row of an upgrade that had nothing to do:\n%s", v)
	}
}
