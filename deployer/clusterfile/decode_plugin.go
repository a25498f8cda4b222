package clusterfile

import (
	"net/netip"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// pluginAPIVersions are the apiVersions sealer's published Plugin documents
// use, old and new.
var pluginAPIVersions = map[string]bool{
	"sealer.io/v1":               true,
	"sealer.cloud/v1":            true,
	"sealer.io/v2":               true,
	"sealer.cloud/v2":            true,
	"sealer.aliyun.com/v1alpha1": true,
}

// Actions lists every action sealpack runs, in install order.
var Actions = []Action{PreInitHost, PostInitHost, PreInstall, PostInstall, PreScaleUp, PostScaleUp, PreCleanHost, PostCleanHost}

// oldActions maps sealer's earlier phase names to today's actions: Originally
// ran on the hosts before anything else, PreInit after the rootfs was in
// place and before kubeadm init, PreJoin/PostJoin around a scale-up,
// PreClean/PostClean around a host's cleanup.
var oldActions = map[string]Action{
	"Originally":  PreInitHost,
	"PreInit":     PostInitHost,
	"PreInstall":  PreInstall,
	"PostInstall": PostInstall,
	"PreJoin":     PreScaleUp,
	"PostJoin":    PostScaleUp,
	"PreClean":    PreCleanHost,
	"PostClean":   PostCleanHost,
}

// sealerOnlyActions are actions sealer has and sealpack does not run.
var sealerOnlyActions = map[string]string{
	"pre-uninstall":  "sealer's uninstall",
	"post-uninstall": "sealer's uninstall",
	"upgrade":        "sealer's upgrade",
	"upgrade-host":   "sealer's upgrade",
	"rollback":       "sealer's rollback",
	"PreGuest":       "sealer's stage between join and the applications",
}

// sealerPluginTypes are sealer's built-in plugin types other than SHELL;
// sealer's oldest files named the type through metadata.name alone.
var sealerPluginTypes = map[string]bool{PluginHostname: true, PluginLabel: true, PluginTaint: true, "ETCD": true, "CLUSTERCHECK": true}

// pluginTypes are the types sealpack runs.
var pluginTypes = map[string]bool{PluginShell: true, PluginExec: true, PluginHostname: true, PluginLabel: true, PluginTaint: true}

func actionNames() string {
	names := make([]string, len(Actions))
	for i, a := range Actions {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}

// decodePlugin reads a Plugin document. keep is false for a plugin sealpack
// does not run (reported as a warning) or an invalid one (reported as an error).
func (r *report) decodePlugin(root *yaml.Node, apiVersion string) (p Plugin, keep bool) {
	p.Line = root.Line
	if !r.pluginAPIVersion(root, apiVersion) {
		return p, false
	}
	nerr := len(r.errs)
	spec, specKey := r.decodePluginTop(root, &p)
	if specKey == nil {
		r.errorf(root.Line, "spec", "missing: a plugin has type, action and data")
		return p, false
	}
	ps := r.decodePluginSpec(spec, &p)
	if len(r.errs) > nerr || !r.pluginType(&p, specKey, ps.typeNode) {
		return p, false
	}
	if nodePluginTypes[p.Type] {
		return p, r.decodeNodePlugin(&p, ps, specKey) && len(r.errs) == nerr
	}
	p.Actions, keep = r.pluginActions(ps.action, ps.actionNode, specKey, p.Name)
	if !r.pluginWhere(&p, ps, &keep) {
		return p, false
	}
	if strings.TrimSpace(p.Data) == "" {
		what := "the plugin's shell script"
		if p.Type == PluginExec {
			what = "the path of the plugin's executable under " + PluginDir
		}
		r.errorf(specKey.Line, "spec.data", "missing: %s", what)
		return p, false
	}
	if p.Type == PluginExec && !r.execPath(&p, ps.dataNode) {
		return p, false
	}
	if len(r.errs) > nerr {
		return p, false
	}
	return p, keep
}

// pluginAPIVersion reports a Plugin document's apiVersion that is not one
// of sealer's.
func (r *report) pluginAPIVersion(root *yaml.Node, apiVersion string) bool {
	if pluginAPIVersions[apiVersion] {
		return true
	}
	_, av := topField(root, "apiVersion")
	line := root.Line
	if av != nil {
		line = av.Line
	}
	if apiVersion == "" {
		r.errorf(line, "apiVersion", "missing (sealer.io/v1)")
	} else {
		r.errorf(line, "apiVersion", "%q is not a Plugin version (sealer.io/v1 or sealer.cloud/v1)", apiVersion)
	}
	return false
}

// decodePluginTop reads a Plugin document's top level and metadata into p,
// and returns its spec and spec's key (nil when there is none).
func (r *report) decodePluginTop(root *yaml.Node, p *Plugin) (spec, specKey *yaml.Node) {
	var metaLine int
	metaIgnored := func(name string) field {
		return field{name, func(k, _ *yaml.Node, path string) {
			r.warnf(k.Line, path, "plugin %s are not used by sealpack; ignored", name)
		}}
	}
	r.decodeFields(root, "", []field{
		{"apiVersion", skip},
		{"kind", skip},
		{"metadata", func(k, v *yaml.Node, _ string) {
			metaLine = k.Line
			r.decodeFields(v, "metadata", []field{
				{"name", func(_, v *yaml.Node, _ string) { p.Name = r.str(v, "metadata.name") }},
				{"creationTimestamp", skip},
				metaIgnored("annotations"),
				metaIgnored("labels"),
				metaIgnored("namespace"),
			}, nil)
		}},
		{"spec", func(k, v *yaml.Node, _ string) { spec, specKey = v, k }},
		{"status", skip},
	}, nil)
	if p.Name == "" {
		r.errorf(max(metaLine, root.Line), "metadata.name", "missing: plugins run by name")
	}
	return spec, specKey
}

// pluginSpec is what a Plugin's spec says beyond what goes into the Plugin
// as it is, with the nodes its messages point at.
type pluginSpec struct {
	action, scope, on                                 string
	actionNode, scopeNode, onNode, typeNode, dataNode *yaml.Node
}

func (r *report) decodePluginSpec(spec *yaml.Node, p *Plugin) pluginSpec {
	var s pluginSpec
	r.decodeFields(spec, "spec", []field{
		{"type", func(_, v *yaml.Node, path string) { p.Type, s.typeNode = strings.TrimSpace(r.str(v, path)), v }},
		{"action", func(_, v *yaml.Node, path string) { s.action, s.actionNode = r.str(v, path), v }},
		{"scope", func(_, v *yaml.Node, path string) { s.scope, s.scopeNode = r.str(v, path), v }},
		{"on", func(_, v *yaml.Node, path string) { s.on, s.onNode = r.str(v, path), v }},
		{"data", func(_, v *yaml.Node, path string) { p.Data, s.dataNode = r.str(v, path), v }},
	}, nil)
	return s
}

// pluginType settles p.Type (sealer's oldest files name it through
// metadata.name alone); false when sealpack does not run the plugin.
func (r *report) pluginType(p *Plugin, specKey, typeNode *yaml.Node) bool {
	switch {
	case p.Type == "" && sealerPluginTypes[strings.ToUpper(p.Name)], p.Type == "" && strings.EqualFold(p.Name, "SHELL"):
		p.Type = strings.ToUpper(p.Name)
	case p.Type == "":
		r.errorf(specKey.Line, "spec.type", "missing: one of SHELL, EXEC, HOSTNAME, LABEL, TAINT")
		return false
	}
	if !pluginTypes[strings.ToUpper(p.Type)] {
		line := specKey.Line
		if typeNode != nil {
			line = typeNode.Line
		}
		r.warnf(line, "spec.type", "plugin type %q is not implemented by sealpack (SHELL, EXEC, HOSTNAME, LABEL and TAINT are; an EXEC plugin runs an executable of the rootfs's plugins/); plugin %q ignored", p.Type, p.Name)
		return false
	}
	p.Type = strings.ToUpper(p.Type)
	return true
}

// pluginWhere reads the hosts a plugin runs on, from spec.scope or sealer's
// older spec.on; it clears keep for a scope sealpack cannot honour, and
// returns false when the plugin is invalid.
func (r *report) pluginWhere(p *Plugin, s pluginSpec, keep *bool) bool {
	switch {
	case s.scopeNode != nil && s.onNode != nil && s.scope != "" && s.on != "":
		r.errorf(s.onNode.Line, "spec.on", "give spec.scope or sealer's older spec.on, not both")
		return false
	case s.on != "" && strings.Contains(s.on, "="):
		r.warnf(s.onNode.Line, "spec.on", "label selectors (%s) are not implemented by sealpack; plugin %q ignored (use spec.scope with roles or addresses)", s.on, p.Name)
		*keep = false
	case s.on != "":
		p.Scope = r.pluginScope(s.on, s.onNode, "spec.on")
	default:
		p.Scope = r.pluginScope(s.scope, s.scopeNode, "spec.scope")
	}
	return true
}

// pluginActions reads spec.action: one action, or several joined by "|".
func (r *report) pluginActions(action string, n, specKey *yaml.Node, name string) ([]Action, bool) {
	if strings.TrimSpace(action) == "" {
		r.errorf(specKey.Line, "spec.action", "missing: when the plugin runs (%s)", actionNames())
		return nil, false
	}
	var out []Action
	for _, a := range strings.Split(action, "|") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if mapped, ok := oldActions[a]; ok {
			a = string(mapped)
		}
		if what, ok := sealerOnlyActions[a]; ok {
			r.warnf(n.Line, "spec.action", "%s (%s) is not implemented by sealpack; plugin %q does not run then", a, what, name)
			continue
		}
		known := false
		for _, x := range Actions {
			if string(x) == a {
				known = true
			}
		}
		if !known {
			r.errorf(n.Line, "spec.action", "%q is not a plugin action (%s)%s", a, actionNames(), suggest(a, append(actionStrings(), "PreInit", "PostInstall")))
			return nil, false
		}
		dup := false
		for _, x := range out {
			dup = dup || string(x) == a
		}
		if !dup {
			out = append(out, Action(a))
		}
	}
	return out, len(out) > 0
}

func actionStrings() []string {
	out := make([]string, len(Actions))
	for i, a := range Actions {
		out[i] = string(a)
	}
	return out
}

// pluginScope reads a scope: roles, addresses, ranges and "master0", joined
// by "|" (sealer's scope) or "," (sealer's older on).
func (r *report) pluginScope(s string, n *yaml.Node, path string) []string {
	var out []string
	for _, part := range strings.FieldsFunc(s, func(c rune) bool { return c == '|' || c == ',' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if _, err := netip.ParseAddr(strings.Split(part, "-")[0]); err == nil {
			addrs, err := expandIPs(part)
			if err != nil {
				r.errorf(n.Line, path, "%v", err)
				continue
			}
			for _, a := range addrs {
				out = append(out, a.String())
			}
			continue
		}
		if err := checkRole(part); err != nil {
			r.errorf(n.Line, path, "%q is neither a role nor an IP address", part)
			continue
		}
		out = append(out, part)
	}
	return out
}

// checkPluginScopes warns about scopes that name no host of the cluster,
// and about scopes given to actions that run on master0 only.
func (r *report) checkPluginScopes(c *Cluster) {
	roles := map[string]bool{"master0": true}
	ips := map[string]bool{}
	for _, g := range c.Groups {
		for _, role := range g.Roles {
			roles[role] = true
		}
		for _, ip := range g.IPs {
			ips[ip] = true
		}
	}
	r.checkPluginData(c)
	for _, p := range c.Plugins {
		for _, s := range p.Scope {
			if _, err := netip.ParseAddr(s); err == nil {
				if !ips[s] {
					r.warnf(p.Line, "spec.scope", "plugin %q: %s is not a host of this cluster", p.Name, s)
				}
			} else if !roles[s] {
				r.warnf(p.Line, "spec.scope", "plugin %q: no host has the role %q", p.Name, s)
			}
		}
		if len(p.Scope) == 0 {
			continue
		}
		for _, a := range p.Actions {
			if !a.HostAction() {
				r.warnf(p.Line, "spec.scope", "plugin %q: %s runs on master0 only; the scope applies to host actions", p.Name, a)
			}
		}
	}
}
