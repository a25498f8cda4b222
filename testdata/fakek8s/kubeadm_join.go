package main

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"
)

type joinOptions struct {
	cfgPath           string
	token             string
	discoveryToken    string
	tlsBootstrapToken string
	discoveryFile     string
	hashes            []string
	unsafeSkip        bool
	controlPlane      bool
	certificateKey    string
	advertiseAddress  string
	bindPort          int32
	nodeName          string
	criSocket         string
	ignorePreflight   []string
	skipPhases        []string
	dryRun            bool
	patches           string
}

func (p *program) newJoinCmd() *cobra.Command {
	o := &joinOptions{}
	cmd := &cobra.Command{
		Use:   "join [api-server-endpoint]",
		Short: "Run this on any machine you wish to join an existing cluster",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := mixedArgs(cmd.Flags()); err != nil {
				return err
			}
			return p.runJoin(cmd.Flags(), o, args)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.cfgPath, "config", "", "Path to a kubeadm configuration file.")
	fs.StringVar(&o.token, "token", "", "Use this token for both discovery-token and tls-bootstrap-token when those values are not provided.")
	fs.StringVar(&o.discoveryToken, "discovery-token", "", "For token-based discovery, the token used to validate cluster information fetched from the API server.")
	fs.StringVar(&o.tlsBootstrapToken, "tls-bootstrap-token", "", "Specify the token used to temporarily authenticate with the Kubernetes Control Plane while joining the node.")
	fs.StringVar(&o.discoveryFile, "discovery-file", "", "For file-based discovery, a file or URL from which to load cluster information.")
	fs.StringSliceVar(&o.hashes, "discovery-token-ca-cert-hash", nil, "For token-based discovery, validate that the root CA public key matches this hash (format: \"<type>:<value>\").")
	fs.BoolVar(&o.unsafeSkip, "discovery-token-unsafe-skip-ca-verification", false, "For token-based discovery, allow joining without --discovery-token-ca-cert-hash pinning.")
	fs.BoolVar(&o.controlPlane, "control-plane", false, "Create a new control plane instance on this node")
	fs.StringVar(&o.certificateKey, "certificate-key", "", "Use this key to decrypt the certificate secrets uploaded by init.")
	fs.StringVar(&o.advertiseAddress, "apiserver-advertise-address", "", "If the node should host a new control plane instance, the IP address the API Server will advertise it's listening on.")
	fs.Int32Var(&o.bindPort, "apiserver-bind-port", 6443, "If the node should host a new control plane instance, the port for the API Server to bind to.")
	fs.StringVar(&o.nodeName, "node-name", "", "Specify the node name.")
	fs.StringVar(&o.criSocket, "cri-socket", "", "Path to the CRI socket to connect.")
	fs.StringSliceVar(&o.ignorePreflight, "ignore-preflight-errors", nil, "A list of checks whose errors will be shown as warnings.")
	fs.StringSliceVar(&o.skipPhases, "skip-phases", nil, "List of phases to be skipped")
	fs.BoolVar(&o.dryRun, "dry-run", false, "Don't apply any changes; just output what would be done.")
	fs.StringVar(&o.patches, "patches", "", "Path to a directory that contains patches.")
	return cmd
}

