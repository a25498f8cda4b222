package clusterfile

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// ImageKubeadmPath is where an image's rootfs carries its kubeadm defaults.
const ImageKubeadmPath = "etc/kubeadm.yaml"

// DefaultAPIServerPort is kubeadm's bind port when no configuration sets one.
const DefaultAPIServerPort = 6443

// controlPlaneTaint is what kubeadm puts on masters unless told otherwise.
var controlPlaneTaint = Taint{Key: "node-role.kubernetes.io/control-plane", Effect: "NoSchedule"}

// KubeadmVars are the values of one install that no file holds.
type KubeadmVars struct {
	// KubernetesVersion is used when neither the image's defaults nor the
	// Clusterfile set kubernetesVersion (kubeadm would ask the internet).
	KubernetesVersion string
	// Token is a bootstrap token (abcdef.0123456789abcdef). Set, it goes
	// into the InitConfiguration and every JoinConfiguration; empty, kubeadm
	// makes one at init and MergeKubeadm returns no join configurations.
	Token string
	// CACertHashes pin the cluster's CA for joins (sha256:<64 hex>); needed
	// with Token.
	CACertHashes []string
	// CertificateKey (64 hex) encrypts the control-plane certificates that
	// init --upload-certs uploads; control-plane joins need it.
	CertificateKey string
	// JoinHosts limits the join configurations made to these addresses
	// (every host but master0 when empty): a worker's join needs no
	// certificate key even when other masters would.
	JoinHosts []string
	// Endpoint is the controlPlaneEndpoint the cluster was made with (the
	// installer records it): used when the Clusterfile names none, so that
	// a later run never changes it.
	Endpoint string
}

