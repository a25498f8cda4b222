package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// controlPlanePrepare checks that this node may host a control plane and
// gets the shared certificates.
func (p *program) controlPlanePrepare(ctx context.Context, jc *joinConfiguration, cj *clusterJoin, ignore []string, skipPreflight bool) error {
	e := p.env
	cc := cj.clusterCfg
	p.outf("[preflight] Running pre-flight checks before initializing the new control plane instance\n")
	key := jc.ControlPlane.CertificateKey
	if cc.ControlPlaneEndpoint == "" {
		return errors.New("error execution phase preflight: \nOne or more conditions for hosting a new control plane instance is not satisfied.\n\n" +
			"unable to add a new control plane instance to a cluster that doesn't have a stable controlPlaneEndpoint address\n\n" +
			"Please ensure that:\n* The cluster has a stable controlPlaneEndpoint address.\n* The certificates that must be shared among control plane instances are provided.\n")
	}
	certDir := firstNonEmpty(cc.CertificatesDir, "/etc/kubernetes/pki")
	if key == "" {
		if err := sharedCertsPresent(e, certDir); err != nil {
			return fmt.Errorf("error execution phase preflight: \nOne or more conditions for hosting a new control plane instance is not satisfied.\n\n%v\n\nPlease ensure that:\n* The cluster has a stable controlPlaneEndpoint address.\n* The certificates that must be shared among control plane instances are provided.\n", err)
		}
	}
	if !skipPreflight {
		pf := newPreflight(ignore)
		for _, m := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"} {
			pf.fileAvailable(e, "/etc/kubernetes/manifests/"+m+".yaml")
		}
		for _, port := range []int{int(jc.ControlPlane.LocalAPIEndpoint.BindPort), 10259, 10257, 2379, 2380} {
			pf.portOpen(e, port)
		}
		pf.dirAvailable(e, "/var/lib/etcd")
		pf.resources(e)
		if err := pf.finish(p); err != nil {
			return err
		}
	}
	if key == "" {
		return nil
	}
	p.outf("[download-certs] Downloading the certificates in Secret %q in the %q Namespace\n", "kubeadm-certs", "kube-system")
	raw, err := decodeCertificateKey(key)
	if err != nil {
		return fmt.Errorf("error execution phase control-plane-prepare/download-certs: error downloading certs: %w", err)
	}
	var sec map[string]any
	if err := cj.bootstrap.do(ctx, "GET", "/api/v1/namespaces/kube-system/secrets/kubeadm-certs", nil, &sec); err != nil {
		if isNotFound(err) {
			return errors.New("error execution phase control-plane-prepare/download-certs: error downloading certs: error downloading the secret: Secret \"kubeadm-certs\" was not found in the \"kube-system\" Namespace. This Secret might have expired. Please, run `kubeadm init phase upload-certs --upload-certs` on a control plane to generate a new one")
		}
		return fmt.Errorf("error execution phase control-plane-prepare/download-certs: error downloading certs: error downloading the secret: %w", err)
	}
	data := secretData(sec)
	plain := map[string][]byte{}
	for _, sc := range sharedCerts {
		b, err := decryptWithKey([]byte(data[sc.secretKey]), raw)
		if err != nil {
			return fmt.Errorf("error execution phase control-plane-prepare/download-certs: error downloading certs: error decoding secret data with provided key: %w", err)
		}
		plain[sc.file] = b
	}
	p.outf("[download-certs] Saving the certificates to the folder: %q\n", certDir)
	for _, sc := range sharedCerts {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(sc.file, ".key") {
			mode = 0o600
		}
		if err := writeFile(e.path(filepath.Join(certDir, sc.file)), plain[sc.file], mode); err != nil {
			return err
		}
	}
	return nil
}

// controlPlaneJoin writes this node's control-plane certificates,
// kubeconfigs and manifests and starts its apiserver, which forwards to
// the apiserver the node was discovered through.
func (p *program) controlPlaneJoin(ctx context.Context, jc *joinConfiguration, cj *clusterJoin, nodeName string, advertise net.IP) error {
	e := p.env
	cc := cj.clusterCfg
	certDir := firstNonEmpty(cc.CertificatesDir, "/etc/kubernetes/pki")
	ca, err := ensurePKI(e, p.stdout, pkiPlan{
		dir: certDir, nodeName: nodeName, advertise: advertise,
		dnsDomain: firstNonEmpty(cc.Networking.DNSDomain, "cluster.local"), serviceIP: serviceIP(firstNonEmpty(cc.Networking.ServiceSubnet, "10.96.0.0/12"), 1),
		extraSANs: cc.APIServer.CertSANs, endpointIP: hostOf(cc.ControlPlaneEndpoint),
	})
	if err != nil {
		return fmt.Errorf("error execution phase control-plane-prepare/certs: %w", err)
	}
	server := "https://" + cpEndpoint(cc.ControlPlaneEndpoint, int(jc.ControlPlane.LocalAPIEndpoint.BindPort))
	p.outf("[certs] Valid certificates and keys now exist in %q\n", certDir)
	if err := writeKubeconfigs(e, p.stdout, ca, cj.clusterName, server, nodeName, true); err != nil {
		return fmt.Errorf("error execution phase control-plane-prepare/kubeconfig: %w", err)
	}
	// kubelet.conf comes from the TLS bootstrap, as on any joining node.
	if err := os.Remove(e.path("/etc/kubernetes/kubelet.conf")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	port := int(jc.ControlPlane.LocalAPIEndpoint.BindPort)
	if v := e.get(envAPIServerPort); v != "" {
		if port, err = strconv.Atoi(v); err != nil {
			return fmt.Errorf("%s=%q: %w", envAPIServerPort, v, err)
		}
	}
	v := firstNonEmpty(cc.KubernetesVersion, version)
	if err := writeManifests(e, p.stdout, cc, v, advertise.String(), port); err != nil {
		return fmt.Errorf("error execution phase control-plane-prepare/control-plane: %w", err)
	}
	upstreamName := hostOf(serverHostPort(cj.server))
	if err := p.startAPIServer(advertise.String(), port, cc.APIServer.ExtraArgs.get("bind-address"),
		[]string{"--fakek8s-upstream=" + cj.upstream, "--fakek8s-upstream-name=" + upstreamName}); err != nil {
		return fmt.Errorf("error execution phase control-plane-join/etcd: %w", err)
	}
	local, err := newAPIClient(e, &restConfig{server: "https://" + net.JoinHostPort(advertise.String(), strconv.Itoa(port)), caPEM: ca.certPEM()}, clientOptions{timeout: 10 * time.Second})
	if err != nil {
		return err
	}
	if err := p.waitAPIServer(ctx, local); err != nil {
		return fmt.Errorf("error execution phase control-plane-join/etcd: %w", err)
	}
	p.outf("[etcd] Announced new etcd member joining to the existing etcd cluster\n")
	p.outf("[etcd] Creating static Pod manifest for %q\n", "etcd")
	return nil
}

func cpEndpoint(cpe string, bindPort int) string {
	if _, _, err := net.SplitHostPort(cpe); err == nil {
		return cpe
	}
	return net.JoinHostPort(strings.Trim(cpe, "[]"), strconv.Itoa(bindPort))
}
