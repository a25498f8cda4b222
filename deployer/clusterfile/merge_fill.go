package clusterfile

import (
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// The values sealpack fills into the merged kubeadm documents.

func intScalar(v int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(v)}
}

func (m *merger) fillInit(m0 Host, user *yaml.Node, vars KubeadmVars) error {
	doc := m.docs[KindInit]
	ep := mapEnsure(doc, "localAPIEndpoint")
	// A Clusterfile may name another address of master0; an image cannot.
	if strValue(mapPath(user, "localAPIEndpoint", "advertiseAddress")) == "" {
		mapSet(ep, "advertiseAddress", scalar(m0.IP))
	}
	mapSet(ep, "bindPort", intScalar(m.bindPort))
	if vars.Token != "" {
		tokens := mapGet(doc, "bootstrapTokens")
		if tokens == nil || tokens.Kind != yaml.SequenceNode || len(tokens.Content) == 0 || tokens.Content[0].Kind != yaml.MappingNode {
			tokens = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{mapping()}}
			mapSet(doc, "bootstrapTokens", tokens)
		}
		mapSet(tokens.Content[0], "token", scalar(vars.Token))
	}
	if vars.CertificateKey != "" {
		mapSet(doc, "certificateKey", scalar(vars.CertificateKey))
	}
	nr := mapEnsure(doc, "nodeRegistration")
	if strValue(mapPath(user, "nodeRegistration", "name")) == "" {
		mapDelete(nr, "name")
	}
	return m.fillNodeRegistration(nr, m0)
}

func (m *merger) fillCluster(vars KubeadmVars) error {
	doc := m.docs[KindClusterCf]
	mapSet(doc, "controlPlaneEndpoint", scalar(m.endpoint))
	if strValue(mapGet(doc, "kubernetesVersion")) == "" {
		if vars.KubernetesVersion == "" {
			return fmt.Errorf("kubernetesVersion is set neither by the image's %s nor by the Clusterfile (kubeadm would look it up on the internet)", ImageKubeadmPath)
		}
		mapSet(doc, "kubernetesVersion", scalar(vars.KubernetesVersion))
	}
	api := mapEnsure(doc, "apiServer")
	sans := mapGet(api, "certSANs")
	if sans == nil || sans.Kind != yaml.SequenceNode {
		sans = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		mapSet(api, "certSANs", sans)
	}
	want := []string{}
	for _, h := range m.c.Masters() {
		want = append(want, h.IP)
	}
	if host, _, err := net.SplitHostPort(m.endpoint); err == nil {
		want = append(want, host)
	} else {
		want = append(want, m.endpoint)
	}
	for _, s := range want {
		if !slices.ContainsFunc(sans.Content, func(x *yaml.Node) bool { return x.Value == s }) {
			sans.Content = append(sans.Content, scalar(s))
		}
	}
	return nil
}

// join returns the JoinConfiguration of one host.
func (m *merger) join(h Host, vars KubeadmVars) (*yaml.Node, error) {
	doc := cloneNode(m.docs[KindJoin])
	disc := mapEnsure(doc, "discovery")
	mapDelete(disc, "file")
	bt := mapEnsure(disc, "bootstrapToken")
	mapSet(bt, "apiServerEndpoint", scalar(m.endpoint))
	mapSet(bt, "token", scalar(vars.Token))
	mapSet(bt, "caCertHashes", sequence(false, vars.CACertHashes...))
	mapDelete(bt, "unsafeSkipCAVerification")
	nr := mapEnsure(doc, "nodeRegistration")
	// One name for every host would clash; kubeadm names nodes by hostname.
	mapDelete(nr, "name")
	if err := m.fillNodeRegistration(nr, h); err != nil {
		return nil, err
	}
	if !h.IsMaster() {
		// Defaults often carry a controlPlane section; a worker must not.
		mapDelete(doc, "controlPlane")
		return doc, nil
	}
	if vars.CertificateKey == "" {
		return nil, fmt.Errorf("a master joins with the certificate key of the uploaded certificates, and none was given")
	}
	cp := mapEnsure(doc, "controlPlane")
	ep := mapEnsure(cp, "localAPIEndpoint")
	mapSet(ep, "advertiseAddress", scalar(h.IP))
	if strValue(mapGet(ep, "bindPort")) == "" {
		mapSet(ep, "bindPort", intScalar(m.bindPort))
	}
	mapSet(cp, "certificateKey", scalar(vars.CertificateKey))
	return doc, nil
}

// fillNodeRegistration writes a host's taints and kubelet labels.
//
// Taints start from the configuration's nodeRegistration.taints when it sets
// them, else from kubeadm's default: the control-plane taint on masters,
// except on a master that also has the node role and in a cluster without
// workers (where the workloads must run on the masters). The host's own
// taints then add to them, or remove one with key:Effect-.
func (m *merger) fillNodeRegistration(nr *yaml.Node, h Host) error {
	var taints []Taint
	explicit := mapGet(nr, "taints")
	if explicit != nil && explicit.Kind == yaml.SequenceNode {
		for i, t := range explicit.Content {
			taint := Taint{Key: strValue(mapGet(t, "key")), Value: strValue(mapGet(t, "value")), Effect: strValue(mapGet(t, "effect"))}
			if taint.Key == "" {
				return fmt.Errorf("nodeRegistration.taints[%d] has no key", i)
			}
			taints = append(taints, taint)
		}
	} else if h.IsMaster() && !h.HasRole(RoleNode) && m.hasWorkers {
		taints = []Taint{controlPlaneTaint}
	}
	for _, t := range h.Taints {
		same := func(x Taint) bool { return x.Key == t.Key && x.Effect == t.Effect }
		taints = slices.DeleteFunc(taints, same)
		if !t.Remove {
			taints = append(taints, Taint{Key: t.Key, Value: t.Value, Effect: t.Effect})
		}
	}
	// On a master an absent list means kubeadm's default taint, so an
	// empty list is written out; on a worker absent and empty are the same.
	if h.IsMaster() || len(taints) > 0 || explicit != nil {
		list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, t := range taints {
			item := mapping()
			mapSet(item, "key", scalar(t.Key))
			if t.Value != "" {
				mapSet(item, "value", scalar(t.Value))
			}
			mapSet(item, "effect", scalar(t.Effect))
			list.Content = append(list.Content, item)
		}
		mapSet(nr, "taints", list)
	}
	// The node's address is the one the Clusterfile names (the installer
	// matches nodes by it): kubelet would otherwise pick one itself, the
	// address it reaches the API from, which is 127.0.0.1 on a node that
	// reaches it through its balancer, or another network's on a host of
	// several.
	if m.getArg(nr, "kubeletExtraArgs", "node-ip") == "" {
		m.setArg(nr, "kubeletExtraArgs", "node-ip", h.IP)
	}
	labels := h.KubeletLabels()
	if len(labels) == 0 {
		return nil
	}
	// Labels already in the configuration's node-labels stay, in their order.
	var parts []string
	have := map[string]bool{}
	for _, kv := range strings.Split(m.getArg(nr, "kubeletExtraArgs", "node-labels"), ",") {
		k, _, _ := strings.Cut(kv, "=")
		if k == "" {
			continue
		}
		if v, ok := labels[k]; ok {
			kv = k + "=" + v
		}
		have[k] = true
		parts = append(parts, kv)
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		if !have[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+"="+labels[k])
	}
	m.setArg(nr, "kubeletExtraArgs", "node-labels", strings.Join(parts, ","))
	return nil
}
