package deployer_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/internal/fakek8stest"
	"github.com/sealpack/sealpack/internal/shell"
	"github.com/sealpack/sealpack/internal/testhost"
	"github.com/sealpack/sealpack/internal/testreq"
	"github.com/sealpack/sealpack/payload"
	gossh "golang.org/x/crypto/ssh"
)

// newKeyFile writes a fresh ed25519 private key (OpenSSH PEM) into dir and
// returns its path and its authorized_keys line.
func newKeyFile(t testing.TB, dir string) (path, authorized string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "sealpack-e2e")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, string(gossh.MarshalAuthorizedKey(signer.PublicKey()))
}

// hostsGroup is testhost's name for the tests on real hosts, as it skips
// them.
const hostsGroup = "tests on real sshd hosts"

// needHosts skips t (loudly, see testreq) on a machine that cannot run tests
// on real hosts, as testhost.New does, but before the test builds anything:
// the fake Kubernetes is built with go, which such a machine need not have,
// and a failed build is no reason to fail a test that cannot run there.
func needHosts(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		testreq.Skip(t, hostsGroup, "needs root")
	}
}

// newSiteWith is newSite with another payload.
func newSiteWith(t *testing.T, n int, p *payload.Reader) *site {
	return &site{t: t, w: testhost.New(t, n, testhost.Options{}), p: p, dir: t.TempDir()}
}

// allCalls parses what the fake Kubernetes recorded on host i. A host's
// filesystem is an overlay of the jump host's: calls recorded on the jump
// host itself (a demo run) show through and are left out.
func (s *site) allCalls(i int) []fakek8stest.Call {
	s.t.Helper()
	calls, err := fakek8stest.ParseCalls(strings.NewReader(s.calls(i)))
	if err != nil {
		s.t.Fatal(err)
	}
	var out []fakek8stest.Call
	for _, c := range calls {
		if c.Host == s.w.Hosts[i].Name {
			out = append(out, c)
		}
	}
	return out
}

