package tui

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
)

const testFingerprint = "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"

// toPreflight fills hosts and SSH and submits; the preflight starts.
func toPreflight(t *testing.T, opts Options, size ...int) *wizard {
	t.Helper()
	w := toSSH(t, opts, size...)
	w.enter() // -> log in with
	w.enter() // -> password
	w.typ("s3cret")
	w.enter() // -> port
	w.enter() // -> bastion
	w.enter() // submit
	w.waitText("Preflight checks")
	return w
}

func TestPreflight(t *testing.T) {
	var keyAccepted, swapFixed atomic.Bool
	eng := &fakeEngine{}
	eng.preflight = func(ctx context.Context, c *clusterfile.Cluster, e *emitter) error {
		var problems []error
		e.checks("10.0.0.11", nil)
		e.clock.Advance(2 * time.Second)
		if keyAccepted.Load() {
			e.checks("10.0.0.12", nil)
		} else {
			// As the deployer reports it, through the installer's wizardSink.
			e.checks("10.0.0.12", map[string]event.Event{"connect": {Check: "hostkey", Status: event.Fail,
				Message: "unknown ECDSA host key " + testFingerprint}})
			problems = append(problems, errors.New("host 10.0.0.12: connect"))
		}
		if swapFixed.Load() {
			e.checks("10.0.0.13", nil)
		} else {
			e.checks("10.0.0.13", map[string]event.Event{
				"swap":   fail("swap is on: the kubelet refuses to start (swapoff -a, and remove it from /etc/fstab)"),
				"memory": {Status: event.Warn, Message: "1800 MiB: enough for a node, tight for apps"},
			})
			problems = append(problems, errors.New("host 10.0.0.13: swap"))
		}
		if len(problems) > 0 {
			return errors.Join(problems...)
		}
		return nil
	}
	w := toPreflight(t, Options{Engine: eng})
	w.waitText("hosts need a fix")
	w.key(tea.KeyDown)
	t.Run("new-host-key", func(t *testing.T) {
		w.golden(t, w.waitText("New ECDSA host key"))
	})
	w.key(tea.KeyDown)
	t.Run("swap", func(t *testing.T) {
		w.golden(t, w.waitText("› ✗ 10.0.0.13"))
	})
	// Enter does not go on while a host fails.
	w.enter()
	if s := w.snap(); !strings.Contains(s, "Preflight checks") {
		t.Fatalf("went on past a failed preflight:\n%s", s)
	}
	keyAccepted.Store(true)
	// On a host without a new key, a goes to the one that has it: the key
	// accepted is always the one on the screen.
	w.typ("a")
	w.waitText("› ✗ 10.0.0.12")
	if n := len(eng.acceptedKeys()); n != 0 {
		t.Errorf("a on a host without a new key accepted %d keys", n)
	}
	w.typ("a")
	w.waitFor("the re-check after accepting", func(s string) bool {
		return strings.Contains(s, "1 host needs a fix")
	})
	if got, want := eng.acceptedKeys(), []map[string]string{{"10.0.0.12": testFingerprint}}; !reflect.DeepEqual(got, want) {
		t.Errorf("AcceptHostKeys got %v, want %v", got, want)
	}
	swapFixed.Store(true)
	w.typ("r")
	t.Run("passed", func(t *testing.T) {
		w.golden(t, w.waitText("all hosts passed"))
	})
	if n := len(eng.preflights); n != 3 {
		t.Errorf("Preflight ran %d times, want 3", n)
	}
	w.enter()
	w.waitText("Review")
}

