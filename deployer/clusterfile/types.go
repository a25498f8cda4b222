// Package clusterfile reads, checks, edits and writes Clusterfiles: sealer's v2
// cluster description (apiVersion sealer.cloud/v2 or sealer.io/v2), with its
// Plugin documents and the kubeadm, kubelet and kube-proxy configuration
// documents that travel in the same multi-document YAML file.
//
// Parse is strict: a field sealer knows but sealpack does not implement is a
// Warning that names it, and every other unknown field is an error with its
// line, so that a typo is never silently ignored.
package clusterfile

import (
	"fmt"
	"net"
	"strconv"

	yaml "go.yaml.in/yaml/v3"
)

// API versions and kinds of the documents a Clusterfile holds.
const (
	APIVersionCloud = "sealer.cloud/v2" // as in sealer's published examples
	APIVersionIO    = "sealer.io/v2"    // what later sealer releases write

	KindCluster = "Cluster"
	KindPlugin  = "Plugin"
)

// Role names with a meaning for the installer; any other role becomes a label.
const (
	RoleMaster = "master"
	RoleNode   = "node"
)

// RoleLabelPrefix prefixes the node label given for each role other than
// master and node (roles: [node, db] labels the node node-role.kubernetes.io/db="",
// which kubectl shows in its ROLES column).
const RoleLabelPrefix = "node-role.kubernetes.io/"

// DefaultSSHPort and DefaultSSHUser apply when neither the cluster nor the
// host group sets them.
const (
	DefaultSSHPort = 22
	DefaultSSHUser = "root"
)

// Cluster is a parsed Clusterfile.
type Cluster struct {
	APIVersion string // APIVersionCloud or APIVersionIO, as written
	Name       string // metadata.name
	Image      string // spec.image; "" means the running installer itself
	SSH        SSH    // defaults for every host
	// Groups are spec.hosts as written, with IP ranges expanded. (The
	// resolved per-host view is Hosts().)
	Groups   []HostGroup
	Env      []string // KEY=VALUE, given to every script and CMD
	Registry Registry
	// RequireSignature is spec.requireSignature: a public key file (the
	// vendor's NAME.pub; relative to the Clusterfile) by which the installer
	// must be signed, or install, join, delete and reset touch no host. ""
	// requires nothing.
	RequireSignature string
	// AppNames is spec.appNames: the carried apps to launch, in that order.
	// Nil means the installer's default (its LAUNCH list); empty, none.
	AppNames []string
	// AppNamesAt is where spec.appNames is written ("Clusterfile:12"), so
	// that a name the installer does not carry is reported there.
	AppNamesAt string
	// Plugins are the Plugin documents that sealpack runs (SHELL and EXEC
	// plugins with at least one implemented action; HOSTNAME, LABEL and
	// TAINT plugins), sorted by name: the order in which the plugins of
	// one action run.
	Plugins []Plugin
	// KubeadmDocs are the kubeadm, kubelet and kube-proxy configuration
	// documents, in file order, merged over the image defaults by MergeKubeadm.
	KubeadmDocs []KubeadmDoc
}

// SSH says how to log in to a host. Empty fields are unset: a host group's
// SSH overrides only the fields it sets.
type SSH struct {
	User       string
	Passwd     string // password login; also answers sudo unless SudoPasswd is set
	SudoPasswd string // sudo password when it differs from Passwd, or with key login
	PK         string // private key file; ssh-agent when neither PK nor Passwd is set
	PKPasswd   string // passphrase of PK
	Port       int    // 0: unset
	Bastion    *Bastion
}

// Bastion is a jump host that connections to the cluster hosts go through.
type Bastion struct {
	Host     string // IP address or host name
	Port     int    // 0: unset (22)
	User     string
	Passwd   string
	PK       string
	PKPasswd string
}

// HostGroup is one entry of spec.hosts.
type HostGroup struct {
	IPs    []string // every address, ranges expanded, in the order written
	Roles  []string
	SSH    SSH      // overrides of the cluster's SSH
	Env    []string // KEY=VALUE; a key set here replaces the cluster's for these hosts
	Labels map[string]string
	Taints []Taint
	Line   int // line of the group in the Clusterfile
}

// Taint is a node taint written key[=value]:Effect. A trailing "-"
// (key:Effect-) removes a taint that the host would otherwise get, such as
// the control-plane taint kubeadm puts on masters.
type Taint struct {
	Key    string
	Value  string
	Effect string // NoSchedule, PreferNoSchedule or NoExecute
	Remove bool
}

