package clusterfile

import (
	"fmt"
	"net/netip"
	"path"
	"strings"
	"unicode"

	yaml "go.yaml.in/yaml/v3"
)

// Plugin types sealpack runs.
const (
	PluginShell    = "SHELL"    // data: a shell script, run at its actions on the hosts of its scope
	PluginExec     = "EXEC"     // data: an executable of the rootfs's plugins/, given JSON on stdin
	PluginHostname = "HOSTNAME" // data: lines "IP hostname", set before kubeadm names the nodes
	PluginLabel    = "LABEL"    // data: lines "IP key=value,...", node labels once the hosts joined
	PluginTaint    = "TAINT"    // data: lines "IP key=value:Effect,...", node taints once the hosts joined
)

// PluginDir is where the executables of EXEC plugins are, in the rootfs.
const PluginDir = "plugins/"

// nodePluginTypes are the types whose data names the hosts line by line,
// and which run at a fixed point rather than at their action.
var nodePluginTypes = map[string]bool{PluginHostname: true, PluginLabel: true, PluginTaint: true}

// PluginLine is one host's line of a HOSTNAME, LABEL or TAINT plugin (a
// line with an address range gives one per address).
type PluginLine struct {
	IP       string
	Hostname string            // HOSTNAME
	Labels   map[string]string // LABEL: key=value
	Unlabel  []string          // LABEL: keys removed (key-)
	Taints   []Taint           // TAINT
	Line     int               // line in the Clusterfile
}

// Hostnames maps every address a HOSTNAME plugin names to the host name
// it gives it.
func (c *Cluster) Hostnames() map[string]string {
	out := map[string]string{}
	for _, p := range c.Plugins {
		if p.Type == PluginHostname {
			for _, l := range p.Lines {
				out[l.IP] = l.Hostname
			}
		}
	}
	return out
}

// dataLine is the Clusterfile line of line i of the data node n: a block
// scalar (data: |) starts on the line after its indicator.
func dataLine(n *yaml.Node, i int) int {
	if n == nil {
		return 0
	}
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return n.Line + 1 + i
	}
	return n.Line
}

// decodeNodePlugin reads a HOSTNAME, LABEL or TAINT plugin: its data lines.
// These run at a fixed point whatever their action says (host names before
// kubeadm names the nodes, labels and taints once the hosts joined), so the
// action is checked for typos only, and the scope is the data's addresses.
func (r *report) decodeNodePlugin(p *Plugin, s pluginSpec, specKey *yaml.Node) bool {
	for _, a := range strings.Split(s.action, "|") {
		if a = strings.TrimSpace(a); a != "" && !knownAction(a) {
			r.errorf(s.actionNode.Line, "spec.action", "%q is not a plugin action (%s)%s", a, actionNames(), suggest(a, append(actionStrings(), "PreInit", "PostInstall")))
			return false
		}
	}
	for _, n := range []*yaml.Node{s.scopeNode, s.onNode} {
		if n != nil && strings.TrimSpace(n.Value) != "" {
			r.warnf(n.Line, "spec.scope", "plugin %q: a %s plugin's data names its hosts; the scope is ignored", p.Name, p.Type)
		}
	}
	p.Actions = []Action{PreInitHost}
	if p.Type != PluginHostname {
		p.Actions = []Action{PostInstall, PostScaleUp}
	}
	if strings.TrimSpace(p.Data) == "" {
		r.errorf(specKey.Line, "spec.data", "missing: the plugin's lines (%s)", nodePluginExample(p.Type))
		return false
	}
	nerr := len(r.errs)
	for i, text := range strings.Split(p.Data, "\n") {
		r.pluginDataLine(p, text, dataLine(s.dataNode, i))
	}
	return len(r.errs) == nerr
}

func knownAction(a string) bool {
	_, old := oldActions[a]
	_, sealer := sealerOnlyActions[a]
	for _, x := range Actions {
		if string(x) == a {
			return true
		}
	}
	return old || sealer
}

func nodePluginExample(typ string) string {
	switch typ {
	case PluginHostname:
		return `"192.168.0.2 master-0": an address and its host name per line`
	case PluginLabel:
		return `"192.168.0.2 ssd=true,zone=a": an address and its labels per line`
	}
	return `"192.168.0.2 dedicated=db:NoSchedule": an address and its taints per line`
}

// pluginDataLine reads one line of a HOSTNAME, LABEL or TAINT plugin's
// data: an address (a range for LABEL and TAINT), then what it gets.
// Blank lines and # comments are skipped. "IP: ..." and, for HOSTNAME,
// "IP=name" are read too.
func (r *report) pluginDataLine(p *Plugin, text string, line int) {
	if i := strings.Index(text, "#"); i >= 0 && (i == 0 || unicode.IsSpace(rune(text[i-1]))) {
		text = text[:i]
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return
	}
	bad := func(format string, args ...any) {
		r.errorf(line, "spec.data", "plugin %q: line %q: %s (want %s)", p.Name, text, fmt.Sprintf(format, args...), nodePluginExample(p.Type))
	}
	addr, rest := splitDataLine(text, p.Type == PluginHostname)
	var addrs []netip.Addr
	var err error
	if p.Type == PluginHostname {
		var a netip.Addr
		a, err = parseHostIP(addr)
		addrs = []netip.Addr{a}
	} else {
		addrs, err = expandIPs(addr)
	}
	if err != nil {
		bad("%v", err)
		return
	}
	items := strings.FieldsFunc(rest, func(c rune) bool { return c == ',' || unicode.IsSpace(c) })
	if len(items) == 0 {
		bad("nothing after the address")
		return
	}
	l := PluginLine{Line: line}
	switch p.Type {
	case PluginHostname:
		if len(items) > 1 {
			bad("one host name per address")
			return
		}
		if err := checkHostname(items[0]); err != nil {
			bad("%v", err)
			return
		}
		l.Hostname = items[0]
	case PluginLabel:
		if err := l.addLabels(items); err != nil {
			bad("%v", err)
			return
		}
	case PluginTaint:
		for _, it := range items {
			t, err := parseTaint(it)
			if err != nil {
				bad("%v", err)
				return
			}
			l.Taints = append(l.Taints, t)
		}
	}
	for _, a := range addrs {
		l.IP = a.String()
		p.Lines = append(p.Lines, l)
	}
}

