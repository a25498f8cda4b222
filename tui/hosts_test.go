package tui

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sealpack/sealpack/deployer/clusterfile"
)

// toHosts starts a wizard and goes to the hosts screen.
func toHosts(t *testing.T, opts Options, size ...int) *wizard {
	t.Helper()
	opts.AlreadyVerified = true
	w := startWizard(t, opts, size...)
	w.waitText("Welcome")
	w.enter()
	w.waitText("Machines")
	return w
}

func (w *wizard) rows() []string {
	var out []string
	for i, r := range w.m.hosts.rows {
		out = append(out, w.m.hosts.roleName(i)+" "+r.ip)
	}
	return out
}

func TestHosts(t *testing.T) {
	w := toHosts(t, Options{})
	w.typ("10.0.0.11")
	w.enter()
	w.typ("10.0.0.21-10.0.0.23")
	w.enter()
	t.Run("added", func(t *testing.T) {
		w.golden(t, w.waitText("10.0.0.23"))
	})
	w.typ("10.0.0.300")
	w.enter()
	t.Run("bad-ip", func(t *testing.T) {
		w.golden(t, w.waitText("is not an IP address"))
	})
	w.key(tea.KeyCtrlU)
	w.typ("10.0.0.9, 10.0.0.22")
	w.enter()
	t.Run("duplicate", func(t *testing.T) {
		w.golden(t, w.waitText("already in the list"))
	})
	if got := len(w.m.hosts.rows); got != 4 {
		t.Fatalf("a refused line added rows: %d rows", got)
	}
	// Edit 10.0.0.22 into 10.0.0.24, delete 10.0.0.21, make 10.0.0.23 a master.
	w.key(tea.KeyCtrlU)
	w.key(tea.KeyUp)
	w.key(tea.KeyUp)
	w.typ("e")
	w.waitText("Edit row 3")
	w.key(tea.KeyCtrlU)
	w.typ("10.0.0.24")
	w.enter()
	w.waitText("10.0.0.24")
	w.key(tea.KeyUp) // 10.0.0.23
	w.key(tea.KeyUp) // 10.0.0.24
	w.key(tea.KeyUp) // 10.0.0.21
	w.typ("d")
	w.key(tea.KeyDown) // 10.0.0.23
	w.typ("r")
	t.Run("edited", func(t *testing.T) {
		w.golden(t, w.waitText("2 masters"))
	})
	want := []string{"master0 10.0.0.11", "master 10.0.0.23", "node 10.0.0.24"}
	if got := w.rows(); !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %q, want %q", got, want)
	}
	w.key(tea.KeyEsc) // back to the input
	w.enter()         // empty input: next
	w.waitText("SSH login")
}

func TestHostsNeedAMaster(t *testing.T) {
	w := toHosts(t, Options{})
	w.key(tea.KeyTab) // add nodes
	w.typ("10.0.0.21")
	w.enter()
	w.enter()
	s := w.waitText("add at least one master")
	if strings.Contains(s, "SSH login") {
		t.Error("went on without a master")
	}
}

func TestHostsManyRowsScroll(t *testing.T) {
	w := toHosts(t, Options{})
	w.typ("10.0.0.11")
	w.enter()
	w.typ("10.0.1.1-10.0.1.49")
	w.enter()
	w.waitText("49 nodes")
	for range 20 {
		w.key(tea.KeyUp)
	}
	t.Run("scrolled", func(t *testing.T) {
		w.golden(t, w.waitText("›  31"))
	})
}

const initialClusterfile = `apiVersion: sealer.cloud/v2
kind: Cluster
metadata:
  name: plant-7
spec:
  ssh:
    user: ops
    pk: /root/.ssh/id_ed25519
    port: "2222"
  hosts:
    - ips: [192.168.0.2]
      roles: [master]
    - ips: [192.168.0.5-192.168.0.6]
      roles: [node]
      labels: {disk: ssd}
  env: [POD_CIDR=100.64.0.0/10]
`