// loadJoinConfig builds the JoinConfiguration from --config or the flags.
func (p *program) loadJoinConfig(fs *pflag.FlagSet, o *joinOptions, args []string) (*joinConfiguration, error) {
	jc := &joinConfiguration{}
	if o.cfgPath != "" {
		data, err := os.ReadFile(o.cfgPath)
		if err != nil {
			return nil, fmt.Errorf("unable to read config from %q : %w", o.cfgPath, err)
		}
		docs, err := parseKubeadmConfig(data, o.cfgPath)
		if err != nil {
			return nil, err
		}
		for _, w := range docs.warnings {
			if !strings.HasPrefix(w, "[config]") {
				p.klogWarn("joinconfiguration.go:91", w)
			}
		}
		if docs.join == nil {
			return nil, errors.New("no JoinConfiguration kind was found in the YAML file")
		}
		jc = docs.join
		if fs.Changed("node-name") {
			jc.NodeRegistration.Name = o.nodeName
		}
	} else {
		bt := &bootstrapTokenDiscovery{Token: firstNonEmpty(o.discoveryToken, o.token), CACertHashes: o.hashes, UnsafeSkipCAVerification: o.unsafeSkip}
		if len(args) == 1 {
			bt.APIServerEndpoint = args[0]
		}
		if o.discoveryFile == "" {
			jc.Discovery.BootstrapToken = bt
		} else {
			jc.Discovery.File = &struct {
				KubeConfigPath string `json:"kubeConfigPath"`
			}{o.discoveryFile}
		}
		jc.Discovery.TLSBootstrapToken = firstNonEmpty(o.tlsBootstrapToken, o.token)
		jc.NodeRegistration.Name = o.nodeName
		jc.NodeRegistration.CRISocket = o.criSocket
		if o.controlPlane {
			jc.ControlPlane = &joinControlPlane{LocalAPIEndpoint: apiEndpoint{AdvertiseAddress: o.advertiseAddress, BindPort: o.bindPort}, CertificateKey: o.certificateKey}
		}
	}
	// Defaults.
	if jc.NodeRegistration.CRISocket == "" {
		jc.NodeRegistration.CRISocket = "unix:///var/run/containerd/containerd.sock"
	}
	if bt := jc.Discovery.BootstrapToken; bt != nil && jc.Discovery.TLSBootstrapToken == "" {
		jc.Discovery.TLSBootstrapToken = bt.Token
	}
	if cp := jc.ControlPlane; cp != nil && cp.LocalAPIEndpoint.BindPort == 0 {
		cp.LocalAPIEndpoint.BindPort = 6443
	}
	if err := validateJoin(jc); err != nil {
		return nil, validationError{err}
	}
	return jc, nil
}

// validateJoin is kubeadm's ValidateJoinConfiguration.
func validateJoin(jc *joinConfiguration) error {
	var fe fieldErrors
	d := jc.Discovery
	switch {
	case d.BootstrapToken == nil && d.File == nil:
		fe = append(fe, "discovery: Invalid value: \"\": bootstrapToken or file must be set")
	case d.BootstrapToken != nil && d.File != nil:
		fe = append(fe, "discovery: Invalid value: \"\": bootstrapToken and file cannot both be set")
	}
	if bt := d.BootstrapToken; bt != nil {
		if bt.Token == "" {
			fe = append(fe, "discovery.bootstrapToken.token: Required value: the token must be set")
		} else if !tokenRE.MatchString(bt.Token) {
			fe.invalid("discovery.bootstrapToken.token", bt.Token, "the bootstrap token is invalid")
		}
		if len(bt.CACertHashes) == 0 && !bt.UnsafeSkipCAVerification {
			fe = append(fe, "discovery.bootstrapToken: Invalid value: \"\": using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue")
		}
		for _, h := range bt.CACertHashes {
			if err := checkPin(h); err != nil {
				fe.invalid("discovery.bootstrapToken.caCertHashes", goValue(fmt.Sprintf("[]string{%q}", h)), err.Error())
			}
		}
		if bt.APIServerEndpoint == "" {
			fe = append(fe, "discovery.bootstrapToken: Required value: APIServerEndpoint is not set")
		} else if _, _, err := net.SplitHostPort(bt.APIServerEndpoint); err != nil {
			fe.invalid("discovery.bootstrapToken.apiServerEndpoint", bt.APIServerEndpoint, err.Error())
		}
	}
	if d.File != nil && d.File.KubeConfigPath == "" {
		fe = append(fe, "discovery.file.kubeConfigPath: Required value: the kubeconfig path must be set")
	}
	if t := d.TLSBootstrapToken; t != "" && !tokenRE.MatchString(t) {
		fe.invalid("discovery.tlsBootstrapToken", t, "the bootstrap token is invalid")
	} else if t == "" && d.File != nil {
		fe = append(fe, "discovery.tlsBootstrapToken: Invalid value: \"\": the bootstrap token is invalid")
	}
	if d.Timeout != "" {
		if _, err := time.ParseDuration(d.Timeout); err != nil {
			fe.invalid("discovery.timeout", d.Timeout, err.Error())
		}
	}
	validateNodeRegistration(&fe, &jc.NodeRegistration)
	if cp := jc.ControlPlane; cp != nil {
		validateEndpoint(&fe, "controlPlane.localAPIEndpoint", cp.LocalAPIEndpoint)
		validateCertificateKey(&fe, "controlPlane.certificateKey", cp.CertificateKey)
	}
	return fe.err()
}

