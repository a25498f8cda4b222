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
var sealerPluginTypes = map[string]bool{"HOSTNAME": true, "LABEL": true, "TAINT": true, "ETCD": true, "CLUSTERCHECK": true}

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
	if !pluginAPIVersions[apiVersion] {
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
		return p, false
	}
	var spec, specKey *yaml.Node
	var metaLine int
	nerr := len(r.errs)
	r.fields(root, "", func(k string, kn, v *yaml.Node) {
		switch k {
		case "apiVersion", "kind", "status":
		case "metadata":
			metaLine = kn.Line
			r.fields(v, "metadata", func(mk string, mkn, mv *yaml.Node) {
				switch mk {
				case "name":
					p.Name = r.str(mv, "metadata.name")
				case "creationTimestamp":
				case "annotations", "labels", "namespace":
					r.warnf(mkn.Line, sub("metadata", mk), "plugin %s are not used by sealpack; ignored", mk)
				default:
					r.unknown(mkn, "metadata", mk, []string{"name"})
				}
			})
		case "spec":
			spec, specKey = v, kn
		default:
			r.unknown(kn, "", k, []string{"apiVersion", "kind", "metadata", "spec"})
		}
	})
	if p.Name == "" {
		r.errorf(max(metaLine, root.Line), "metadata.name", "missing: plugins run by name")
	}
	if specKey == nil {
		r.errorf(root.Line, "spec", "missing: a plugin has type, action and data")
		return p, false
	}
	var action, scope, on string
	var actionNode, scopeNode, onNode, typeNode *yaml.Node
	r.fields(spec, "spec", func(k string, kn, v *yaml.Node) {
		path := sub("spec", k)
		switch k {
		case "type":
			p.Type, typeNode = strings.TrimSpace(r.str(v, path)), v
		case "action":
			action, actionNode = r.str(v, path), v
		case "scope":
			scope, scopeNode = r.str(v, path), v
		case "on":
			on, onNode = r.str(v, path), v
		case "data":
			p.Data = r.str(v, path)
		default:
			r.unknown(kn, "spec", k, []string{"type", "action", "scope", "on", "data"})
		}
	})
	if len(r.errs) > nerr {
		return p, false
	}
	switch {
	case p.Type == "" && sealerPluginTypes[strings.ToUpper(p.Name)], p.Type == "" && strings.EqualFold(p.Name, "SHELL"):
		p.Type = strings.ToUpper(p.Name)
	case p.Type == "":
		r.errorf(specKey.Line, "spec.type", "missing: sealpack runs SHELL plugins")
		return p, false
	}
	if !strings.EqualFold(p.Type, "SHELL") {
		line := specKey.Line
		if typeNode != nil {
			line = typeNode.Line
		}
		r.warnf(line, "spec.type", "plugin type %q is not implemented by sealpack (only SHELL); plugin %q ignored", p.Type, p.Name)
		return p, false
	}
	p.Type = "SHELL"
	p.Actions, keep = r.pluginActions(action, actionNode, specKey, p.Name)
	switch {
	case scopeNode != nil && onNode != nil && scope != "" && on != "":
		r.errorf(onNode.Line, "spec.on", "give spec.scope or sealer's older spec.on, not both")
		return p, false
	case on != "" && strings.Contains(on, "="):
		r.warnf(onNode.Line, "spec.on", "label selectors (%s) are not implemented by sealpack; plugin %q ignored (use spec.scope with roles or addresses)", on, p.Name)
		keep = false
	case on != "":
		p.Scope = r.pluginScope(on, onNode, "spec.on")
	default:
		p.Scope = r.pluginScope(scope, scopeNode, "spec.scope")
	}
	if strings.TrimSpace(p.Data) == "" {
		r.errorf(specKey.Line, "spec.data", "missing: the plugin's shell script")
		return p, false
	}
	if len(r.errs) > nerr {
		return p, false
	}
	return p, keep
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
