package clusterfile

import (
	"net/netip"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// decodeGroups reads spec.hosts. An address may appear only once in the
// whole list.
func (r *report) decodeGroups(n *yaml.Node, path string) []HostGroup {
	var groups []HostGroup
	seen := map[netip.Addr]int{}
	r.list(n, path, func(i int, v *yaml.Node) {
		if len(seen) > maxHosts {
			return
		}
		g := r.decodeGroup(v, idx(path, i), seen)
		groups = append(groups, g)
	})
	if len(seen) > maxHosts {
		r.errorf(n.Line, path, "more than %d hosts", maxHosts)
	}
	return groups
}

// maxHosts is Kubernetes' own limit on the size of a cluster; past it a
// Clusterfile is surely a mistake (a range too wide).
const maxHosts = 5000

func (r *report) decodeGroup(n *yaml.Node, path string, seen map[netip.Addr]int) HostGroup {
	g := HostGroup{Line: n.Line}
	if isNull(n) {
		r.errorf(n.Line, path, "empty entry: a host group has ips and roles")
		return g
	}
	var sawIPs, sawRoles bool
	r.decodeFields(n, path, []field{
		{"ips", func(k, v *yaml.Node, p string) {
			sawIPs = true
			g.IPs = r.decodeIPs(v, p, seen)
			if len(g.IPs) == 0 && isNull(v) {
				r.errorf(k.Line, p, "empty: list the group's addresses")
			}
		}},
		{"roles", func(k, v *yaml.Node, p string) { sawRoles = true; g.Roles = r.decodeRoles(v, k, p) }},
		{"ssh", func(_, v *yaml.Node, p string) { g.SSH = r.decodeSSH(v, p) }},
		{"env", func(_, v *yaml.Node, p string) { g.Env = r.envList(v, p) }},
		{"labels", func(_, v *yaml.Node, p string) { g.Labels = r.decodeLabels(v, p) }},
		{"taints", func(_, v *yaml.Node, p string) { g.Taints = r.decodeTaints(v, p) }},
	}, nil)
	if !sawIPs {
		r.errorf(n.Line, sub(path, "ips"), "missing: list the group's addresses")
	}
	if !sawRoles {
		r.errorf(n.Line, sub(path, "roles"), "missing: give the group's roles (master, node)")
	}
	return g
}

// decodeLabels reads a group's labels; nil when it has none.
func (r *report) decodeLabels(n *yaml.Node, path string) map[string]string {
	var labels map[string]string
	r.fields(n, path, func(key string, lk, lv *yaml.Node) {
		val := r.str(lv, sub(path, key))
		if err := checkLabelKey(key); err != nil {
			r.errorf(lk.Line, sub(path, key), "%v", err)
			return
		}
		if err := checkLabelValue(val); err != nil {
			r.errorf(lv.Line, sub(path, key), "%v", err)
			return
		}
		if labels == nil {
			labels = map[string]string{}
		}
		labels[key] = val
	})
	return labels
}

func (r *report) decodeTaints(n *yaml.Node, path string) []Taint {
	var taints []Taint
	r.list(n, path, func(i int, tv *yaml.Node) {
		s := r.str(tv, idx(path, i))
		t, err := parseTaint(s)
		if err != nil {
			r.errorf(tv.Line, idx(path, i), "%v", err)
			return
		}
		taints = append(taints, t)
	})
	return taints
}

func (r *report) decodeIPs(n *yaml.Node, path string, seen map[netip.Addr]int) []string {
	var out []string
	r.list(n, path, func(i int, v *yaml.Node) {
		p := idx(path, i)
		s := r.str(v, p)
		if s == "" {
			r.errorf(v.Line, p, "empty entry")
			return
		}
		addrs, err := expandIPs(s)
		if err != nil {
			r.errorf(v.Line, p, "%v", err)
			return
		}
		for _, a := range addrs {
			if first, dup := seen[a]; dup {
				r.errorf(v.Line, p, "%s is listed twice (first at line %d)", a, first)
				continue
			}
			seen[a] = v.Line
			out = append(out, a.String())
		}
	})
	if isNull(n) || len(out) > 0 {
		return out
	}
	if s := deref(n); s.Kind == yaml.SequenceNode && len(s.Content) == 0 {
		r.errorf(n.Line, path, "empty: list the group's addresses")
	}
	return out
}

func (r *report) decodeRoles(n, key *yaml.Node, path string) []string {
	var roles []string
	have := map[string]bool{}
	r.list(n, path, func(i int, v *yaml.Node) {
		p := idx(path, i)
		role := r.str(v, p)
		if err := checkRole(role); err != nil {
			r.errorf(v.Line, p, "%v", err)
			return
		}
		if !have[role] {
			have[role] = true
			roles = append(roles, role)
		}
	})
	if !have[RoleMaster] && !have[RoleNode] {
		hint := ""
		for _, role := range roles {
			if strings.EqualFold(role, RoleMaster) || strings.EqualFold(role, RoleNode) {
				hint = " (role names are lower case)"
			}
		}
		r.errorf(key.Line, path, "must include master or node%s", hint)
	}
	return roles
}

func hasRole(groups []HostGroup, role string) bool {
	for _, g := range groups {
		for _, r := range g.Roles {
			if r == role {
				return true
			}
		}
	}
	return false
}
