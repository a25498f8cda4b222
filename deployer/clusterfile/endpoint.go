package clusterfile

import (
	"fmt"
	"net"
	"slices"
	"strconv"

	yaml "go.yaml.in/yaml/v3"
)

// APIServerName is the controlPlaneEndpoint host of a cluster of several
// masters whose Clusterfile names none. Every host resolves it itself
// (/etc/hosts): a master to its own apiserver, a node to the balancer it
// runs in front of every master's, so that no single master's loss takes
// the cluster's API away from the others.
const APIServerName = "sealpack.apiserver"

// Endpoint is the control-plane endpoint of a cluster.
type Endpoint struct {
	Addr     string // host:port, as kubeadm's controlPlaneEndpoint
	BindPort int    // the port each apiserver listens on
	// Balanced: Addr is APIServerName, and every node balances over the
	// masters' apiservers.
	Balanced bool
	// SingleMaster is the master the Clusterfile's own endpoint names, when
	// it names one of several masters by address: that cluster's API goes
	// with that host.
	SingleMaster string
}

// ControlPlaneEndpoint is the endpoint MergeKubeadm writes for c over the
// image's defaults; recorded is the endpoint the cluster was made with, if
// any (KubeadmVars.Endpoint).
func ControlPlaneEndpoint(imageDefaults []byte, c *Cluster, recorded string) (Endpoint, error) {
	defaults, err := parseDefaults(imageDefaults)
	if err != nil {
		return Endpoint{}, err
	}
	var userInit, userCluster *yaml.Node
	for _, d := range c.KubeadmDocs {
		switch d.Kind {
		case KindInit:
			userInit = d.node
		case KindClusterCf:
			userCluster = d.node
		}
	}
	m := &merger{c: c, docs: map[string]*yaml.Node{}}
	init := m.merge(KindInit, defaults[KindInit], userInit)
	return endpointOf(c, init, userCluster, recorded)
}

// endpointOf picks the endpoint: the Clusterfile's controlPlaneEndpoint,
// else the recorded one, else APIServerName for several masters, else
// master0's address. The image's is ignored: an image is built for any
// site and cannot know a name that resolves at this one.
func endpointOf(c *Cluster, init, userCluster *yaml.Node, recorded string) (Endpoint, error) {
	m0, ok := c.Master0()
	if !ok {
		return Endpoint{}, fmt.Errorf("the cluster has no master")
	}
	bindPort := DefaultAPIServerPort
	if p := strValue(mapPath(init, "localAPIEndpoint", "bindPort")); p != "" {
		var err error
		if bindPort, err = strconv.Atoi(p); err != nil || bindPort < 1 || bindPort > 65535 {
			return Endpoint{}, fmt.Errorf("InitConfiguration localAPIEndpoint.bindPort %q is not a port number", p)
		}
	}
	e := Endpoint{BindPort: bindPort, Addr: strValue(mapPath(userCluster, "controlPlaneEndpoint"))}
	masters := c.Masters()
	if e.Addr != "" {
		host, _, err := net.SplitHostPort(e.Addr)
		if err != nil {
			host = e.Addr
		}
		if len(masters) > 1 && slices.ContainsFunc(masters, func(h Host) bool { return h.IP == host }) {
			e.SingleMaster = host
		}
	}
	switch {
	case e.Addr != "":
	case recorded != "":
		e.Addr = recorded
	case len(masters) > 1:
		e.Addr = net.JoinHostPort(APIServerName, strconv.Itoa(bindPort))
	default:
		e.Addr = net.JoinHostPort(m0.IP, strconv.Itoa(bindPort))
	}
	if host, _, err := net.SplitHostPort(e.Addr); err == nil && host == APIServerName {
		e.Balanced = true
	}
	return e, nil
}
