package tui

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sealpack/sealpack/payload"
)

const testLicence = `ACME PLATFORM LICENCE

1. You may install this software on machines you operate.
2. You may not redistribute the container images it carries.
3. There is no warranty of any kind.`

// gatedVerify reports half the bytes, waits for release, then reports all.
func gatedVerify(release chan struct{}, result error) func(context.Context, func(int64, int64)) error {
	return func(ctx context.Context, progress func(int64, int64)) error {
		const total = 2_259_000_000
		progress(total/2, total)
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		if result != nil {
			return result
		}
		progress(total, total)
		return nil
	}
}

func TestWelcome(t *testing.T) {
	release := make(chan struct{})
	var remembered atomic.Int32
	w := startWizard(t, Options{
		License:          testLicence,
		Verify:           gatedVerify(release, nil),
		RememberVerified: func() error { remembered.Add(1); return nil },
	})
	t.Run("checking", func(t *testing.T) {
		w.golden(t, w.waitText("50%"))
	})
	// Enter while the check runs only says to wait.
	w.enter()
	w.waitText("wait for the check to finish")
	close(release)
	t.Run("verified", func(t *testing.T) {
		w.golden(t, w.waitText("every byte matches"))
	})
	if n := remembered.Load(); n != 1 {
		t.Errorf("RememberVerified called %d times, want 1", n)
	}
	w.enter()
	t.Run("licence", func(t *testing.T) {
		w.golden(t, w.waitText("press a to accept"))
	})
	w.typ("a")
	t.Run("hosts", func(t *testing.T) {
		w.golden(t, w.waitText("Machines"))
	})
	// Back on the welcome screen the licence stays accepted.
	w.key(tea.KeyEsc)
	s := w.waitText("Welcome")
	if !strings.Contains(s, "✓ accepted") {
		t.Errorf("licence not shown as accepted:\n%s", s)
	}
	w.enter()
	w.waitText("Machines")
}

func TestWelcomeSkipCheck(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	w := startWizard(t, Options{Verify: gatedVerify(release, nil)})
	w.waitText("50%")
	w.typ("s")
	t.Run("skipped", func(t *testing.T) {
		w.golden(t, w.waitText("check skipped"))
	})
	w.enter() // no licence: straight to the hosts
	w.waitText("Machines")
}

func TestWelcomeDamaged(t *testing.T) {
	release := make(chan struct{})
	close(release)
	w := startWizard(t, Options{Verify: gatedVerify(release, errors.New("images/blobs/sha256/ab12…: sha256 mismatch at offset 1048576"))})
	t.Run("damaged", func(t *testing.T) {
		w.golden(t, w.waitText("damaged"))
	})
	w.enter()
	w.typ("s")
	if s := w.snap(); !strings.Contains(s, "Welcome") {
		t.Errorf("a damaged installer must not go on:\n%s", s)
	}
}

func TestWelcomeAlreadyVerified(t *testing.T) {
	var called atomic.Bool
	w := startWizard(t, Options{
		AlreadyVerified: true,
		Verify:          func(context.Context, func(int64, int64)) error { called.Store(true); return nil },
	})
	w.waitText("checked by an earlier run")
	if called.Load() {
		t.Error("the check ran again although an earlier run did it")
	}
}

// TestWelcomeCheckWaitsForFirstFrame: the check reads the whole installer,
// so it starts from the first progress tick, after bubbletea has drawn the
// first frame, not with the program.
func TestWelcomeCheckWaitsForFirstFrame(t *testing.T) {
	var calls atomic.Int32
	opts := &Options{Info: testInfo(), Verify: func(context.Context, func(int64, int64)) error { calls.Add(1); return nil }}
	w := newWelcomeScreen(&env{st: plainStyles(), keys: newKeyMap(), now: newFakeClock().Now, opts: opts}, context.Background())
	first := w.start()() // the first tick
	if n := calls.Load(); n != 0 {
		t.Fatalf("the check started with the program (%d calls)", n)
	}
	batch, ok := w.update(first)().(tea.BatchMsg)
	if !ok {
		t.Fatal("the first tick does not start the check")
	}
	var done bool
	for _, cmd := range batch {
		if _, ok := cmd().(verifyDoneMsg); ok {
			done = true
		}
	}
	if !done || calls.Load() != 1 {
		t.Errorf("after the first tick: check done %v, %d calls; want done, 1 call", done, calls.Load())
	}
}

// TestWelcomeSigned: the first screen says who signed the installer, with
// the key id (on its own line when the name and the id do not fit), and
// whether the site's key checked it.
func TestWelcomeSigned(t *testing.T) {
	const id = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"
	for _, tc := range []struct {
		name    string
		sig     payload.ReportSignature
		width   int
		want    []string
		notWant string
	}{
		{"checked", payload.ReportSignature{Signed: true, Signer: "acme-industrial", KeyID: id, CheckedWith: "vendor.pub"}, 80,
			[]string{"Signature  signed by acme-industrial\n", "              (" + id + ")\n", "✓ checked with vendor.pub"}, "NOT SIGNED"},
		{"unchecked", payload.ReportSignature{Signed: true, Signer: "acme", KeyID: id}, 100,
			[]string{"Signature  signed by acme (" + id + ")\n", "not checked (--require-signature KEY checks it)"}, "checked with"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info := testInfo()
			info.Signature = tc.sig
			w := startWizard(t, Options{Info: info, AlreadyVerified: true, Verify: func(context.Context, func(int64, int64)) error { return nil }}, tc.width, 24)
			s := w.waitText("Signature")
			for _, want := range tc.want {
				if !strings.Contains(s, want) {
					t.Errorf("the welcome screen does not show %q:\n%s", want, s)
				}
			}
			if strings.Contains(s, tc.notWant) {
				t.Errorf("the welcome screen shows %q:\n%s", tc.notWant, s)
			}
			if tc.width == 80 {
				w.golden(t, s)
			}
		})
	}
}