// splitDataLine cuts a data line into its address and the rest: the address
// ends at the first blank (a ':' right after it is dropped), or, for
// hostnames, at '='.
func splitDataLine(text string, equals bool) (addr, rest string) {
	end := strings.IndexFunc(text, func(c rune) bool { return unicode.IsSpace(c) || equals && c == '=' })
	if end < 0 {
		return strings.TrimSuffix(text, ":"), ""
	}
	addr, rest = text[:end], strings.TrimSpace(text[end:])
	rest = strings.TrimSpace(strings.TrimPrefix(rest, "="))
	if strings.HasSuffix(addr, ":") {
		addr = strings.TrimSuffix(addr, ":")
	} else if r, ok := strings.CutPrefix(rest, ":"); ok && !equals {
		rest = strings.TrimSpace(r)
	}
	return addr, rest
}

// addLabels reads key=value and key- (remove) items, kubectl label's syntax.
func (l *PluginLine) addLabels(items []string) error {
	l.Labels = map[string]string{}
	for _, it := range items {
		if k, ok := strings.CutSuffix(it, "-"); ok && !strings.Contains(it, "=") {
			if err := checkLabelKey(k); err != nil {
				return err
			}
			l.Unlabel = append(l.Unlabel, k)
			continue
		}
		k, v, ok := strings.Cut(it, "=")
		if !ok {
			return fmt.Errorf("%q is not a label: write key=value, or key- to remove one", it)
		}
		if err := checkLabelKey(k); err != nil {
			return err
		}
		if err := checkLabelValue(v); err != nil {
			return err
		}
		l.Labels[k] = v
	}
	return nil
}

// checkHostname checks a host name the way Kubernetes checks node names
// (a lowercase DNS subdomain), within the kernel's 64 bytes.
func checkHostname(name string) error {
	if len(name) > 63 || !subdomainRE.MatchString(name) {
		return fmt.Errorf("%q is not a valid host name: at most 63 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (Kubernetes names the node by it)", name)
	}
	return nil
}

// execPath reads an EXEC plugin's data: the path of its executable in the
// rootfs, under plugins/ ("my-check" stands for plugins/my-check).
func (r *report) execPath(p *Plugin, n *yaml.Node) bool {
	raw := strings.TrimSpace(p.Data)
	line := dataLine(n, 0)
	if strings.ContainsAny(raw, " \t\n") {
		r.errorf(line, "spec.data", "plugin %q: an EXEC plugin's data is the path of one executable under %s (it gets the cluster as JSON on stdin), not %q", p.Name, PluginDir, raw)
		return false
	}
	clean := path.Clean(strings.TrimPrefix(raw, "./"))
	if !strings.Contains(clean, "/") {
		clean = PluginDir + clean
	}
	if !strings.HasPrefix(clean, PluginDir) || strings.HasPrefix(raw, "/") || strings.Contains(raw, "..") {
		r.errorf(line, "spec.data", "plugin %q: %q is not under the rootfs's %s directory, where EXEC plugins' executables are", p.Name, raw, PluginDir)
		return false
	}
	p.Data = clean
	return true
}

// checkPluginData checks the HOSTNAME, LABEL and TAINT plugins together:
// one name per host, no name given to two hosts, addresses of the cluster.
func (r *report) checkPluginData(c *Cluster) {
	ips := map[string]bool{}
	for _, g := range c.Groups {
		for _, ip := range g.IPs {
			ips[ip] = true
		}
	}
	type given struct{ plugin, value string }
	byIP, byName := map[string]given{}, map[string]given{}
	for _, p := range c.Plugins {
		for _, l := range p.Lines {
			if !ips[l.IP] {
				r.warnf(l.Line, "spec.data", "plugin %q: %s is not a host of this cluster", p.Name, l.IP)
			}
			if p.Type != PluginHostname {
				continue
			}
			if g, dup := byIP[l.IP]; dup {
				r.errorf(l.Line, "spec.data", "plugin %q: %s is given a second host name (%s by plugin %q)", p.Name, l.IP, g.value, g.plugin)
			}
			if g, dup := byName[l.Hostname]; dup {
				r.errorf(l.Line, "spec.data", "plugin %q: host name %s is given to %s and %s (by plugin %q): Kubernetes names nodes by it", p.Name, l.Hostname, l.IP, g.value, g.plugin)
			}
			byIP[l.IP], byName[l.Hostname] = given{p.Name, l.Hostname}, given{p.Name, l.IP}
		}
	}
}