// checkPin validates a --discovery-token-ca-cert-hash as kubeadm's
// pubkeypin.Set.Allow does.
func checkPin(h string) error {
	format, value, ok := strings.Cut(h, ":")
	if !ok {
		return errors.New(`invalid hash, expected "format:hex-value". Known format(s) are: sha256`)
	}
	if strings.ToLower(format) != "sha256" {
		return fmt.Errorf("unknown hash format %q. Known format(s) are: sha256", format)
	}
	if n := hex.DecodedLen(len(value)); n != 32 {
		return fmt.Errorf("expected a 32 byte SHA-256 hash, found %d bytes", n)
	}
	if _, err := hex.DecodeString(value); err != nil {
		return fmt.Errorf("could not decode SHA-256 from hex: %w", err)
	}
	return nil
}

// clusterJoin is what discovery learns.
type clusterJoin struct {
	server      string // cluster-info's server: what the node uses from now on
	caPEM       []byte
	bootstrap   *apiClient // authenticated by the TLS bootstrap token
	upstream    string     // IP:port the server name resolved to
	clusterCfg  *clusterConfiguration
	clusterName string
}

func (p *program) runJoin(fs *pflag.FlagSet, o *joinOptions, args []string) error {
	jc, err := p.loadJoinConfig(fs, o, args)
	if err != nil {
		return err
	}
	e := p.env
	ctx := context.Background()
	cp := jc.ControlPlane
	ignore := append(o.ignorePreflight, jc.NodeRegistration.IgnorePreflightErrors...)
	skipPhases := append(o.skipPhases, jc.SkipPhases...)
	skips := func(ph string) bool {
		for _, s := range skipPhases {
			if s == ph || strings.HasPrefix(ph, s+"/") {
				return true
			}
		}
		return false
	}
	hostname, err := e.hostname()
	if err != nil {
		return err
	}
	nodeName := firstNonEmpty(jc.NodeRegistration.Name, hostname)
	p.outf("[preflight] Running pre-flight checks\n")
	if !skips("preflight") {
		pf := newPreflight(ignore)
		pf.fileAvailable(e, "/etc/kubernetes/kubelet.conf")
		pf.fileAvailable(e, "/etc/kubernetes/bootstrap-kubelet.conf")
		pf.kubeletPort(e)
		if cp == nil {
			pf.fileAvailable(e, "/etc/kubernetes/pki/ca.crt")
		}
		pf.fileContent(e, "/proc/sys/net/ipv4/ip_forward", "1")
		pf.cri(e, jc.NodeRegistration.CRISocket)
		if err := pf.finish(p); err != nil {
			return err
		}
	}
	cj, err := p.discover(ctx, jc)
	if err != nil {
		return fmt.Errorf("error execution phase preflight: couldn't validate the identity of the API Server: %w", err)
	}
	p.outf("[preflight] Reading configuration from the cluster...\n")
	p.outf("[preflight] FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'\n")
	if cj.clusterCfg, err = readClusterConfig(ctx, cj.bootstrap); err != nil {
		return fmt.Errorf("error execution phase preflight: unable to fetch the kubeadm-config ConfigMap: %w", err)
	}
	cc := cj.clusterCfg
	cj.clusterName = firstNonEmpty(cc.ClusterName, "kubernetes")
	var advertise net.IP
	if cp != nil {
		if err := p.controlPlanePrepare(ctx, jc, cj, ignore, skips("preflight")); err != nil {
			return err
		}
		if advertise, err = p.joinAdvertise(cp); err != nil {
			return err
		}
	}
	if o.dryRun || jc.DryRun {
		p.outf("[dryrun] Finished dry-running successfully. Above are the resources that would be created\n")
		return nil
	}
	if cp != nil {
		if err := p.controlPlaneJoin(ctx, jc, cj, nodeName, advertise); err != nil {
			return err
		}
	}
	if err := p.tlsBootstrap(ctx, jc, cj, hostname, nodeName); err != nil {
		return fmt.Errorf("error execution phase kubelet-start: %w", err)
	}
	if cp == nil {
		p.outf("\nThis node has joined the cluster:\n* Certificate signing request was sent to apiserver and a response was received.\n* The Kubelet was informed of the new secure connection details.\n\nRun 'kubectl get nodes' on the control-plane to see this node join the cluster.\n\n")
		return nil
	}
	admin, _, err := clientFromKubeconfig(e, e.path("/etc/kubernetes/admin.conf"), 30*time.Second)
	if err != nil {
		return err
	}
	taints := []nodeTaint{{Key: "node-role.kubernetes.io/control-plane", Effect: "NoSchedule"}}
	if jc.NodeRegistration.Taints != nil {
		taints = *jc.NodeRegistration.Taints
	}
	if !skips("control-plane-join/mark-control-plane") {
		if err := p.markControlPlane(ctx, admin, nodeName, taints); err != nil {
			return fmt.Errorf("error execution phase control-plane-join/mark-control-plane: %w", err)
		}
	}
	p.outf("\nThis node has joined the cluster and a new control plane instance was created:\n\n" +
		"* Certificate signing request was sent to apiserver and approval was received.\n" +
		"* The Kubelet was informed of the new secure connection details.\n" +
		"* Control plane label and taint were applied to the new node.\n" +
		"* The Kubernetes control plane instances scaled up.\n" +
		"* A new etcd member was added to the local/stacked etcd cluster.\n\n" +
		"To start administering your cluster from this node, you need to run the following as a regular user:\n\n" +
		"\tmkdir -p $HOME/.kube\n\tsudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config\n\tsudo chown $(id -u):$(id -g) $HOME/.kube/config\n\n" +
		"Run 'kubectl get nodes' to see this node join the cluster.\n\n")
	return nil
}

