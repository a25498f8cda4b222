package deployer_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealpack/sealpack/deployer"
	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/internal/testhost"
)

// bigPath is a large incompressible rootfs file that every host receives,
// after the binaries (the rootfs goes in path order).
const bigPath = "etc/big.bin"

// dupContent reports whether a rootfs file before p (in path order, the
// order of the copy) has the same content: p is then duplicated on the
// host, not copied (the fake's kubeadm, kubectl and kubelet are one binary).
func dupContent(s *site, p string) bool {
	f, _ := s.p.File(p)
	for _, g := range s.p.Index().Files {
		if g.Path < p && g.Digest == f.Digest {
			return true
		}
	}
	return false
}

// rxBytes is what h's network interfaces have received so far, as its
// kernel counts it (/proc/net/dev, loopback aside). sshd's own totals are
// not a measure: it logs them only for a connection closed cleanly, not
// for one reset or cut off.
func rxBytes(t *testing.T, h *testhost.Host) int64 {
	t.Helper()
	out, err := h.Exec(context.Background(), "cat /proc/net/dev")
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, line := range strings.Split(string(out), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if f := strings.Fields(rest); ok && strings.TrimSpace(name) != "lo" && len(f) > 0 {
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				t.Fatalf("%s: /proc/net/dev: %q", h.Name, line)
			}
			sum += n
		}
	}
	return sum
}

