package clusterfile

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what was produced:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// summary writes what Parse understood, resolved per host, in a stable form.
func summary(c *Cluster, warnings []Warning) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "cluster %s (%s) image=%q env=%q\n", c.Name, c.APIVersion, c.Image, c.Env)
	m0, _ := c.Master0()
	fmt.Fprintf(&b, "master0 %s\n", m0.IP)
	for _, h := range c.Hosts() {
		fmt.Fprintf(&b, "host %s roles=%v master=%v\n", h.IP, h.Roles, h.IsMaster())
		s := h.SSH
		fmt.Fprintf(&b, "  ssh user=%s port=%d passwd=%q sudo=%q pk=%q pkPasswd=%q", s.User, s.Port, s.Passwd, s.SudoPasswd, s.PK, s.PKPasswd)
		if s.Bastion != nil {
			fmt.Fprintf(&b, " bastion=%+v", *s.Bastion)
		}
		b.WriteString("\n")
		if len(h.Env) > 0 {
			fmt.Fprintf(&b, "  env %q\n", h.Env)
		}
		if len(h.Labels) > 0 {
			keys := make([]string, 0, len(h.Labels))
			for k := range h.Labels {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			b.WriteString("  labels")
			for _, k := range keys {
				fmt.Fprintf(&b, " %s=%q", k, h.Labels[k])
			}
			b.WriteString("\n")
		}
		if len(h.Taints) > 0 {
			fmt.Fprintf(&b, "  taints %v\n", h.Taints)
		}
	}
	if e := c.Registry.External; e != nil {
		fmt.Fprintf(&b, "registry %s:%d user=%q password=%q\n", e.Domain, e.Port, e.Username, e.Password)
	}
	for _, p := range c.Plugins {
		fmt.Fprintf(&b, "plugin %s line=%d type=%s actions=%v scope=%q data=%q\n", p.Name, p.Line, p.Type, p.Actions, p.Scope, p.Data)
	}
	for _, d := range c.KubeadmDocs {
		y, err := d.YAML()
		if err != nil {
			y = []byte(err.Error())
		}
		fmt.Fprintf(&b, "config %s %q line=%d\n%s", d.Kind, d.APIVersion, d.Line, y)
	}
	for _, w := range warnings {
		fmt.Fprintf(&b, "warning %s\n", w)
	}
	return b.Bytes()
}

func TestParseValid(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "valid", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no testdata/valid files")
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			c, warnings, err := Parse(name, data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			golden(t, filepath.Join("valid", strings.TrimSuffix(name, ".yaml")+".golden"), summary(c, warnings))
		})
	}
}

// parseFile parses the Clusterfile at testdata/elem..., which must be valid.
func parseFile(t *testing.T, elem ...string) (*Cluster, []Warning) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(append([]string{"testdata"}, elem...)...))
	if err != nil {
		t.Fatal(err)
	}
	c, warnings, err := Parse("Clusterfile", data)
	if err != nil {
		t.Fatal(err)
	}
	return c, warnings
}

