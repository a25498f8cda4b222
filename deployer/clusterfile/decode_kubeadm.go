package clusterfile

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Kinds of the Kubernetes configuration documents, with their API group.
const (
	KindInit      = "InitConfiguration"
	KindClusterCf = "ClusterConfiguration"
	KindJoin      = "JoinConfiguration"
	KindKubelet   = "KubeletConfiguration"
	KindKubeProxy = "KubeProxyConfiguration"
)

var kubeadmKinds = map[string]string{
	KindInit:      "kubeadm.k8s.io",
	KindClusterCf: "kubeadm.k8s.io",
	KindJoin:      "kubeadm.k8s.io",
	KindKubelet:   "kubelet.config.k8s.io",
	KindKubeProxy: "kubeproxy.config.k8s.io",
}

// Versions of kubeadm's configuration that kubeadm reads today.
const (
	KubeadmV1beta3 = "kubeadm.k8s.io/v1beta3"
	KubeadmV1beta4 = "kubeadm.k8s.io/v1beta4"
)

var k8sVersionRE = regexp.MustCompile(`^v[1-9][0-9]*((alpha|beta)[1-9][0-9]*)?$`)

// checkKubeAPIVersion checks that a configuration document's apiVersion fits
// its kind. kubeadm.k8s.io/v1beta2 (sealer's examples) is accepted with a
// warning: its fields are merged into the version of the image's defaults.
func checkKubeAPIVersion(apiVersion, kind string) (warning string, err error) {
	group := kubeadmKinds[kind]
	if apiVersion == "" {
		return "", nil
	}
	g, v, _ := strings.Cut(apiVersion, "/")
	if g != group {
		return "", fmt.Errorf("%s belongs to %s, not %q", kind, group, apiVersion)
	}
	if group != "kubeadm.k8s.io" {
		if !k8sVersionRE.MatchString(v) {
			return "", fmt.Errorf("%q is not an API version", apiVersion)
		}
		return "", nil
	}
	switch apiVersion {
	case KubeadmV1beta3, KubeadmV1beta4:
		return "", nil
	case "kubeadm.k8s.io/v1beta2":
		return "kubeadm.k8s.io/v1beta2 is no longer read by kubeadm; its fields are merged into the version the image's kubeadm configuration uses", nil
	}
	return "", fmt.Errorf("%q is not read by kubeadm (%s or %s)", apiVersion, KubeadmV1beta3, KubeadmV1beta4)
}

func (r *report) decodeKubeadmDoc(root *yaml.Node, apiVersion, kind string) (KubeadmDoc, bool) {
	d := KubeadmDoc{APIVersion: apiVersion, Kind: kind, Line: root.Line}
	warn, err := checkKubeAPIVersion(apiVersion, kind)
	_, av := topField(root, "apiVersion")
	line := root.Line
	if av != nil {
		line = av.Line
	}
	if err != nil {
		r.errorf(line, "apiVersion", "%v", err)
		return d, false
	}
	if warn != "" {
		r.warnf(line, "apiVersion", "%s", warn)
	}
	budget := maxConfigNodes
	n, err := expandAliases(root, &budget)
	if err != nil {
		r.errorf(root.Line, "", "%s: %v", kind, err)
		return d, false
	}
	// Keys must be names and appear once, as kubeadm's strict decoder wants.
	var check func(n *yaml.Node, path string)
	check = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.MappingNode:
			r.fields(n, path, func(k string, _, v *yaml.Node) { check(v, sub(path, k)) })
		case yaml.SequenceNode:
			for i, c := range n.Content {
				check(c, idx(path, i))
			}
		}
	}
	nerr := len(r.errs)
	check(n, "")
	if len(r.errs) == nerr {
		r.checkKubeadmFields(n, kind, "")
	}
	d.node = n
	return d, len(r.errs) == nerr
}

// maxConfigNodes bounds the size of one configuration document once its
// aliases are expanded (a YAML "billion laughs" stays an error).
const maxConfigNodes = 100000

var errTooLarge = errors.New("too large once its aliases (*name) are expanded")

// expandAliases returns a deep copy of n in which every alias is replaced by
// a copy of what it stands for, so that documents can be merged and edited
// without one edit showing up in two places.
func expandAliases(n *yaml.Node, budget *int) (*yaml.Node, error) {
	n = deref(n)
	if n == nil {
		return nil, nil
	}
	if *budget--; *budget < 0 {
		return nil, errTooLarge
	}
	c := *n
	c.Anchor = ""
	c.Alias = nil
	c.Content = nil
	if n.Kind == yaml.AliasNode {
		// deref gave up: an alias chain too long to be real.
		return nil, errTooLarge
	}
	for _, child := range n.Content {
		cc, err := expandAliases(child, budget)
		if err != nil {
			return nil, err
		}
		c.Content = append(c.Content, cc)
	}
	return &c, nil
}

// kubeadmFields are the fields of kubeadm's documents (v1beta3 and v1beta4
// together) at the levels where typos are common and costly. kubeadm itself
// only logs unknown fields on the host, so they are reported here.
var kubeadmFields = map[string][]string{
	KindClusterCf: {"apiVersion", "kind", "etcd", "networking", "kubernetesVersion", "controlPlaneEndpoint", "apiServer",
		"controllerManager", "scheduler", "dns", "proxy", "certificatesDir", "imageRepository", "featureGates", "clusterName",
		"encryptionAlgorithm", "certificateValidityPeriod", "caCertificateValidityPeriod", "useHyperKubeImage"},
	KindClusterCf + ".networking": {"serviceSubnet", "podSubnet", "dnsDomain"},
	KindClusterCf + ".apiServer":  {"certSANs", "extraArgs", "extraVolumes", "extraEnvs", "timeoutForControlPlane"},
	KindInit: {"apiVersion", "kind", "bootstrapTokens", "nodeRegistration", "localAPIEndpoint", "certificateKey",
		"skipPhases", "patches", "timeouts", "dryRun"},
	KindJoin: {"apiVersion", "kind", "caCertPath", "discovery", "nodeRegistration", "controlPlane", "skipPhases",
		"patches", "timeouts", "dryRun"},
	"nodeRegistration": {"name", "criSocket", "taints", "kubeletExtraArgs", "ignorePreflightErrors", "imagePullPolicy",
		"imagePullSerial"},
}

// checkKubeadmFields warns about fields kubeadm does not know, naming them
// and the field they were probably meant to be.
func (r *report) checkKubeadmFields(n *yaml.Node, kind, path string) {
	key := kind
	if path != "" {
		key = kind + "." + path
	}
	if path == "nodeRegistration" {
		key = path
	}
	known, ok := kubeadmFields[key]
	if !ok {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := sub(path, k.Value)
		if !slices.Contains(known, k.Value) {
			r.warnf(k.Line, p, "%s has no field %q%s; kubeadm would ignore it", kind, k.Value, suggest(k.Value, known))
			continue
		}
		if v.Kind == yaml.MappingNode {
			r.checkKubeadmFields(v, kind, p)
		}
	}
}