// waitGone waits up to 5 s until no process matching the pgrep
// arguments runs on h.
func waitGone(t *testing.T, h *testhost.Host, pgrep string) {
	t.Helper()
	if err := h.WaitFor(context.Background(), "! pgrep "+pgrep, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

// waitConnectionsClosed waits until every SSH connection to h has ended
// and sshd has logged how.
func waitConnectionsClosed(t *testing.T, h *testhost.Host) {
	t.Helper()
	if err := h.WaitConnectionsClosed(context.Background(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

// noConfigLeft checks that no kubeadm configuration (they hold the
// bootstrap token) is left on h.
func noConfigLeft(t *testing.T, h *testhost.Host) {
	t.Helper()
	out, err := h.Exec(context.Background(), "ls /var/lib/sealpack/ | grep yaml || true")
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("%s: configuration files left in /var/lib/sealpack: %s", h.Name, s)
	}
}

func atoi(b []byte) int {
	n, _ := strconv.Atoi(string(b))
	return n
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKillDuringDistributeThenRerun stops the installer in the middle of
// copying a 50 MB file (as a kill would: the context ends, nothing is
// cleaned up), then runs it again: it completes, the files already copied
// are not copied again, the half-copied one goes on from its .part, and
// kubeadm init and join run once.
func TestKillDuringDistributeThenRerun(t *testing.T) {
	needHosts(t) // before 50 MB of payload are made
	s := newSiteWith(t, 2, testPayloadWith(t, payloadSpec{files: map[string][]byte{bigPath: randomBytes(t, 50<<20)}}))
	c := s.cluster(twoHostCluster)
	// Bytes of the files before the big one, which every host gets first.
	var before int64
	for _, f := range s.p.Index().Files {
		if f.Path < bigPath && (strings.HasPrefix(f.Path, "bin/") || strings.HasPrefix(f.Path, "etc/")) {
			before += f.Size
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := s.opts()
	sink := opts.Sink
	var once sync.Once
	opts.Sink = func(e event.Event) {
		sink(e)
		// 20 MB into the big file on any host: stop.
		if e.Type == event.Progress && e.Done > before+20<<20 {
			once.Do(cancel)
		}
	}
	err := deployer.Apply(ctx, c, opts)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "distribute") {
		t.Fatalf("err = %v, want distribute stopped by the cancel", err)
	}
	// The hosts' SFTP servers write what they had received before the
	// connection went away: wait until they, and sshd's process for each
	// connection (sshd is the host's PID 1), are gone, so that nothing of
	// the stopped run arrives after the count below.
	for _, h := range s.w.Hosts {
		waitGone(t, h, "-x sftp-server")
		waitConnectionsClosed(t, h)
	}
	// What the stop left behind, host by host: files in place, .part files.
	inPlace := make([]int, len(s.w.Hosts))
	placed := make([]map[string]bool, len(s.w.Hosts)) // digests in place
	parts := make([]map[string]int64, len(s.w.Hosts))
	for i, h := range s.w.Hosts {
		out, err := h.Exec(context.Background(), "cd "+deployer.RootfsDir+" && sha256sum $(find . -type f ! -name '*.part') 2>/dev/null; find . -name '*.part' -printf 'part %P %s\\n'")
		if err != nil {
			t.Fatal(err)
		}
		parts[i], placed[i] = map[string]int64{}, map[string]bool{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) == 3 && f[0] == "part":
				parts[i][strings.TrimSuffix(f[1], ".part")], _ = strconv.ParseInt(f[2], 10, 64)
			case len(f) == 2:
				if pf, ok := s.p.File(strings.TrimPrefix(f[1], "./")); ok && pf.Digest == "sha256:"+f[0] {
					inPlace[i]++
					placed[i][pf.Digest] = true
				}
			}
		}
		t.Logf("host %d after the stop: %d files in place, partial copies %v", i, inPlace[i], parts[i])
	}
	if len(parts[0])+len(parts[1]) == 0 {
		t.Fatal("the stop left no partial copy on any host: the test proves nothing")
	}
	if s.count(0, "kubeadm", "init") != 0 {
		t.Fatal("kubeadm init ran although distribute was stopped")
	}

	s.resetEvents()
	var rx0 []int64
	for _, h := range s.w.Hosts {
		rx0 = append(rx0, rxBytes(t, h))
	}
	if err := deployer.Apply(context.Background(), c, s.opts()); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	s.keep()
	if s.count(0, "kubeadm", "init") != 1 || s.count(1, "kubeadm", "join") != 1 {
		t.Errorf("init ran %d times, join %d times; want 1 and 1", s.count(0, "kubeadm", "init"), s.count(1, "kubeadm", "join"))
	}
	copiedRE := regexp.MustCompile(`(\d+) of (\d+) files copied`)
	big, _ := s.p.File(bigPath)
	for i, h := range s.w.Hosts {
		log, _ := os.ReadFile(filepath.Join(s.dir, ".sealpack", "logs", h.IP+".log"))
		for p, size := range parts[i] {
			if dupContent(s, p) || size == 0 {
				continue // copied from its twin on the host, or nothing to resume
			}
			m := regexp.MustCompile(regexp.QuoteMeta(p) + `: resumed an interrupted copy at byte (\d+) of`).FindSubmatch(log)
			if m == nil {
				t.Errorf("host %d: the copy of %s did not resume from its .part of %d bytes", i, p, size)
			} else if at, _ := strconv.ParseInt(string(m[1]), 10, 64); at != size {
				t.Errorf("host %d: %s resumed at byte %d, the .part had %d", i, p, at, size)
			}
		}
		// The re-run copied exactly the files that were not in place.
		ms := copiedRE.FindAllSubmatch(log, -1)
		if len(ms) == 0 {
			t.Errorf("host %d: no record of the files copied", i)
		} else if last := ms[len(ms)-1]; string(last[1]) != strconv.Itoa(atoi(last[2])-inPlace[i]) {
			t.Errorf("host %d: the re-run copied %s of %s files, but %d were in place", i, last[1], last[2], inPlace[i])
		}
		// What crossed the network in the re-run, as the host counted
		// it: the bytes missing, not the whole files again. A content the
		// host has (in place, or twice in the rootfs) is not sent.
		var need int64
		seen := map[string]bool{}
		for _, f := range s.p.Index().Files {
			inHost := i == 0 || strings.HasPrefix(f.Path, "bin/") || strings.HasPrefix(f.Path, "etc/") || strings.HasPrefix(f.Path, "scripts/")
			if f.Type == "file" && inHost && !seen[f.Digest] && !placed[i][f.Digest] {
				seen[f.Digest] = true
				need += f.Size
			}
		}
		for p, size := range parts[i] {
			if !dupContent(s, p) {
				need -= size
			}
		}
		// Headers and the kubelet's heartbeats come on top: 5% and 1 MiB
		// at most, less than re-sending what the .part files held.
		if got := rxBytes(t, h) - rx0[i]; got < need || got > need+need/20+1<<20 {
			t.Errorf("host %d: received %d bytes in the re-run, %d were missing", i, got, need)
		} else {
			t.Logf("host %d: received %d bytes in the re-run, %d were missing", i, got, need)
		}
		out, err := h.Exec(context.Background(), "sha256sum < "+deployer.RootfsDir+"/"+bigPath+"; ls "+deployer.RootfsDir+"/etc")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Fields(string(out)); len(got) == 0 || "sha256:"+got[0] != big.Digest {
			t.Errorf("host %d: %s has sha256 %v, want %s", i, bigPath, got, big.Digest)
		}
		if strings.Contains(string(out), ".part") {
			t.Errorf("host %d: a .part file was left: %s", i, out)
		}
	}
}

// TestJoinRetriedAfterHalfDoneAttempt: a kubeadm join that failed half-way
// (the kubelet never came up: kubeadm wrote its files and gave up) leaves
// the node in a state that a second kubeadm join refuses; the re-run cleans
// it with kubeadm reset first and joins.
func TestJoinRetriedAfterHalfDoneAttempt(t *testing.T) {
	s := newSite(t, 2)
	ctx := context.Background()
	node := s.w.Hosts[1]
	// The node's kubelet cannot start (a bad setting), and kubeadm
	// waits for it 2 seconds.
	if _, err := node.Exec(ctx, "mkdir -p /etc/fakek8s && printf 'FAKEK8S_HEARTBEAT=bogus\\nFAKEK8S_WAIT_TIMEOUT=2s\\n' > /etc/fakek8s/env"); err != nil {
		t.Fatal(err)
	}
	c := s.cluster(twoHostCluster)
	err := deployer.Apply(ctx, c, s.opts())
	if err == nil || !strings.Contains(err.Error(), "join-nodes") || !strings.Contains(err.Error(), node.IP) {
		t.Fatalf("err = %v, want the join of %s to fail", err, node.IP)
	}
	t.Logf("first run failed as expected: %v", err)
	if _, err := node.Exec(ctx, "rm /etc/fakek8s/env"); err != nil {
		t.Fatal(err)
	}
	err = deployer.Apply(ctx, c, s.opts())
	s.keep()
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	// Each attempt reads its own config file.
	var lines []string
	configs := map[string]bool{}
	cfgRE := regexp.MustCompile(`/var/lib/sealpack/kubeadm-join\.[0-9a-f]{12}\.yaml`)
	for _, call := range s.allCalls(1) {
		if call.Command == "kubeadm" {
			for _, c := range cfgRE.FindAllString(call.Line(), -1) {
				configs[c] = true
			}
			lines = append(lines, cfgRE.ReplaceAllString(call.Line(), "CONFIG"))
		}
	}
	want := []string{"kubeadm join --config CONFIG", "kubeadm reset -f", "kubeadm join --config CONFIG"}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") || len(configs) != 2 {
		t.Errorf("kubeadm on the node ran:\n%s\nwant:\n%s\nwith two config files, got %v", strings.Join(lines, "\n"), strings.Join(want, "\n"), configs)
	}
	noConfigLeft(t, node)
	if n := s.nodes(0); len(n) != 2 {
		t.Errorf("the cluster has %d nodes, want 2", len(n))
	}
}

// TestRejoinAfterJoinKilledOnceRegistered: a kubeadm join killed after its
// kubelet registered the node (the installer was killed, or the host
// rebooted, at the end of the join) leaves a Ready Node behind, and kubeadm
// join refuses to join a node of that name again while it is Ready. The
// re-run resets the host, removes the Node and joins.
func TestRejoinAfterJoinKilledOnceRegistered(t *testing.T) {
	s := newSite(t, 2)
	ctx := context.Background()
	node := s.w.Hosts[1]
	c := s.cluster(twoHostCluster)
	if err := deployer.Apply(ctx, c, s.opts()); err != nil {
		t.Fatal(err)
	}
	// The state a kill at the end of the join leaves: on the host, an
	// attempt without its done marker (its kubelet runs, the Node is
	// Ready); on the jump host, no record of the join.
	if _, err := node.Exec(ctx, "cd /var/lib/sealpack && rm kubeadm-join.done && echo 999999 > kubeadm-join.pid && echo 137 > kubeadm-join.rc"); err != nil {
		t.Fatal(err)
	}
	if n, ok := s.nodes(0)[node.IP]; !ok || !nodeIsReady(n) {
		t.Fatalf("the node is not Ready before the re-run: %+v", n)
	}
	forgetStep(t, filepath.Join(s.dir, ".sealpack", "state.json"), event.JoinNodes+"/"+node.IP)

	err := deployer.Apply(ctx, c, s.opts())
	s.keep()
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	var lines []string
	for _, call := range s.allCalls(1) {
		if call.Command == "kubeadm" {
			lines = append(lines, regexp.MustCompile(`--config \S+`).ReplaceAllString(call.Line(), "--config CONFIG"))
		}
	}
	want := "kubeadm join --config CONFIG\nkubeadm reset -f\nkubeadm join --config CONFIG"
	if got := strings.Join(lines, "\n"); got != want {
		t.Errorf("kubeadm on the node ran:\n%s\nwant:\n%s", got, want)
	}
	log, _ := os.ReadFile(filepath.Join(s.dir, ".sealpack", "logs", node.IP+".log"))
	if !strings.Contains(string(log), "removing node "+node.Name+", left by the half-done join") {
		t.Errorf("the node's log does not say the stale Node was removed:\n%s", log)
	}
	if n := s.nodes(0); len(n) != 2 {
		t.Errorf("the cluster has %d nodes, want 2", len(n))
	}
	noConfigLeft(t, node)
}

// forgetStep removes a step's record from a deployer state file, as if the
// run had been killed before recording it.
func forgetStep(t *testing.T, path, step string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	steps, _ := st["steps"].(map[string]any)
	if _, ok := steps[step]; !ok {
		t.Fatalf("%s has no step %s", path, step)
	}
	delete(steps, step)
	if b, err = json.Marshal(st); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
