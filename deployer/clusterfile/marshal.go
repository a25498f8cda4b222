package clusterfile

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// The environment variables sealpack reads secrets from when a Clusterfile
// holds none (a file the wizard wrote keeps no secret).
const (
	PasswordEnv      = "SEALPACK_SSH_PASSWORD"       // spec.ssh.passwd
	SudoPasswordEnv  = "SEALPACK_SUDO_PASSWORD"      // spec.ssh.sudoPasswd
	KeyPassphraseEnv = "SEALPACK_SSH_KEY_PASSPHRASE" // spec.ssh.pkPasswd
	// RegistryPasswordEnv is spec.registry.password, and the external
	// registry's password, for the one of them that has a username.
	RegistryPasswordEnv = "SEALPACK_REGISTRY_PASSWORD"
)

// SecretsFromEnv fills the cluster-wide SSH secrets the file leaves empty
// from the environment (getenv is os.Getenv). Host groups inherit them
// unless they set their own.
func (c *Cluster) SecretsFromEnv(getenv func(string) string) {
	if v := getenv(PasswordEnv); v != "" && c.SSH.Passwd == "" {
		c.SSH.Passwd = v
	}
	if v := getenv(SudoPasswordEnv); v != "" && c.SSH.SudoPasswd == "" {
		c.SSH.SudoPasswd = v
	}
	if v := getenv(KeyPassphraseEnv); v != "" && c.SSH.PKPasswd == "" {
		c.SSH.PKPasswd = v
	}
	if v := getenv(RegistryPasswordEnv); v != "" {
		if c.Registry.Username != "" && c.Registry.Password == "" {
			c.Registry.Password = v
		}
		if e := c.Registry.External; e != nil && e.Username != "" && e.Password == "" {
			e.Password = v
		}
	}
}

// MarshalOptions tune Marshal.
type MarshalOptions struct {
	// APIVersion of the Cluster document: APIVersionIO (the default) or
	// APIVersionCloud.
	APIVersion string
}

// secretsComment heads every Clusterfile that sealpack writes.
var secretsComment = "Written by sealpack; it stores no password. sealpack reads passwd from\n" +
	PasswordEnv + ", sudoPasswd from " + SudoPasswordEnv + ", pkPasswd\n" +
	"from " + KeyPassphraseEnv + ", or the wizard asks for them."

// Marshal writes a Clusterfile from scratch (for the wizard) with every
// secret left out, so that the file can be kept and shared. The output is
// deterministic: the same cluster gives the same bytes. Consecutive
// addresses are written as ranges.
func Marshal(c *Cluster, opts MarshalOptions) ([]byte, error) {
	apiVersion := opts.APIVersion
	switch apiVersion {
	case "":
		apiVersion = APIVersionIO
	case APIVersionIO, APIVersionCloud:
	default:
		return nil, fmt.Errorf("apiVersion %q is not a Clusterfile version (%s or %s)", apiVersion, APIVersionIO, APIVersionCloud)
	}
	if c.Name == "" {
		return nil, fmt.Errorf("the cluster has no name")
	}
	spec := mapping()
	mapAdd(spec, "image", optional(c.Image))
	mapAdd(spec, "requireSignature", optional(c.RequireSignature))
	mapAdd(spec, "ssh", sshNode(c.SSH))
	hosts := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for i, g := range c.Groups {
		gn, err := groupNode(g)
		if err != nil {
			return nil, fmt.Errorf("host group %d: %w", i, err)
		}
		hosts.Content = append(hosts.Content, gn)
	}
	mapAdd(spec, "hosts", hosts)
	if len(c.Env) > 0 {
		mapAdd(spec, "env", sequence(false, c.Env...))
	}
	if c.AppNames != nil {
		mapAdd(spec, "appNames", sequence(true, c.AppNames...))
	}
	reg := mapping()
	if c.Registry.Port > 0 {
		mapAdd(reg, "port", portNode(c.Registry.Port))
	}
	if c.Registry.Insecure {
		mapAdd(reg, "insecure", scalar("true"))
	}
	mapAdd(reg, "username", optional(c.Registry.Username))
	if e := c.Registry.External; e != nil {
		ext := mapping()
		mapAdd(ext, "domain", scalar(e.Domain))
		mapAdd(ext, "port", portNode(e.Port))
		mapAdd(ext, "username", optional(e.Username))
		mapAdd(ext, "ca", optional(e.CA))
		mapAdd(reg, "externalRegistry", ext)
	}
	if len(reg.Content) > 0 {
		mapAdd(spec, "registry", reg)
	}
	meta := mapping()
	mapAdd(meta, "name", scalar(c.Name))
	cluster := mapping()
	cluster.HeadComment = secretsComment
	mapAdd(cluster, "apiVersion", scalar(apiVersion))
	mapAdd(cluster, "kind", scalar(KindCluster))
	mapAdd(cluster, "metadata", meta)
	mapAdd(cluster, "spec", spec)

	docs := []*yaml.Node{cluster}
	for _, p := range c.Plugins {
		docs = append(docs, pluginNode(p))
	}
	for _, d := range c.KubeadmDocs {
		if d.node == nil {
			continue
		}
		docs = append(docs, cloneNode(d.node))
	}
	return encodeDocs(docs)
}