// tlsBootstrap is kubelet-start: refuse a Ready node of the same name, get
// a kubelet client certificate with the bootstrap token, write
// kubelet.conf and start the kubelet, then wait for it to register.
func (p *program) tlsBootstrap(ctx context.Context, jc *joinConfiguration, cj *clusterJoin, hostname, nodeName string) error {
	e := p.env
	p.outf("[kubelet-start] Writing kubelet configuration to file %q\n", kubeletConfigYML)
	var klCM map[string]any
	kubeletCfg := map[string]any{}
	if err := cj.bootstrap.do(ctx, "GET", "/api/v1/namespaces/kube-system/configmaps/kubelet-config", nil, &klCM); err == nil {
		_ = yaml.Unmarshal([]byte(str(klCM, "data", "kubelet")), &kubeletCfg)
	}
	p.outf("[kubelet-check] Checking for an existing Node in the cluster with name %q and status %q\n", nodeName, "Ready")
	var node map[string]any
	err := cj.bootstrap.do(ctx, "GET", "/api/v1/nodes/"+nodeName, nil, &node)
	switch {
	case err == nil && nodeReady(node) == "True":
		return fmt.Errorf("a Node with name %q and status \"Ready\" already exists in the cluster. You must delete the existing Node or change the name of this new joining Node", nodeName)
	case err != nil && !isNotFound(err):
		return fmt.Errorf("cannot get Node %q: %w", nodeName, err)
	}
	bootKC, err := newKubeconfig("kubernetes", cj.server, cj.caPEM, "tls-bootstrap-token-user", nil, jc.Discovery.TLSBootstrapToken)
	if err != nil {
		return err
	}
	if err := bootKC.write(e.path("/etc/kubernetes/bootstrap-kubelet.conf")); err != nil {
		return err
	}
	if err := writeFile(e.path("/etc/kubernetes/pki/ca.crt"), cj.caPEM, 0o644); err != nil {
		return err
	}
	p.outf("[kubelet-start] Writing kubelet environment file with flags to file %q\n", kubeletFlagsEnv)
	p.outf("[kubelet-start] Starting the kubelet\n")
	p.outf("[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap\n")
	kp, err := requestKubeletCert(ctx, cj.bootstrap, nodeName)
	if err != nil {
		return fmt.Errorf("the TLS bootstrap failed: %w", err)
	}
	kc, err := newKubeconfig(firstNonEmpty(cj.clusterName, "kubernetes"), cj.server, cj.caPEM, "system:node:"+nodeName, kp, "")
	if err != nil {
		return err
	}
	if err := kc.write(e.path("/etc/kubernetes/kubelet.conf")); err != nil {
		return err
	}
	if err := os.Remove(e.path("/etc/kubernetes/bootstrap-kubelet.conf")); err != nil {
		return err
	}
	cc := cj.clusterCfg
	cc.Networking.DNSDomain = firstNonEmpty(cc.Networking.DNSDomain, "cluster.local")
	cc.Networking.ServiceSubnet = firstNonEmpty(cc.Networking.ServiceSubnet, "10.96.0.0/12")
	args := kubeletFlags(jc.NodeRegistration, hostname, nodeName, firstNonEmpty(cc.ImageRepository, "registry.k8s.io"), jc.ControlPlane == nil)
	if err := p.kubeletStartQuiet(kubeletCfg, cc, args); err != nil {
		return err
	}
	client, _, err := clientFromKubeconfig(e, e.path("/etc/kubernetes/kubelet.conf"), 10*time.Second)
	if err != nil {
		return err
	}
	if _, err := p.waitNode(ctx, client, nodeName); err != nil {
		return err
	}
	return nil
}

