package clusterfile

import (
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Each decoder reads its kind through one table of known fields (see
// decodeFields): the same table dispatches and names the suggestions for an
// unknown field.

// sealerV1 are fields of sealer's v1 Cluster, which a v2 file must not use.
var sealerV1 = map[string]bool{"provider": true, "network": true, "certSANS": true, "masters": true, "nodes": true}

// sealerOnly is a field of sealer's v2 Cluster that sealpack does not
// implement (what says what it is for): a warning, not an error, so sealer
// Clusterfiles still load.
func (r *report) sealerOnly(name, what string) field {
	return field{name, func(k, _ *yaml.Node, path string) { r.sealerWarn(k, path, what) }}
}

func (r *report) sealerWarn(k *yaml.Node, path, what string) {
	r.warnf(k.Line, path, "a sealer field that sealpack does not implement (%s); ignored", what)
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
	r.decodeFields(root, "", []field{
		{"apiVersion", skip},
		{"kind", skip},
		{"metadata", func(k, v *yaml.Node, _ string) { sawMeta = true; c.Name = r.decodeMeta(v, k) }},
		{"spec", func(k, v *yaml.Node, _ string) { sawSpec = true; r.decodeSpec(v, k, c) }},
		{"status", skip}, // written by sealer when it saves a Clusterfile
	}, nil)
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
	r.decodeFields(n, "metadata", []field{
		{"name", func(_, v *yaml.Node, p string) { name, nameLine = r.str(v, p), v.Line }},
		r.sealerOnly("annotations", "cluster annotations"),
		r.sealerOnly("labels", "cluster labels"),
		r.sealerOnly("namespace", "cluster namespace"),
		{"creationTimestamp", skip}, // sealer writes "creationTimestamp: null" when it saves a file
	}, nil)
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
	r.decodeFields(n, "spec", []field{
		{"image", func(_, v *yaml.Node, p string) { c.Image = r.str(v, p) }},
		{"env", func(_, v *yaml.Node, p string) { c.Env = r.envList(v, p) }},
		{"ssh", func(_, v *yaml.Node, p string) { c.SSH = r.decodeSSH(v, p) }},
		{"hosts", func(k, v *yaml.Node, p string) { hostsKey = k; c.Groups = r.decodeGroups(v, p) }},
		{"registry", func(_, v *yaml.Node, p string) { c.Registry = r.decodeRegistry(v, p) }},
		{"requireSignature", func(_, v *yaml.Node, p string) {
			if c.RequireSignature = r.str(v, p); c.RequireSignature == "" {
				r.errorf(v.Line, p, "empty: the public key file (NAME.pub) the installer must be signed by")
			}
		}},
		r.sealerOnly("cmd", "replacement of the image's CMD lines"),
		r.sealerOnly("cmd_args", "arguments for the image's CMD templates"),
		{"appNames", func(k, v *yaml.Node, p string) {
			c.AppNames, c.AppNamesAt = r.appNames(v, p), position(r.file, k.Line, "")
		}},
		r.sealerOnly("containerRuntime", "the container runtime is the one the image's init-host script installs"),
		r.sealerOnly("hostAliases", "/etc/hosts entries for the hosts"),
		r.sealerOnly("dataRoot", "sealer's data directory (sealpack uses /var/lib/sealpack)"),
	}, r.sealerV1Field)
	switch {
	case hostsKey == nil:
		r.errorf(key.Line, "spec.hosts", "missing: list the hosts with their roles (master, node)")
	case len(c.Groups) == 0:
		r.errorf(hostsKey.Line, "spec.hosts", "empty: list the hosts with their roles (master, node)")
	case !hasRole(c.Groups, RoleMaster):
		r.errorf(hostsKey.Line, "spec.hosts", "no host has the role master: a cluster needs at least one")
	}
}

// sealerV1Field reports a field of sealer's v1 Cluster in spec; false for
// any other key.
func (r *report) sealerV1Field(key string, k *yaml.Node, path string) bool {
	if !sealerV1[key] {
		return false
	}
	r.errorf(k.Line, path, "unknown field: %s belongs to sealer's v1 Clusterfile; v2 lists hosts, with their roles, under spec.hosts", key)
	return true
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
	r.decodeFields(n, path, []field{
		{"user", r.strField(&s.User)},
		{"passwd", r.strField(&s.Passwd)},
		{"sudoPasswd", r.strField(&s.SudoPasswd)},
		{"pk", r.strField(&s.PK)},
		{"pkPasswd", r.strField(&s.PKPasswd)},
		{"port", r.portField(&s.Port)},
		{"bastion", func(k, v *yaml.Node, p string) { s.Bastion = r.decodeBastion(v, k, p) }},
		// Named as in spec.ssh wherever it stands (a group's ssh too).
		{"encrypted", func(k, _ *yaml.Node, _ string) { r.sealerWarn(k, "spec.ssh.encrypted", "sealer's encrypted passwords") }},
	}, nil)
	return s
}

func (r *report) decodeBastion(n, key *yaml.Node, path string) *Bastion {
	if isNull(n) {
		return nil
	}
	b := &Bastion{}
	r.decodeFields(n, path, []field{
		{"host", func(_, v *yaml.Node, p string) {
			b.Host = strings.TrimSpace(r.str(v, p))
			if strings.ContainsAny(b.Host, " \t/") {
				r.errorf(v.Line, p, "%q is not a host name or IP address", b.Host)
			}
		}},
		{"port", r.portField(&b.Port)},
		{"user", r.strField(&b.User)},
		{"passwd", r.strField(&b.Passwd)},
		{"pk", r.strField(&b.PK)},
		{"pkPasswd", r.strField(&b.PKPasswd)},
	}, nil)
	if b.Host == "" {
		r.errorf(key.Line, sub(path, "host"), "missing: the bastion's address")
	}
	return b
}

// strField, portField and boolField read a field's value into dst.
func (r *report) strField(dst *string) func(_, v *yaml.Node, path string) {
	return func(_, v *yaml.Node, path string) { *dst = r.str(v, path) }
}

func (r *report) portField(dst *int) func(_, v *yaml.Node, path string) {
	return func(_, v *yaml.Node, path string) { *dst = r.port(v, path) }
}

func (r *report) boolField(dst *bool) func(_, v *yaml.Node, path string) {
	return func(_, v *yaml.Node, path string) { *dst = r.boolean(v, path) }
}