func parseInitial(t *testing.T) *clusterfile.Cluster {
	t.Helper()
	c, _, err := clusterfile.Parse("Clusterfile", []byte(initialClusterfile))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHostsFromClusterfile(t *testing.T) {
	w := toHosts(t, Options{Initial: parseInitial(t)})
	t.Run("initial", func(t *testing.T) {
		w.golden(t, w.waitText("192.168.0.6"))
	})
	want := []string{"master0 192.168.0.2", "node 192.168.0.5", "node 192.168.0.6"}
	if got := w.rows(); !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %q, want %q", got, want)
	}
}

func TestParseIPList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // addresses joined by spaces, or "error: <text>"
	}{
		{"10.0.0.1", "10.0.0.1"},
		{"10.0.0.1,10.0.0.2 10.0.0.3", "10.0.0.1 10.0.0.2 10.0.0.3"},
		{" 10.0.0.8-10.0.0.10 ", "10.0.0.8 10.0.0.9 10.0.0.10"},
		{"10.0.0.255-10.0.1.1", "10.0.0.255 10.0.1.0 10.0.1.1"},
		{"fd00::1-fd00::2", "fd00::1 fd00::2"},
		{"::ffff:10.0.0.1", "10.0.0.1"},
		{"10.0.0.300", `error: "10.0.0.300" is not an IP address`},
		{"10.0.0.5-9", `error: "10.0.0.5-9" is not an IP range: "9" is not an IP address (write 10.0.0.5-10.0.0.9)`},
		{"10.0.0.9-10.0.0.5", "error: comes after"},
		{"10.0.0.1-fd00::1", "error: are not of the same IP version"},
		{"10.0.0.0-10.0.255.255", "error: more than 4096 addresses"},
		{"10.0.0.1,10.0.0.1", "error: 10.0.0.1 is given twice"},
		{"0.0.0.0", "error: not a host address"},
		{"224.0.0.1", "error: not a host address"},
		{"255.255.255.255", "error: not a host address"},
		{"host.example", `error: "host.example" is not an IP address`},
		{" , ", "error: type an IP address"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			ips, err := parseIPList(tc.in)
			got := strings.Join(ips, " ")
			if err != nil {
				got = "error: " + err.Error()
			}
			if strings.HasPrefix(tc.want, "error: ") {
				if !strings.HasPrefix(got, "error: ") || !strings.Contains(got, strings.TrimPrefix(tc.want, "error: ")) {
					t.Errorf("got %q, want %s", got, tc.want)
				}
				return
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRegroup(t *testing.T) {
	initial := parseInitial(t)
	rows := []hostRow{
		{ip: "192.168.0.2", master: true, group: 0},
		{ip: "192.168.0.3", master: true, group: -1}, // new master: joins the plain master group
		{ip: "192.168.0.5", master: true, group: 1},  // a node made master: leaves the labelled group
		{ip: "192.168.0.6", group: 1},
		{ip: "192.168.0.9", group: -1}, // new node: not given the ssd label
	}
	c := buildCluster(initial, testInfo(), rows, sshValues{user: "ops", port: 2222, method: authKey, pk: "/k"})
	var got []string
	for _, g := range c.Groups {
		got = append(got, fmt.Sprintf("%v %v %v", g.IPs, g.Roles, g.Labels))
	}
	want := []string{
		"[192.168.0.2 192.168.0.3 192.168.0.5] [master] map[]",
		"[192.168.0.6] [node] map[disk:ssd]",
		"[192.168.0.9] [node] map[]",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("groups:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if c.Name != "plant-7" || len(c.Env) != 1 || c.SSH.PK != "/k" || c.SSH.Port != 2222 {
		t.Errorf("the rest of the Clusterfile was not kept: %+v", c)
	}
	if initial.Groups[0].IPs[0] != "192.168.0.2" || len(initial.Groups[1].IPs) != 2 {
		t.Error("buildCluster changed the initial cluster")
	}
}

func TestClusterName(t *testing.T) {
	for in, want := range map[string]string{
		"acme-platform":      "acme-platform",
		"ACME Platform (EU)": "acme-platform-eu",
		"":                   "cluster",
		"***":                "cluster",
	} {
		if got := clusterName(in); got != want {
			t.Errorf("clusterName(%q) = %q, want %q", in, got, want)
		}
	}
}
