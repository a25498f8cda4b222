package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// TestDoneLongPathsWrap: paths and commands on the done screen are copied
// by the user, so a long one continues on the next line instead of being
// cut at the screen's edge; the summary left in the terminal keeps each
// whole on one line.
func TestDoneLongPathsWrap(t *testing.T) {
	long := "/srv/installers/acme-platform-3.1.4/site-a/jump-host-17/.sealpack"
	opts := &Options{Info: testInfo(), KubeconfigPath: long + "/admin.conf", LogPath: long + "/logs"}
	e := &env{st: plainStyles(), keys: newKeyMap(), now: newFakeClock().Now, opts: opts}
	d := newDoneScreen(e, testCluster(3), nil, nil, "Clusterfile")
	const width = 80
	screen := d.render(width, 24, false)
	joined := strings.ReplaceAll(screen, "\n"+strings.Repeat(" ", 16), "")
	for _, want := range []string{"export KUBECONFIG=" + opts.KubeconfigPath + "; kubectl get nodes", opts.LogPath} {
		if !strings.Contains(joined, want) {
			t.Errorf("%q is not on the screen whole:\n%s", want, screen)
		}
	}
	for _, l := range strings.Split(screen, "\n") {
		if n := ansi.StringWidth(l); n > width-1 {
			t.Errorf("line of %d cells on a %d-cell screen: %q", n, width, l)
		}
	}
	summary := d.render(width, 1000, true)
	if !strings.Contains(summary, "export KUBECONFIG="+opts.KubeconfigPath+"; kubectl get nodes\n") {
		t.Errorf("the summary breaks the command:\n%s", summary)
	}
}

// TestReviewKeepsUsersClusterfile: when the wizard started from the user's
// Clusterfile and saves its own beside it, the review says which is which.
func TestReviewKeepsUsersClusterfile(t *testing.T) {
	for _, tc := range []struct {
		initial, save string
		kept          bool
	}{
		{"site.yaml", "site.sealpack.yaml", true},
		{"", "Clusterfile", false},
		{"Clusterfile.sealpack.yaml", "Clusterfile.sealpack.yaml", false},
	} {
		opts := &Options{Info: testInfo(), InitialPath: tc.initial, SavePath: tc.save}
		e := &env{st: plainStyles(), keys: newKeyMap(), now: newFakeClock().Now, opts: opts}
		view := newReviewScreen(e, testCluster(2)).view(80, 20)
		if got := strings.Contains(view, tc.initial+" stays as you wrote it"); got != tc.kept {
			t.Errorf("initial %q, save %q: says the file is kept = %v, want %v:\n%s", tc.initial, tc.save, got, tc.kept, view)
		}
		if !strings.Contains(view, "saved to "+tc.save) {
			t.Errorf("the review does not name %s:\n%s", tc.save, view)
		}
		if n := strings.Count(view, "\n"); n > 20 {
			t.Errorf("the review takes %d lines of 20", n)
		}
	}
}