// TestParseSealerWarnings pins which sealer fields are warnings.
func TestParseSealerWarnings(t *testing.T) {
	_, warnings := parseFile(t, "valid", "sealer-io-v2-k0s.yaml")
	var got []string
	for _, w := range warnings {
		got = append(got, w.String())
	}
	want := []string{
		"Clusterfile:9: spec.containerRuntime: a sealer field that sealpack does not implement (the container runtime is the one the image's init-host script installs); ignored",
		"Clusterfile:20: spec.registry.localRegistry.ha: ignored: sealpack runs the registry on every master",
	}
	if !slices.Equal(got, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseResolvedHosts(t *testing.T) {
	c, _ := parseFile(t, "valid", "sealpack-full.yaml")
	var masters, nodes []string
	for _, h := range c.Masters() {
		masters = append(masters, h.IP)
	}
	for _, h := range c.Nodes() {
		nodes = append(nodes, h.IP)
	}
	if want := []string{"10.0.1.10", "10.0.1.11", "10.0.1.12"}; !slices.Equal(masters, want) {
		t.Errorf("masters %v, want %v", masters, want)
	}
	if want := []string{"10.0.2.20", "10.0.2.21", "10.0.2.22", "10.0.2.23", "fd00::30"}; !slices.Equal(nodes, want) {
		t.Errorf("nodes %v, want %v", nodes, want)
	}
	db, ok := c.Host("10.0.2.21")
	if !ok {
		t.Fatal("host 10.0.2.21 not found")
	}
	// Group overrides win field by field; the rest comes from the defaults.
	if db.SSH.Port != 2222 || db.SSH.Passwd != "db secret" || db.SSH.User != "deploy" || db.SSH.SudoPasswd != "sudo secret" || db.SSH.Bastion == nil || db.SSH.Bastion.Port != 2200 {
		t.Errorf("ssh of a db host: %+v", db.SSH)
	}
	if want := []string{"TZ=UTC", "DISK=/dev/vdb", "POD_CIDR=10.244.0.0/16"}; !slices.Equal(db.Env, want) {
		t.Errorf("env %q, want %q", db.Env, want)
	}
	if got := db.KubeletLabels(); len(got) != 2 || got["disk"] != "ssd" || got["topology.kubernetes.io/zone"] != "z1" {
		t.Errorf("kubelet labels %v", got)
	}
	if got := db.APILabels(); len(got) != 1 || got["node-role.kubernetes.io/db"] != "" {
		t.Errorf("API labels %v", got)
	}
	// Resolved hosts are copies: changing one changes nothing else.
	db.SSH.Bastion.Host = "changed"
	db.Labels["x"] = "y"
	again, _ := c.Host("10.0.2.21")
	if again.SSH.Bastion.Host != "10.0.0.1" || again.Labels["x"] != "" {
		t.Error("Hosts() shares state between calls")
	}
}

func TestParseErrorIsInvalid(t *testing.T) {
	_, _, err := Parse("Clusterfile", []byte("kind: Cluster\n"))
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
	}
}

func TestParseKubeadmTypos(t *testing.T) {
	in := head + `  hosts:
    - ips: [10.0.0.1]
      roles: [master]
---
kind: ClusterConfiguration
netwroking:
  podSubnet: 10.244.0.0/16
apiServer:
  certSans: [a.example]
---
kind: JoinConfiguration
nodeRegistration:
  kubeletExtraArg: {v: "2"}
`
	_, warnings, err := Parse("Clusterfile", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range warnings {
		got = append(got, w.String())
	}
	want := []string{
		`Clusterfile:11: netwroking: ClusterConfiguration has no field "netwroking" (did you mean "networking"?); kubeadm would ignore it`,
		`Clusterfile:14: apiServer.certSans: ClusterConfiguration has no field "certSans" (did you mean "certSANs"?); kubeadm would ignore it`,
		`Clusterfile:18: nodeRegistration.kubeletExtraArg: JoinConfiguration has no field "kubeletExtraArg" (did you mean "kubeletExtraArgs"?); kubeadm would ignore it`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseClusterRegistry(t *testing.T) {
	c, _, err := Parse("Clusterfile", []byte(`apiVersion: sealer.cloud/v2
kind: Cluster
metadata: {name: r}
spec:
  hosts:
    - ips: [10.0.0.1]
      roles: [master]
  registry: {port: "5443", insecure: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Registry.Port != 5443 || !c.Registry.Insecure {
		t.Errorf("registry = %+v, want port 5443, insecure", c.Registry)
	}
}

// sealer's localRegistry is the masters' registry: its fields that mean
// the same are read.
func TestParseLocalRegistry(t *testing.T) {
	c, _, err := Parse("Clusterfile", []byte(`apiVersion: sealer.io/v2
kind: Cluster
metadata: {name: c}
spec:
  hosts:
    - {ips: [10.0.0.1], roles: [master]}
  registry:
    localRegistry: {port: 5001, username: puller, password: pw, insecure: false}
`))
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Registry; r.Port != 5001 || r.Username != "puller" || r.Password != "pw" || c.RegistryPort() != 5001 {
		t.Errorf("spec.registry from localRegistry: %+v", r)
	}
}
