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

// TestDoneNamesTheLoginsVariables: the done and stopped screens name the
// variables this login's passwords are read from on a re-run (seen: key
// login with a sudo password pointed at SEALPACK_SSH_PASSWORD).
func TestDoneNamesTheLoginsVariables(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ssh      sshValues
		want     []string
		dontWant []string
	}{
		{"key and sudo", sshValues{user: "deploy", method: authKey, pk: "/k", sudo: "pw"},
			[]string{"a re-run reads SEALPACK_SUDO_PASSWORD or asks"}, []string{"SEALPACK_SSH_PASSWORD"}},
		{"password", sshValues{user: "root", method: authPassword, passwd: "pw"},
			[]string{"a re-run reads SEALPACK_SSH_PASSWORD or asks"}, []string{"SEALPACK_SUDO_PASSWORD"}},
		{"key with passphrase", sshValues{user: "root", method: authKey, pk: "/k", pkPasswd: "pp"},
			[]string{"a re-run reads SEALPACK_SSH_KEY_PASSPHRASE or asks"}, []string{"SEALPACK_SSH_PASSWORD"}},
		{"agent, sudo without password", sshValues{user: "deploy", method: authAgent},
			[]string{"(no passwords, and this login needs none)"}, []string{"SEALPACK_"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.ssh.port = 22
			c := buildCluster(nil, testInfo(), []hostRow{{ip: "10.0.0.11", master: true, group: -1}}, tc.ssh)
			e := &env{st: plainStyles(), keys: newKeyMap(), now: newFakeClock().Now, opts: &Options{Info: testInfo()}}
			inst := newInstallScreen(e, c)
			for _, fail := range []*Failure{nil, {Step: "distribute", Message: "stopped by the user", Stopped: true, Resume: "./app-installer.run --unattended -f Clusterfile"}} {
				screen := newDoneScreen(e, c, inst, fail, "Clusterfile").render(120, 24, false)
				for _, w := range tc.want {
					if !strings.Contains(screen, w) {
						t.Errorf("stopped=%v: %q missing:\n%s", fail != nil, w, screen)
					}
				}
				for _, w := range tc.dontWant {
					if strings.Contains(screen, w) {
						t.Errorf("stopped=%v: %q shown:\n%s", fail != nil, w, screen)
					}
				}
			}
		})
	}
}
