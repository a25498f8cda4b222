package main

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// discover is kubeadm's token (or file) discovery: fetch cluster-info
// without trusting the server, check its JWS signature with the token and
// its CA against the pinned hashes, fetch it again over verified TLS, and
// continue with the server and CA it names.
func (p *program) discover(ctx context.Context, jc *joinConfiguration) (*clusterJoin, error) {
	e := p.env
	if f := jc.Discovery.File; f != nil {
		kc, err := loadKubeconfig(f.KubeConfigPath)
		if err != nil {
			return nil, fmt.Errorf("couldn't load the discovery file: %w", err)
		}
		// The file names the cluster by its current context, or holds only
		// one (cluster-info's kubeconfig has no contexts), as kubeadm's
		// GetClusterFromKubeConfig reads it.
		if kc.CurrentContext == "" && len(kc.Clusters) == 1 {
			kc.Contexts = append(kc.Contexts, namedContext{Name: "discovery", Context: contextInfo{Cluster: kc.Clusters[0].Name}})
			kc.CurrentContext = "discovery"
		}
		rc, err := kc.restConfig(overrides{})
		if err != nil {
			return nil, err
		}
		if rc.server == "http://localhost:8080" {
			return nil, fmt.Errorf("the discovery file %s names no cluster", f.KubeConfigPath)
		}
		rc.certPEM, rc.keyPEM, rc.token = nil, nil, jc.Discovery.TLSBootstrapToken
		c, err := newAPIClient(e, rc, clientOptions{timeout: 10 * time.Second})
		if err != nil {
			return nil, err
		}
		if err := c.doRaw(ctx, "/healthz"); err != nil {
			return nil, err
		}
		return &clusterJoin{server: rc.server, caPEM: rc.caPEM, bootstrap: c, upstream: remoteOf(c)}, nil
	}
	bt := jc.Discovery.BootstrapToken
	timeout := 5 * time.Minute
	if jc.Discovery.Timeout != "" {
		timeout, _ = time.ParseDuration(jc.Discovery.Timeout)
	}
	if jc.Timeouts != nil && jc.Timeouts.Discovery != "" {
		if d, err := time.ParseDuration(jc.Timeouts.Discovery); err == nil {
			timeout = d
		}
	}
	timeout, err := e.duration(envDiscoveryTO, timeout)
	if err != nil {
		return nil, err
	}
	m := tokenRE.FindStringSubmatch(bt.Token)
	tokenID, tokenSecret := m[1], m[2]
	endpoint := "https://" + bt.APIServerEndpoint
	insecure, err := newAPIClient(e, &restConfig{server: endpoint}, clientOptions{timeout: 10 * time.Second, insecureDiscovery: true})
	if err != nil {
		return nil, err
	}
	cm, err := pollClusterInfo(ctx, insecure, tokenID, timeout)
	if err != nil {
		return nil, err
	}
	kcText := str(cm, "data", "kubeconfig")
	jws := str(cm, "data", "jws-kubeconfig-"+tokenID)
	if !hmac.Equal([]byte(jws), []byte(detachedJWS(kcText, tokenID, tokenSecret))) {
		return nil, errors.New("failed to verify JWS signature of received cluster info object, can't trust this API Server")
	}
	kc, err := parseKubeconfig([]byte(kcText), "")
	if err != nil || len(kc.Clusters) != 1 {
		return nil, errors.New("the cluster-info ConfigMap does not hold a single cluster")
	}
	cl := kc.Clusters[0].Cluster
	caPEM, err := base64.StdEncoding.DecodeString(cl.CertificateAuthorityData)
	if err != nil {
		return nil, fmt.Errorf("the cluster-info ConfigMap's CA: %w", err)
	}
	if !bt.UnsafeSkipCAVerification || len(bt.CACertHashes) > 0 {
		ca, err := parseCertPEM(caPEM)
		if err != nil {
			return nil, fmt.Errorf("cluster CA found in cluster-info ConfigMap is invalid: %w", err)
		}
		pin := pubKeyPin(ca)
		pinned := false
		for _, h := range bt.CACertHashes {
			if strings.EqualFold(h, pin) {
				pinned = true
			}
		}
		if !pinned {
			return nil, fmt.Errorf("cluster CA found in cluster-info ConfigMap is invalid: none of the public keys %q are pinned", pin)
		}
		// Second fetch, now verifying the server against the CA.
		secure, err := newAPIClient(e, &restConfig{server: endpoint, caPEM: caPEM}, clientOptions{timeout: 10 * time.Second})
		if err != nil {
			return nil, err
		}
		cm2, err := pollClusterInfo(ctx, secure, tokenID, timeout)
		if err != nil {
			return nil, err
		}
		if str(cm2, "data", "kubeconfig") != kcText {
			return nil, errors.New("the second kubeconfig from the cluster-info ConfigMap did not match the first")
		}
	}
	boot, err := newAPIClient(e, &restConfig{server: cl.Server, caPEM: caPEM, token: jc.Discovery.TLSBootstrapToken}, clientOptions{timeout: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	if err := boot.doRaw(ctx, "/healthz"); err != nil {
		return nil, fmt.Errorf("connecting to the API Server %s named in cluster-info: %w", cl.Server, err)
	}
	return &clusterJoin{server: cl.Server, caPEM: caPEM, bootstrap: boot, upstream: remoteOf(boot)}, nil
}

func remoteOf(c *apiClient) string {
	if a := c.lastRemote(); a != nil {
		return a.String()
	}
	return ""
}

// pollClusterInfo fetches cluster-info until it carries a signature for
// the token, as kubeadm retries until its discovery timeout.
func pollClusterInfo(ctx context.Context, c *apiClient, tokenID string, timeout time.Duration) (map[string]any, error) {
	deadline := time.Now().Add(timeout)
	for {
		var cm map[string]any
		err := c.do(ctx, "GET", "/api/v1/namespaces/kube-public/configmaps/cluster-info", nil, &cm)
		if err == nil {
			if str(cm, "data", "jws-kubeconfig-"+tokenID) != "" {
				return cm, nil
			}
			err = fmt.Errorf("could not find a JWS signature in the cluster-info ConfigMap for token ID %q", tokenID)
		}
		var ce *connError
		if errors.As(err, &ce) {
			err = ce.err
		}
		if time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(time.Second)
	}
}

func readClusterConfig(ctx context.Context, c *apiClient) (*clusterConfiguration, error) {
	var cm map[string]any
	if err := c.do(ctx, "GET", "/api/v1/namespaces/kube-system/configmaps/kubeadm-config", nil, &cm); err != nil {
		return nil, err
	}
	cc := &clusterConfiguration{}
	if err := yaml.Unmarshal([]byte(str(cm, "data", "ClusterConfiguration")), cc); err != nil {
		return nil, fmt.Errorf("the ClusterConfiguration in kubeadm-config: %w", err)
	}
	return cc, nil
}

func (p *program) joinAdvertise(cp *joinControlPlane) (net.IP, error) {
	if cp.LocalAPIEndpoint.AdvertiseAddress != "" {
		return net.ParseIP(cp.LocalAPIEndpoint.AdvertiseAddress), nil
	}
	ip, err := defaultRouteIP(p.env)
	if err != nil {
		return nil, validationError{fmt.Errorf("controlPlane.localAPIEndpoint.advertiseAddress: Invalid value: \"0.0.0.0\": cannot use \"0.0.0.0\" as the bind address for the API Server (%v)", err)}
	}
	return ip, nil
}