func (t Taint) String() string {
	s := t.Key
	if t.Value != "" {
		s += "=" + t.Value
	}
	s += ":" + t.Effect
	if t.Remove {
		s += "-"
	}
	return s
}

// Registry is spec.registry.
type Registry struct {
	// Port of the registry on every master (0: the default, 5000).
	Port int
	// Insecure serves the masters' registries over plain HTTP instead of
	// TLS with the cluster's CA: only when the user asks for it.
	Insecure bool
	// Username and Password, when set, are required for pulls from the
	// masters' registries (htpasswd); every host's containerd gets them.
	Username, Password string
	External           *ExternalRegistry // nil: the masters serve the images
}

// DefaultRegistryPort is the port of the registry on every master.
const DefaultRegistryPort = 5000

// RegistryPort is the port of the registry on every master.
func (c *Cluster) RegistryPort() int {
	if c.Registry.Port > 0 {
		return c.Registry.Port
	}
	return DefaultRegistryPort
}

// RegistryAddrs are the host:port of the registry on every master.
func (c *Cluster) RegistryAddrs() []string {
	var out []string
	for _, m := range c.Masters() {
		out = append(out, net.JoinHostPort(m.IP, strconv.Itoa(c.RegistryPort())))
	}
	return out
}

// ImageRegistries says where the cluster's images are served once the
// install is done, the installer gone: the registry of every master, or the
// site's registry.
func (c *Cluster) ImageRegistries() []string {
	if e := c.Registry.External; e != nil {
		return []string{"https://" + e.Addr()}
	}
	scheme := "https://"
	if c.Registry.Insecure {
		scheme = "http://"
	}
	var out []string
	for _, a := range c.RegistryAddrs() {
		out = append(out, scheme+a)
	}
	return out
}

// ExternalRegistry is a registry at the site that receives the images.
type ExternalRegistry struct {
	Domain   string
	Port     int // 0: unset
	Username string
	Password string
	// CA is a PEM file on the jump host with the CA that signed the
	// registry's certificate, when it is not one the hosts trust already.
	CA string
}

// Addr is the registry's host[:port].
func (e *ExternalRegistry) Addr() string {
	if e.Port > 0 {
		return net.JoinHostPort(e.Domain, strconv.Itoa(e.Port))
	}
	return e.Domain
}

// Action is when a plugin runs.
type Action string

// Plugin actions. Host actions run on the hosts of the plugin's scope, cluster
// actions on master0.
const (
	PreInitHost   Action = "pre-init-host"
	PostInitHost  Action = "post-init-host"
	PreInstall    Action = "pre-install"
	PostInstall   Action = "post-install"
	PreScaleUp    Action = "pre-scaleup"
	PostScaleUp   Action = "post-scaleup"
	PreCleanHost  Action = "pre-clean-host"
	PostCleanHost Action = "post-clean-host"
)

// HostAction reports whether a runs on the hosts of a plugin's scope rather
// than on master0 only.
func (a Action) HostAction() bool {
	switch a {
	case PreInitHost, PostInitHost, PreCleanHost, PostCleanHost:
		return true
	}
	return false
}

// Plugin is a Plugin document that sealpack runs.
type Plugin struct {
	Name    string
	Type    string   // PluginShell, PluginExec, PluginHostname, PluginLabel or PluginTaint
	Actions []Action // one or more (sealer writes several as "a|b")
	// Scope lists roles, IP addresses and "master0"; a host is in scope when
	// it matches any of them. Empty means every host.
	Scope []string
	Data  string // SHELL: the script; EXEC: the executable's path (plugins/...)
	// Lines are a HOSTNAME, LABEL or TAINT plugin's data, a line per host.
	Lines []PluginLine
	Line  int
}

// RunsAt reports whether the plugin runs at action a.
func (p Plugin) RunsAt(a Action) bool {
	for _, x := range p.Actions {
		if x == a {
			return true
		}
	}
	return false
}

// KubeadmDoc is a kubeadm, kubelet or kube-proxy configuration document of
// the Clusterfile.
type KubeadmDoc struct {
	APIVersion string // as written; "" when the document gives only its kind (sealer allows it)
	Kind       string
	Line       int
	node       *yaml.Node // the document's mapping, aliases expanded
}

// YAML returns the document as YAML text.
func (d KubeadmDoc) YAML() ([]byte, error) {
	if d.node == nil {
		return nil, fmt.Errorf("%s document has no content", d.Kind)
	}
	return encodeDocs([]*yaml.Node{d.node})
}