// eventsOf returns the events recorded so far that match keep.
func (s *site) eventsOf(keep func(event.Event) bool) []event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []event.Event
	for _, e := range s.events {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

func (s *site) resetEvents() {
	s.mu.Lock()
	s.events = nil
	s.mu.Unlock()
}

// node is what the tests read of a Node object.
type node struct {
	Metadata struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Taints []struct {
			Key    string `json:"key"`
			Value  string `json:"value"`
			Effect string `json:"effect"`
		} `json:"taints"`
	} `json:"spec"`
	Status struct {
		Addresses []struct {
			Type    string `json:"type"`
			Address string `json:"address"`
		} `json:"addresses"`
		Conditions []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"conditions"`
	} `json:"status"`
}

func nodeIsReady(n node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == "Ready" {
			return c.Status == "True"
		}
	}
	return false
}

// nodes lists the cluster's nodes by InternalIP, asked on master (host 0
// unless given), as a user would: kubectl with the admin kubeconfig.
func (s *site) nodes(master int) map[string]node {
	s.t.Helper()
	out, err := s.w.Hosts[master].Exec(context.Background(), "KUBECONFIG=/etc/kubernetes/admin.conf kubectl get nodes -o json")
	if err != nil {
		s.t.Fatalf("kubectl get nodes: %v", err)
	}
	var list struct{ Items []node }
	if err := json.Unmarshal(out, &list); err != nil {
		s.t.Fatalf("kubectl get nodes: %v\n%s", err, out)
	}
	byIP := map[string]node{}
	for _, n := range list.Items {
		for _, a := range n.Status.Addresses {
			if a.Type == "InternalIP" {
				byIP[a.Address] = n
			}
		}
	}
	return byIP
}

// procSampler records every command line that runs on a host, as ps would
// show it to any user there, until stop is called.
type procSampler struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// sampleProcs starts reading /proc/*/cmdline on h every few milliseconds.
// A short command can run between two rounds, the more so on a busy
// machine: what must be seen running is caught with holdWhileRead.
func sampleProcs(h *testhost.Host) *procSampler {
	ctx, cancel := context.WithCancel(context.Background())
	p := &procSampler{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		// grep prints each cmdline (NUL-separated arguments) as one line:
		// two processes per round, however many run on the host.
		h.Exec(ctx, `: > /tmp/spk-ps
while :; do
  grep -a -h '' /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' ' ' >> /tmp/spk-ps
  sleep 0.02
done`)
	}()
	return p
}

// stop ends sampling and returns the distinct command lines seen.
func (p *procSampler) stop(h *testhost.Host) []string {
	p.cancel()
	<-p.done
	// The sampler was killed with its process group: read what it wrote.
	out, _ := h.Exec(context.Background(), "sort -u /tmp/spk-ps; rm -f /tmp/spk-ps")
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// heldCommand is a command of the fake Kubernetes caught at a gate on a
// host, with every command line of the host read while it waited there.
type heldCommand struct {
	h      *testhost.Host
	prefix string
	cancel context.CancelFunc
	done   chan struct{}
	out    []byte
	err    error
}

// holdGate is where holdWhileRead's gate is on a host.
const holdGate = "/var/lib/spk-hold-gate"

// holdWhileRead makes the first command on h that starts with prefix
// ("kubeadm join") wait at a gate (the fake's FAKEK8S_HOLD); once it is
// there, every command line on h is read, as ps would show them to any user,
// and then the gate opens. No sampling: the command and what started it
// (sudo, the shells) are running while they are read, however slow the
// machine. The host does the waiting itself; call result after the run.
func holdWhileRead(t *testing.T, h *testhost.Host, prefix string) *heldCommand {
	t.Helper()
	ctx := context.Background()
	knob := "FAKEK8S_HOLD=" + prefix + "=" + holdGate
	if out, err := h.Exec(ctx, "set -e; mkdir -p /etc/fakek8s; rm -f "+holdGate+".reached; echo "+shell.Quote(knob)+" >> /etc/fakek8s/env; touch "+holdGate); err != nil {
		t.Fatalf("%s: setting the gate for %s: %v: %s", h.Name, prefix, err, out)
	}
	// A deadline in case the run never gets there (result cancels sooner).
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	c := &heldCommand{h: h, prefix: prefix, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		// The fake writes <gate>.reached in one write before it waits: once it
		// is not empty, the command is held. The knob goes before the gate
		// opens, so no later command stops there.
		c.out, c.err = h.Exec(ctx, `g=`+holdGate+`
while [ ! -s $g.reached ]; do sleep 0.02; done
echo "held: $(cat $g.reached)"
grep -a -h '' /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' ' '
sed -i '/^FAKEK8S_HOLD=/d' /etc/fakek8s/env
rm -f $g`)
	}()
	return c
}

// result stops waiting for the command (it may never have come: the run
// ended before it) and returns the held command's line and the command
// lines read while it was held, the held one among them.
func (c *heldCommand) result() (held string, lines []string, err error) {
	c.cancel()
	<-c.done
	first, rest, _ := strings.Cut(string(c.out), "\n")
	held, ok := strings.CutPrefix(first, "held: ")
	if c.err != nil || !ok {
		return "", nil, fmt.Errorf("%s: %s was not caught at its gate (the run ended before it came?): %v", c.h.Name, c.prefix, c.err)
	}
	for _, l := range strings.Split(rest, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	held = strings.TrimSpace(held)
	for _, l := range lines {
		if strings.Contains(l, held) {
			return held, lines, nil
		}
	}
	return held, lines, fmt.Errorf("%s: %q was held, yet none of the %d command lines read meanwhile is its own", c.h.Name, held, len(lines))
}

// upperDir is host h's overlay upper layer on this machine: what the host
// wrote to its root filesystem, and nothing else (the lower layer is this
// machine's /, which other work changes). testhost lays its worlds out as
// /tmp/spk-X/hN for host 10.251.X.(10+N).
func upperDir(t testing.TB, h *testhost.Host) string {
	t.Helper()
	parts := strings.Split(h.IP, ".")
	last, err := strconv.Atoi(parts[3])
	if len(parts) != 4 || err != nil {
		t.Fatalf("unexpected test host address %s", h.IP)
	}
	dir := fmt.Sprintf("/tmp/spk-%s/h%d/upper", parts[2], last-10)
	if _, err := os.Stat(filepath.Join(dir, "etc", "hostname")); err != nil {
		t.Fatalf("host %s: its upper layer is not where testhost puts it: %v", h.Name, err)
	}
	return dir
}

// fsState is a host's written files: path to size, mode and times.
type fsState map[string]string

// snapshot records every file host h has written to its root filesystem.
func snapshot(t testing.TB, h *testhost.Host) fsState {
	t.Helper()
	root := upperDir(t, h)
	st := fsState{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return nil
		}
		var ctime int64
		if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
			ctime = sys.Ctim.Nano()
		}
		st[strings.TrimPrefix(p, root)] = fmt.Sprintf("%v %d %d %d", fi.Mode(), fi.Size(), fi.ModTime().UnixNano(), ctime)
		return nil
	})
	return st
}

// changes lists what differs between two snapshots, leaving out the login
// records that sshd itself writes for every connection.
func changes(before, after fsState) []string {
	sshd := map[string]bool{"/var/log": true, "/var/log/wtmp": true, "/var/log/btmp": true, "/var/log/lastlog": true}
	var out []string
	for p, a := range after {
		if b, ok := before[p]; (!ok || a != b) && !sshd[p] {
			out = append(out, p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			out = append(out, p+" (removed)")
		}
	}
	sort.Strings(out)
	return out
}

// keepDir copies the site's state and logs to $SPK_KEEP when set, to look
// at after a run.
func (s *site) keep() {
	if dst := os.Getenv("SPK_KEEP"); dst != "" {
		os.RemoveAll(dst)
		exec.Command("cp", "-r", s.dir, dst).Run()
	}
}

// parallelHosts runs fn on every host at once.
func parallelHosts(w *testhost.World, fn func(i int, h *testhost.Host)) {
	var wg sync.WaitGroup
	for i, h := range w.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(i, h)
		}()
	}
	wg.Wait()
}