// requestKubeletCert sends a CSR as the kubelet's TLS bootstrap does and
// returns the signed client certificate with its key.
func requestKubeletCert(ctx context.Context, c *apiClient, nodeName string) (*keyPair, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "system:node:" + nodeName, Organization: []string{"system:nodes"}},
	}, key)
	if err != nil {
		return nil, err
	}
	csr := map[string]any{
		"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
		"metadata": map[string]any{"generateName": "csr-"},
		"spec": map[string]any{
			"request":    base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})),
			"signerName": "kubernetes.io/kube-apiserver-client-kubelet",
			"usages":     []any{"digital signature", "client auth"},
		},
	}
	var out map[string]any
	if err := c.do(ctx, "POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", csr, &out); err != nil {
		return nil, err
	}
	certPEM, err := base64.StdEncoding.DecodeString(str(out, "status", "certificate"))
	if err != nil || len(certPEM) == 0 {
		return nil, errors.New("the CSR was not signed")
	}
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, err
	}
	return &keyPair{cert: cert, key: key}, nil
}

// nodeReady is the status of a node's Ready condition ("" when absent).
func nodeReady(node map[string]any) string {
	for _, c := range list(node, "status", "conditions") {
		cm, _ := c.(map[string]any)
		if str(cm, "type") == "Ready" {
			return str(cm, "status")
		}
	}
	return ""
}
