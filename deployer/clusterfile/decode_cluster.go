package clusterfile

import (
	"net/netip"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// sealerOnly are fields of sealer's v2 Cluster that sealpack does not
// implement: they are warnings, not errors, so sealer Clusterfiles still load.
var sealerOnly = map[string]string{
	"spec.cmd_args":         "arguments for the image's CMD templates",
	"spec.cmd":              "replacement of the image's CMD lines",
	"spec.appNames":         "choice of the image's applications",
	"spec.containerRuntime": "the container runtime is the one the image's init-host script installs",
	"spec.hostAliases":      "/etc/hosts entries for the hosts",
	"spec.dataRoot":         "sealer's data directory (sealpack uses /var/lib/sealpack)",
	"spec.ssh.encrypted":    "sealer's encrypted passwords",
	"metadata.annotations":  "cluster annotations",
	"metadata.labels":       "cluster labels",
	"metadata.namespace":    "cluster namespace",
}

// sealerV1 are fields of sealer's v1 Cluster, which a v2 file must not use.
var sealerV1 = map[string]bool{"provider": true, "network": true, "certSANS": true, "masters": true, "nodes": true}

func (r *report) sealerField(k *yaml.Node, path string) {
	r.warnf(k.Line, path, "a sealer field that sealpack does not implement (%s); ignored", sealerOnly[path])
}

func (r *report) decodeCluster(root *yaml.Node, apiVersion string, c *Cluster) {
	_, av := topField(root, "apiVersion")
	switch apiVersion {
	case APIVersionCloud, APIVersionIO:
		c.APIVersion = apiVersion
	case "":
		r.errorf(root.Line, "apiVersion", "missing (%s or %s)", APIVersionIO, APIVersionCloud)
		return
	case "sealer.aliyun.com/v1alpha1", "sealer.cloud/v1", "sealer.io/v1", "zlink.aliyun.com/v1alpha1":
		r.errorf(av.Line, "apiVersion", "%s is sealer's v1 Clusterfile, which sealpack does not read: write apiVersion %s with spec.hosts (see sealer's v2 examples)", apiVersion, APIVersionIO)
		return
	default:
		r.errorf(av.Line, "apiVersion", "%q is not a Clusterfile version (%s or %s)%s", apiVersion, APIVersionIO, APIVersionCloud, suggest(apiVersion, []string{APIVersionIO, APIVersionCloud}))
		return
	}
	var sawSpec, sawMeta bool
	r.fields(root, "", func(key string, k, v *yaml.Node) {
		switch key {
		case "apiVersion", "kind":
		case "metadata":
			sawMeta = true
			c.Name = r.decodeMeta(v, k)
		case "spec":
			sawSpec = true
			r.decodeSpec(v, k, c)
		case "status":
			// Written by sealer when it saves a Clusterfile; nothing to read.
		default:
			r.unknown(k, "", key, []string{"apiVersion", "kind", "metadata", "spec", "status"})
		}
	})
	if !sawMeta {
		r.errorf(root.Line, "metadata.name", "missing: the cluster needs a name")
	}
	if !sawSpec {
		r.errorf(root.Line, "spec", "missing: the Cluster document lists its hosts under spec.hosts")
	}
}

// decodeMeta reads a Cluster's metadata and returns its name.
func (r *report) decodeMeta(n, key *yaml.Node) string {
	var name string
	var nameLine int
	r.fields(n, "metadata", func(k string, kn, v *yaml.Node) {
		path := sub("metadata", k)
		switch {
		case k == "name":
			name, nameLine = r.str(v, path), v.Line
		case k == "creationTimestamp":
			// sealer writes "creationTimestamp: null" when it saves a file.
		case sealerOnly[path] != "":
			r.sealerField(kn, path)
		default:
			r.unknown(kn, "metadata", k, []string{"name", "annotations", "labels"})
		}
	})
	switch {
	case name == "":
		r.errorf(key.Line, "metadata.name", "missing: the cluster needs a name")
	case strings.ContainsAny(name, "/\\ \t\r\n\x00") || len(name) > 253:
		r.errorf(nameLine, "metadata.name", "%q is not a usable name: no spaces, slashes or control characters, at most 253 characters", name)
	}
	return name
}

func (r *report) decodeSpec(n, key *yaml.Node, c *Cluster) {
	var hostsKey *yaml.Node
	r.fields(n, "spec", func(k string, kn, v *yaml.Node) {
		path := sub("spec", k)
		switch {
		case k == "image":
			c.Image = r.str(v, path)
		case k == "env":
			c.Env = r.envList(v, path)
		case k == "ssh":
			c.SSH = r.decodeSSH(v, path)
		case k == "hosts":
			hostsKey = kn
			c.Groups = r.decodeGroups(v, path)
		case k == "registry":
			c.Registry = r.decodeRegistry(v, path)
		case sealerOnly[path] != "":
			r.sealerField(kn, path)
		case sealerV1[k]:
			r.errorf(kn.Line, path, "unknown field: %s belongs to sealer's v1 Clusterfile; v2 lists hosts, with their roles, under spec.hosts", k)
		default:
			r.unknown(kn, "spec", k, []string{"image", "env", "ssh", "hosts", "registry", "cmd", "cmd_args", "appNames", "containerRuntime", "hostAliases", "dataRoot"})
		}
	})
	switch {
	case hostsKey == nil:
		r.errorf(key.Line, "spec.hosts", "missing: list the hosts with their roles (master, node)")
	case len(c.Groups) == 0:
		r.errorf(hostsKey.Line, "spec.hosts", "empty: list the hosts with their roles (master, node)")
	case !hasRole(c.Groups, RoleMaster):
		r.errorf(hostsKey.Line, "spec.hosts", "no host has the role master: a cluster needs at least one")
	}
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

func (r *report) envList(n *yaml.Node, path string) []string {
	var out []string
	r.list(n, path, func(i int, v *yaml.Node) {
		p := idx(path, i)
		if isNull(v) {
			r.errorf(v.Line, p, "empty entry")
			return
		}
		e := r.str(v, p)
		if err := checkEnv(e); err != nil {
			r.errorf(v.Line, p, "%v", err)
			return
		}
		out = append(out, e)
	})
	return out
}

func (r *report) decodeSSH(n *yaml.Node, path string) SSH {
	var s SSH
	r.fields(n, path, func(k string, kn, v *yaml.Node) {
		p := sub(path, k)
		switch k {
		case "user":
			s.User = r.str(v, p)
		case "passwd":
			s.Passwd = r.str(v, p)
		case "sudoPasswd":
			s.SudoPasswd = r.str(v, p)
		case "pk":
			s.PK = r.str(v, p)
		case "pkPasswd":
			s.PKPasswd = r.str(v, p)
		case "port":
			s.Port = r.port(v, p)
		case "bastion":
			s.Bastion = r.decodeBastion(v, kn, p)
		case "encrypted":
			r.sealerField(kn, "spec.ssh.encrypted")
		default:
			r.unknown(kn, path, k, []string{"user", "passwd", "sudoPasswd", "pk", "pkPasswd", "port", "bastion"})
		}
	})
	return s
}

func (r *report) decodeBastion(n, key *yaml.Node, path string) *Bastion {
	if isNull(n) {
		return nil
	}
	b := &Bastion{}
	r.fields(n, path, func(k string, kn, v *yaml.Node) {
		p := sub(path, k)
		switch k {
		case "host":
			b.Host = strings.TrimSpace(r.str(v, p))
			if strings.ContainsAny(b.Host, " \t/") {
				r.errorf(v.Line, p, "%q is not a host name or IP address", b.Host)
			}
		case "port":
			b.Port = r.port(v, p)
		case "user":
			b.User = r.str(v, p)
		case "passwd":
			b.Passwd = r.str(v, p)
		case "pk":
			b.PK = r.str(v, p)
		case "pkPasswd":
			b.PKPasswd = r.str(v, p)
		default:
			r.unknown(kn, path, k, []string{"host", "port", "user", "passwd", "pk", "pkPasswd"})
		}
	})
	if b.Host == "" {
		r.errorf(key.Line, sub(path, "host"), "missing: the bastion's address")
	}
	return b
}

func (r *report) decodeRegistry(n *yaml.Node, path string) Registry {
	var reg Registry
	r.fields(n, path, func(k string, kn, v *yaml.Node) {
		p := sub(path, k)
		switch {
		case k == "externalRegistry":
			if isNull(v) {
				return
			}
			ext := &ExternalRegistry{}
			r.fields(v, p, func(k2 string, kn2, v2 *yaml.Node) {
				p2 := sub(p, k2)
				switch k2 {
				case "domain":
					ext.Domain = strings.TrimSpace(r.str(v2, p2))
				case "port":
					ext.Port = r.port(v2, p2)
				case "username":
					ext.Username = r.str(v2, p2)
				case "password":
					ext.Password = r.str(v2, p2)
				case "ca":
					ext.CA = strings.TrimSpace(r.str(v2, p2))
				default:
					r.unknown(kn2, p, k2, []string{"domain", "port", "username", "password", "ca"})
				}
			})
			if ext.Domain == "" {
				r.errorf(kn.Line, sub(p, "domain"), "missing: the registry's host name")
			}
			if ext.Username == "" && ext.Password != "" {
				r.errorf(kn.Line, p, "a password without a username: give both, or neither for anonymous pulls")
			}
			reg.External = ext
		case k == "localRegistry":
			// sealer's registry on the masters is sealpack's: the fields
			// that mean the same are read, the others named.
			r.fields(v, p, func(k2 string, kn2, v2 *yaml.Node) {
				p2 := sub(p, k2)
				switch k2 {
				case "port":
					reg.Port = r.port(v2, p2)
				case "username":
					reg.Username = r.str(v2, p2)
				case "password":
					reg.Password = r.str(v2, p2)
				case "insecure":
					reg.Insecure = r.boolean(v2, p2)
				case "ha":
					r.warnf(kn2.Line, p2, "ignored: sealpack runs the registry on every master")
				case "domain":
					r.warnf(kn2.Line, p2, "ignored: the masters' registries answer to their IPs and to %s", "sealpack.registry")
				case "cert":
					r.warnf(kn2.Line, p2, "ignored: sealpack makes a CA for the cluster and a certificate for every master")
				default:
					r.unknown(kn2, p, k2, []string{"port", "username", "password", "insecure", "ha", "domain", "cert"})
				}
			})
		case k == "port":
			reg.Port = r.port(v, p)
		case k == "insecure":
			reg.Insecure = r.boolean(v, p)
		case k == "username":
			reg.Username = r.str(v, p)
		case k == "password":
			reg.Password = r.str(v, p)
		default:
			r.unknown(kn, path, k, []string{"port", "insecure", "username", "password", "externalRegistry", "localRegistry"})
		}
	})
	if reg.Username == "" && reg.Password != "" {
		r.errorf(n.Line, path, "a password without a username: give both to require them for pulls, or neither")
	}
	if reg.Username != "" && reg.Insecure {
		r.errorf(n.Line, path, "username and password over plain HTTP (insecure: true) would travel in clear text: drop insecure, or the credentials")
	}
	return reg
}

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
	r.fields(n, path, func(k string, kn, v *yaml.Node) {
		p := sub(path, k)
		switch k {
		case "ips":
			sawIPs = true
			g.IPs = r.decodeIPs(v, p, seen)
			if len(g.IPs) == 0 && isNull(v) {
				r.errorf(kn.Line, p, "empty: list the group's addresses")
			}
		case "roles":
			sawRoles = true
			g.Roles = r.decodeRoles(v, kn, p)
		case "ssh":
			g.SSH = r.decodeSSH(v, p)
		case "env":
			g.Env = r.envList(v, p)
		case "labels":
			r.fields(v, p, func(key string, lk, lv *yaml.Node) {
				val := r.str(lv, sub(p, key))
				if err := checkLabelKey(key); err != nil {
					r.errorf(lk.Line, sub(p, key), "%v", err)
					return
				}
				if err := checkLabelValue(val); err != nil {
					r.errorf(lv.Line, sub(p, key), "%v", err)
					return
				}
				if g.Labels == nil {
					g.Labels = map[string]string{}
				}
				g.Labels[key] = val
			})
		case "taints":
			r.list(v, p, func(i int, tv *yaml.Node) {
				s := r.str(tv, idx(p, i))
				t, err := parseTaint(s)
				if err != nil {
					r.errorf(tv.Line, idx(p, i), "%v", err)
					return
				}
				g.Taints = append(g.Taints, t)
			})
		default:
			r.unknown(kn, path, k, []string{"ips", "roles", "ssh", "env", "labels", "taints"})
		}
	})
	if !sawIPs {
		r.errorf(n.Line, sub(path, "ips"), "missing: list the group's addresses")
	}
	if !sawRoles {
		r.errorf(n.Line, sub(path, "roles"), "missing: give the group's roles (master, node)")
	}
	return g
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