func TestPreflightFixHost(t *testing.T) {
	eng := &fakeEngine{}
	eng.preflight = func(ctx context.Context, c *clusterfile.Cluster, e *emitter) error {
		var err error
		for _, h := range c.Hosts() {
			if h.IP == "10.0.0.13" {
				e.checks(h.IP, map[string]event.Event{"connect": fail("host 10.0.0.13: dial tcp 10.0.0.13:22: connect: no route to host")})
				err = errors.New("host 10.0.0.13: connect")
				continue
			}
			e.checks(h.IP, nil)
		}
		return err
	}
	w := toPreflight(t, Options{Engine: eng})
	w.waitText("1 host needs a fix")
	w.key(tea.KeyDown)
	w.key(tea.KeyDown)
	t.Run("unreachable", func(t *testing.T) {
		w.golden(t, w.waitText("no route to host"))
	})
	w.typ("e")
	w.waitText("Edit row 3")
	w.key(tea.KeyCtrlU)
	w.typ("10.0.0.14")
	w.enter()
	w.enter() // empty input: on to SSH, which kept its values
	w.waitText("SSH login")
	for range 5 {
		w.enter()
	}
	w.waitText("all hosts passed")
	var got []string
	for _, h := range eng.preflights[len(eng.preflights)-1].Hosts() {
		got = append(got, h.IP)
	}
	if want := []string{"10.0.0.11", "10.0.0.12", "10.0.0.14"}; !reflect.DeepEqual(got, want) {
		t.Errorf("re-checked hosts %v, want %v", got, want)
	}
}

// TestPreflightLeaveWhileRunning: going back cancels the running checks.
func TestPreflightLeaveWhileRunning(t *testing.T) {
	cancelled := make(chan struct{})
	eng := &fakeEngine{}
	eng.preflight = func(ctx context.Context, c *clusterfile.Cluster, e *emitter) error {
		e.checks("10.0.0.11", nil)
		<-ctx.Done()
		close(cancelled)
		return ctx.Err()
	}
	w := toPreflight(t, Options{Engine: eng})
	t.Run("running", func(t *testing.T) {
		w.golden(t, w.waitText("✓ ports"))
	})
	w.key(tea.KeyEsc)
	w.waitText("SSH login")
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the running preflight was not cancelled")
	}
}

func TestNewKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    checkResult
		want string
	}{
		{"deployer unknown key", checkResult{name: "connect", status: event.Fail, msg: "host h: unknown host key " + testFingerprint + ": pass --accept-new-host-keys"}, testFingerprint},
		{"host-key warning", checkResult{name: "host-key", status: event.Warn, msg: "new ED25519 key " + testFingerprint}, testFingerprint},
		{"changed key", checkResult{name: "connect", status: event.Fail, msg: "host h: HOST KEY CHANGED: known SHA256:aaaa, now offered " + testFingerprint}, ""},
		{"changed, host-key check", checkResult{name: "host-key", status: event.Warn, msg: "key changed: " + testFingerprint}, ""},
		{"ok", checkResult{name: "host-key", status: event.OK, msg: testFingerprint}, ""},
		{"no fingerprint", checkResult{name: "connect", status: event.Fail, msg: "unknown host key"}, ""},
		{"typed unknown key", checkResult{name: "hostkey", status: event.Fail, msg: "unknown RSA host key " + testFingerprint}, testFingerprint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &pfHost{}
			h.set(tc.c)
			if got := h.newKey(); got != tc.want {
				t.Errorf("newKey() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestPreflightAcceptEachKey: with three new host keys, a accepts the one on
// the screen and shows the next host's, so that no key is trusted unseen
// (seen: a accepted the keys of all three hosts after showing one); the
// re-check runs once every key is decided. Each fingerprint is compared
// with the file of its own key type.
func TestPreflightAcceptEachKey(t *testing.T) {
	keys := []struct{ ip, typ, fp, file string }{
		{"10.0.0.11", "ED25519", "SHA256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "/etc/ssh/ssh_host_ed25519_key.pub"},
		{"10.0.0.12", "ECDSA", "SHA256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "/etc/ssh/ssh_host_ecdsa_key.pub"},
		{"10.0.0.13", "RSA", "SHA256:ccccccccccccccccccccccccccccccccccccccccccc", "/etc/ssh/ssh_host_rsa_key.pub"},
	}
	var accepted atomic.Bool
	eng := &fakeEngine{}
	eng.preflight = func(ctx context.Context, c *clusterfile.Cluster, e *emitter) error {
		if accepted.Load() {
			return allPass(c, e)
		}
		for _, k := range keys {
			e.checks(k.ip, map[string]event.Event{"connect": {Check: "hostkey", Status: event.Fail,
				Message: "unknown " + k.typ + " host key " + k.fp}})
		}
		return errors.New("3 problem(s)")
	}
	w := toPreflight(t, Options{Engine: eng})
	w.waitText("3 hosts need a fix")
	for i, k := range keys {
		scr := w.waitText("── " + k.ip)
		for _, want := range []string{"New " + k.typ + " host key: " + k.fp, "ssh-keygen -lf " + k.file + " run on", "a accept key"} {
			if !strings.Contains(scr, want) {
				t.Errorf("host %s: the screen does not show %q:\n%s", k.ip, want, scr)
			}
		}
		if i == len(keys)-1 {
			accepted.Store(true)
		}
		w.typ("a")
		if i < len(keys)-1 {
			w.waitText("── " + keys[i+1].ip)
			if n := len(eng.preflights); n != 1 {
				t.Errorf("preflight re-ran after %d of %d keys", i+1, len(keys))
			}
		}
	}
	w.waitText("all hosts passed")
	got := eng.acceptedKeys()
	want := map[string]string{}
	for i, k := range keys {
		want[k.ip] = k.fp
		if i >= len(got) {
			t.Fatalf("AcceptHostKeys called %d times, want %d", len(got), len(keys))
		}
		if len(got[i]) != i+1 || got[i][k.ip] != k.fp {
			t.Errorf("call %d accepted %v, want the keys shown so far", i+1, got[i])
		}
	}
	if !reflect.DeepEqual(got[len(got)-1], want) {
		t.Errorf("last accepted %v, want %v", got[len(got)-1], want)
	}
	if n := len(eng.preflights); n != 2 {
		t.Errorf("Preflight ran %d times, want 2", n)
	}
}

// TestPreflightAuthColumn: a refused login shows under auth, not under net
// (seen: an authentication failure under the net column); the hosts that
// logged in pass it.
func TestPreflightAuthColumn(t *testing.T) {
	eng := &fakeEngine{}
	eng.preflight = func(ctx context.Context, c *clusterfile.Cluster, e *emitter) error {
		e.checks("10.0.0.11", nil)
		e.checks("10.0.0.12", map[string]event.Event{"connect": {Check: "auth", Status: event.Fail,
			Message: "authentication failed as root (tried password)"}})
		e.checks("10.0.0.13", nil)
		return errors.New("host 10.0.0.12: auth")
	}
	w := toPreflight(t, Options{Engine: eng})
	w.waitText("1 host needs a fix")
	w.key(tea.KeyDown)
	scr := w.waitText("── 10.0.0.12")
	t.Run("auth", func(t *testing.T) {
		w.golden(t, scr)
	})
	lines := strings.Split(scr, "\n")
	var head, row string
	for _, l := range lines {
		if strings.Contains(l, "host ") && strings.Contains(l, "net") {
			head = l
		}
		if strings.Contains(l, "✗ 10.0.0.12") {
			row = l
		}
	}
	// The header is plain ASCII up to the columns, the row is not: compare
	// by the cells' order instead of byte offsets.
	fields := strings.Fields(row)
	heads := strings.Fields(head)
	if len(fields) < 5 || len(heads) < 3 || heads[1] != "net" || heads[2] != "auth" {
		t.Fatalf("columns %q, row %q", head, row)
	}
	// fields: ›, ✗, ip, net, auth, ...
	if fields[3] != "✓" || fields[4] != "✗" {
		t.Errorf("net %s auth %s, want ✓ ✗:\n%s", fields[3], fields[4], scr)
	}
}