// sshNode writes SSH settings without their secrets; nil when nothing is left.
func sshNode(s SSH) *yaml.Node {
	m := mapping()
	mapAdd(m, "user", optional(s.User))
	mapAdd(m, "pk", optional(s.PK))
	mapAdd(m, "port", portNode(s.Port))
	if b := s.Bastion; b != nil {
		bn := mapping()
		mapAdd(bn, "host", scalar(b.Host))
		mapAdd(bn, "port", portNode(b.Port))
		mapAdd(bn, "user", optional(b.User))
		mapAdd(bn, "pk", optional(b.PK))
		mapAdd(m, "bastion", bn)
	}
	if len(m.Content) == 0 {
		return nil
	}
	return m
}

// portNode writes a port as sealer does, a quoted string; nil for unset.
func portNode(p int) *yaml.Node {
	if p == 0 {
		return nil
	}
	return quoted(strconv.Itoa(p))
}

func groupNode(g HostGroup) (*yaml.Node, error) {
	addrs := make([]netip.Addr, len(g.IPs))
	for i, ip := range g.IPs {
		a, err := parseHostIP(ip)
		if err != nil {
			return nil, err
		}
		addrs[i] = a
	}
	m := mapping()
	ips := sequence(true, compressIPs(addrs, 3)...)
	for _, n := range ips.Content {
		if strings.Contains(n.Value, ":") {
			n.Style = yaml.DoubleQuotedStyle
		}
	}
	mapAdd(m, "ips", ips)
	mapAdd(m, "roles", sequence(true, g.Roles...))
	mapAdd(m, "ssh", sshNode(g.SSH))
	if len(g.Env) > 0 {
		mapAdd(m, "env", sequence(false, g.Env...))
	}
	if len(g.Labels) > 0 {
		keys := make([]string, 0, len(g.Labels))
		for k := range g.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		labels := mapping()
		for _, k := range keys {
			mapAdd(labels, k, scalar(g.Labels[k]))
		}
		mapAdd(m, "labels", labels)
	}
	if len(g.Taints) > 0 {
		taints := make([]string, len(g.Taints))
		for i, t := range g.Taints {
			taints[i] = t.String()
		}
		mapAdd(m, "taints", sequence(false, taints...))
	}
	return m, nil
}

func pluginNode(p Plugin) *yaml.Node {
	meta := mapping()
	mapAdd(meta, "name", scalar(p.Name))
	spec := mapping()
	mapAdd(spec, "type", scalar(p.Type))
	actions := make([]string, len(p.Actions))
	for i, a := range p.Actions {
		actions[i] = string(a)
	}
	mapAdd(spec, "action", scalar(strings.Join(actions, "|")))
	if len(p.Scope) > 0 {
		mapAdd(spec, "scope", scalar(strings.Join(p.Scope, "|")))
	}
	data := scalar(p.Data)
	data.Style = yaml.LiteralStyle
	mapAdd(spec, "data", data)
	doc := mapping()
	mapAdd(doc, "apiVersion", scalar("sealer.io/v1"))
	mapAdd(doc, "kind", scalar(KindPlugin))
	mapAdd(doc, "metadata", meta)
	mapAdd(doc, "spec", spec)
	return doc
}