var (
	tokenRE   = regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`)
	caHashRE  = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	certKeyRE = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

func (v KubeadmVars) check() error {
	if v.Token != "" && !tokenRE.MatchString(v.Token) {
		return fmt.Errorf("bootstrap token %q is not of the form [a-z0-9]{6}.[a-z0-9]{16}", v.Token)
	}
	for _, h := range v.CACertHashes {
		if !caHashRE.MatchString(h) {
			return fmt.Errorf("CA certificate hash %q is not sha256:<64 hex digits>", h)
		}
	}
	if v.CertificateKey != "" && !certKeyRE.MatchString(v.CertificateKey) {
		return fmt.Errorf("certificate key is not 64 hex digits")
	}
	if v.Token != "" && len(v.CACertHashes) == 0 {
		return fmt.Errorf("a bootstrap token needs the CA certificate hash that joins check")
	}
	return nil
}

// MergeKubeadm builds the configuration kubeadm receives. The Clusterfile's
// configuration documents are merged over the image's defaults
// (etc/kubeadm.yaml, multi-document) kind by kind: mappings merge key by key,
// anything else the Clusterfile sets replaces the default, extraArgs merge by
// argument name and apiServer.certSANs add up. Then sealpack fills what it
// must: master0's advertise address, the control-plane endpoint (the
// Clusterfile's, else master0:6443), certSANs with every master, and each
// host's taints and labels.
//
// initCfg is for `kubeadm init --config` on master0 (InitConfiguration,
// ClusterConfiguration and, when given, KubeletConfiguration and
// KubeProxyConfiguration). joinCfgs, by host address, are for `kubeadm join
// --config` on every other host; they exist only when vars.Token is set.
func MergeKubeadm(imageDefaults []byte, c *Cluster, vars KubeadmVars) (initCfg []byte, joinCfgs map[string][]byte, err error) {
	if err := vars.check(); err != nil {
		return nil, nil, err
	}
	m0, ok := c.Master0()
	if !ok {
		return nil, nil, fmt.Errorf("the cluster has no master")
	}
	defaults, err := parseDefaults(imageDefaults)
	if err != nil {
		return nil, nil, err
	}
	user := map[string]*yaml.Node{}
	userVersion := ""
	for _, d := range c.KubeadmDocs {
		user[d.Kind] = d.node
		if kubeadmKinds[d.Kind] == "kubeadm.k8s.io" && (d.APIVersion == KubeadmV1beta3 || d.APIVersion == KubeadmV1beta4) && userVersion == "" {
			userVersion = d.APIVersion
		}
	}
	version, err := kubeadmVersion(defaults, userVersion)
	if err != nil {
		return nil, nil, err
	}
	m := &merger{c: c, version: version, docs: map[string]*yaml.Node{}, hasWorkers: len(c.Nodes()) > 0}
	for _, kind := range []string{KindInit, KindClusterCf, KindJoin, KindKubelet, KindKubeProxy} {
		m.docs[kind] = m.merge(kind, defaults[kind], user[kind])
	}

	ep, err := endpointOf(c, m.docs[KindInit], user[KindClusterCf], vars.Endpoint)
	if err != nil {
		return nil, nil, err
	}
	m.endpoint, m.bindPort = ep.Addr, ep.BindPort

	if err := m.fillInit(m0, user[KindInit], vars); err != nil {
		return nil, nil, err
	}
	if err := m.fillCluster(vars); err != nil {
		return nil, nil, err
	}
	docs := []*yaml.Node{m.docs[KindInit], m.docs[KindClusterCf]}
	for _, kind := range []string{KindKubelet, KindKubeProxy} {
		if defaults[kind] != nil || user[kind] != nil {
			docs = append(docs, m.docs[kind])
		}
	}
	if initCfg, err = encodeDocs(docs); err != nil {
		return nil, nil, fmt.Errorf("writing the init configuration: %w", err)
	}
	if vars.Token == "" {
		return initCfg, nil, nil
	}
	joinCfgs = map[string][]byte{}
	for _, h := range c.Hosts() {
		if h.IP == m0.IP || len(vars.JoinHosts) > 0 && !slices.Contains(vars.JoinHosts, h.IP) {
			continue
		}
		doc, err := m.join(h, vars)
		if err != nil {
			return nil, nil, fmt.Errorf("host %s: %w", h.IP, err)
		}
		if joinCfgs[h.IP], err = encodeDocs([]*yaml.Node{doc}); err != nil {
			return nil, nil, fmt.Errorf("host %s: writing the join configuration: %w", h.IP, err)
		}
	}
	return initCfg, joinCfgs, nil
}

// parseDefaults reads the image's etc/kubeadm.yaml by kind.
func parseDefaults(data []byte) (map[string]*yaml.Node, error) {
	roots, err := decodeDocs(ImageKubeadmPath, data)
	if err != nil {
		return nil, fmt.Errorf("image defaults: %w", err)
	}
	r := &report{file: ImageKubeadmPath}
	out := map[string]*yaml.Node{}
	for _, root := range roots {
		apiVersion, kind, ok := r.header(root)
		if !ok {
			continue
		}
		if kubeadmKinds[kind] == "" {
			_, kn := topField(root, "kind")
			r.errorf(kn.Line, "kind", "%q is not a kubeadm, kubelet or kube-proxy configuration", kind)
			continue
		}
		if out[kind] != nil {
			r.errorf(root.Line, "", "a second %s document", kind)
			continue
		}
		if d, ok := r.decodeKubeadmDoc(root, apiVersion, kind); ok {
			out[kind] = d.node
		}
	}
	if err := r.err(); err != nil {
		return nil, fmt.Errorf("image defaults: %w", err)
	}
	return out, nil
}

// kubeadmVersion picks the apiVersion of the kubeadm documents: the image's,
// since the image carries the kubeadm that reads them; else the
// Clusterfile's; else v1beta3, which every kubeadm since 1.22 reads.
func kubeadmVersion(defaults map[string]*yaml.Node, userVersion string) (string, error) {
	version := ""
	for _, kind := range []string{KindInit, KindClusterCf, KindJoin} {
		v := strValue(mapGet(defaults[kind], "apiVersion"))
		if v == "" {
			continue
		}
		if v != KubeadmV1beta3 && v != KubeadmV1beta4 {
			return "", fmt.Errorf("image defaults: %s is %s; kubeadm reads %s or %s", kind, v, KubeadmV1beta3, KubeadmV1beta4)
		}
		if version != "" && v != version {
			return "", fmt.Errorf("image defaults: kubeadm documents mix %s and %s", version, v)
		}
		version = v
	}
	switch {
	case version != "":
		return version, nil
	case userVersion != "":
		return userVersion, nil
	}
	return KubeadmV1beta3, nil
}

type merger struct {
	c        *Cluster
	version  string
	docs     map[string]*yaml.Node
	endpoint string
	bindPort int
	// hasWorkers: masters keep kubeadm's control-plane taint only when
	// there are workers to run the workloads.
	hasWorkers bool
}

func (m *merger) v1beta4() bool { return m.version == KubeadmV1beta4 }

// merge returns a fresh document of kind: the defaults with the user's
// document merged over them, both in the chosen version's shape.
func (m *merger) merge(kind string, def, user *yaml.Node) *yaml.Node {
	out := mapping()
	if def != nil {
		out = cloneNode(def)
		m.normalizeArgs(kind, out)
	}
	if user != nil {
		u := cloneNode(user)
		m.normalizeArgs(kind, u)
		mergeInto(out, u, "")
	}
	apiVersion := strValue(mapGet(def, "apiVersion"))
	switch {
	case kubeadmKinds[kind] == "kubeadm.k8s.io":
		apiVersion = m.version
	case apiVersion == "":
		apiVersion = strValue(mapGet(user, "apiVersion"))
	}
	if apiVersion == "" {
		apiVersion = map[string]string{KindKubelet: "kubelet.config.k8s.io/v1beta1", KindKubeProxy: "kubeproxy.config.k8s.io/v1alpha1"}[kind]
	}
	mapDelete(out, "apiVersion")
	mapDelete(out, "kind")
	out.Content = append([]*yaml.Node{scalar("apiVersion"), scalar(apiVersion), scalar("kind"), scalar(kind)}, out.Content...)
	return out
}

// Paths whose lists add up, and paths of command-line arguments (a mapping
// in v1beta3, a list of {name, value} in v1beta4) that merge by name.
var (
	unionPaths = map[string]bool{"apiServer.certSANs": true}
	argPaths   = map[string][]string{
		KindClusterCf: {"apiServer.extraArgs", "controllerManager.extraArgs", "scheduler.extraArgs", "etcd.local.extraArgs"},
		KindInit:      {"nodeRegistration.kubeletExtraArgs"},
		KindJoin:      {"nodeRegistration.kubeletExtraArgs"},
	}
	isArgPath = map[string]bool{}
)

func init() {
	for _, paths := range argPaths {
		for _, p := range paths {
			isArgPath[p] = true
		}
	}
}

// mergeInto merges src over dst, both mappings.
func mergeInto(dst, src *yaml.Node, path string) {
	for i := 0; i+1 < len(src.Content); i += 2 {
		key, v := src.Content[i].Value, src.Content[i+1]
		p := sub(path, key)
		d := mapGet(dst, key)
		switch {
		case d != nil && d.Kind == yaml.MappingNode && v.Kind == yaml.MappingNode:
			mergeInto(d, v, p)
		case d != nil && d.Kind == yaml.SequenceNode && v.Kind == yaml.SequenceNode && unionPaths[p]:
			for _, item := range v.Content {
				if !slices.ContainsFunc(d.Content, func(x *yaml.Node) bool { return x.Value == item.Value }) {
					d.Content = append(d.Content, item)
				}
			}
		case d != nil && d.Kind == yaml.SequenceNode && v.Kind == yaml.SequenceNode && isArgPath[p]:
			d.Content = slices.DeleteFunc(d.Content, func(x *yaml.Node) bool {
				name := strValue(mapGet(x, "name"))
				return slices.ContainsFunc(v.Content, func(y *yaml.Node) bool { return strValue(mapGet(y, "name")) == name })
			})
			d.Content = append(d.Content, v.Content...)
		default:
			mapSet(dst, key, v)
		}
	}
}

// normalizeArgs rewrites argument mappings and lists into the chosen
// version's shape, so a v1beta3 Clusterfile merges into v1beta4 defaults.
func (m *merger) normalizeArgs(kind string, doc *yaml.Node) {
	for _, p := range argPaths[kind] {
		keys := strings.Split(p, ".")
		parent := mapPath(doc, keys[:len(keys)-1]...)
		args := mapGet(parent, keys[len(keys)-1])
		if args == nil {
			continue
		}
		switch {
		case m.v1beta4() && args.Kind == yaml.MappingNode:
			list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			for i := 0; i+1 < len(args.Content); i += 2 {
				item := mapping()
				mapSet(item, "name", scalar(args.Content[i].Value))
				mapSet(item, "value", scalar(args.Content[i+1].Value))
				list.Content = append(list.Content, item)
			}
			mapSet(parent, keys[len(keys)-1], list)
		case !m.v1beta4() && args.Kind == yaml.SequenceNode:
			mp := mapping()
			for _, item := range args.Content {
				if name := strValue(mapGet(item, "name")); name != "" {
					mapSet(mp, name, scalar(strValue(mapGet(item, "value"))))
				}
			}
			mapSet(parent, keys[len(keys)-1], mp)
		}
	}
}

// getArg and setArg read and write one argument of an arguments node in
// the chosen version's shape.
func (m *merger) getArg(parent *yaml.Node, field, name string) string {
	args := mapGet(parent, field)
	if args == nil {
		return ""
	}
	if args.Kind == yaml.MappingNode {
		return strValue(mapGet(args, name))
	}
	for _, item := range args.Content {
		if strValue(mapGet(item, "name")) == name {
			return strValue(mapGet(item, "value"))
		}
	}
	return ""
}

func (m *merger) setArg(parent *yaml.Node, field, name, value string) {
	args := mapGet(parent, field)
	if m.v1beta4() {
		if args == nil || args.Kind != yaml.SequenceNode {
			args = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			mapSet(parent, field, args)
		}
		for _, item := range args.Content {
			if strValue(mapGet(item, "name")) == name {
				mapSet(item, "value", scalar(value))
				return
			}
		}
		item := mapping()
		mapSet(item, "name", scalar(name))
		mapSet(item, "value", scalar(value))
		args.Content = append(args.Content, item)
		return
	}
	if args == nil || args.Kind != yaml.MappingNode {
		args = mapping()
		mapSet(parent, field, args)
	}
	mapSet(args, name, scalar(value))
}
