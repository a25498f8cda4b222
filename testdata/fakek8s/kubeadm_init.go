package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"
)

// kubeadm's phase names, for --skip-phases.
var initPhases = map[string]bool{
	"preflight": true, "certs": true, "kubeconfig": true, "etcd": true, "control-plane": true,
	"kubelet-start": true, "wait-control-plane": true, "upload-config": true, "upload-certs": true,
	"mark-control-plane": true, "bootstrap-token": true, "kubelet-finalize": true, "addon": true,
	"addon/coredns": true, "addon/kube-proxy": true, "show-join-command": true,
}

func (p *program) newInitCmd() *cobra.Command {
	o := &initOptions{}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Run this command in order to set up the Kubernetes control plane",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := mixedArgs(cmd.Flags()); err != nil {
				return err
			}
			return p.runInit(cmd.Flags(), o)
		},
	}
	o.bind(cmd.Flags())
	phase := &cobra.Command{Use: "phase", Short: "Use this command to invoke single phase of the init workflow"}
	phase.AddCommand(p.newUploadCertsPhaseCmd())
	cmd.AddCommand(phase)
	return cmd
}

func (o *initOptions) skips(name string) bool {
	for _, s := range o.skipPhases {
		if s == name || (strings.HasPrefix(name, s+"/")) {
			return true
		}
	}
	return false
}

func (p *program) runInit(fs *pflag.FlagSet, o *initOptions) error {
	for _, s := range o.skipPhases {
		if !initPhases[s] {
			return fmt.Errorf("invalid phase name: %s", s)
		}
	}
	c, err := p.loadInitConfig(fs, o)
	if err != nil {
		return err
	}
	o.skipPhases = append(o.skipPhases, c.ic.SkipPhases...)
	e := p.env
	p.outf("[init] Using Kubernetes version: %s\n", c.version)
	if !o.skips("preflight") {
		p.outf("[preflight] Running pre-flight checks\n")
		pf := newPreflight(append(o.ignorePreflight, c.ic.NodeRegistration.IgnorePreflightErrors...))
		for _, m := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"} {
			pf.fileAvailable(e, "/etc/kubernetes/manifests/"+m+".yaml")
		}
		for _, port := range []int{c.bindPort, 10259, 10257, 2379, 2380} {
			pf.portOpen(e, port)
		}
		pf.kubeletPort(e)
		pf.dirAvailable(e, "/var/lib/etcd")
		pf.fileContent(e, "/proc/sys/net/ipv4/ip_forward", "1")
		pf.resources(e)
		pf.cri(e, c.ic.NodeRegistration.CRISocket)
		if _, kmin := minorOf(version); minorOfVersion(c.version) > kmin {
			pf.warn("KubernetesVersion", fmt.Sprintf("Kubernetes version is greater than kubeadm version. Please consider to upgrade kubeadm. Kubernetes version: %s. Kubeadm version: %s.x",
				strings.TrimPrefix(c.version, "v"), strings.TrimPrefix(version[:strings.LastIndex(version, ".")], "v")))
		}
		if err := pf.finish(p); err != nil {
			return err
		}
		p.outf("[preflight] Pulling images required for setting up a Kubernetes cluster\n")
		p.outf("[preflight] This might take a minute or two, depending on the speed of your internet connection\n")
		p.outf("[preflight] You can also perform this action beforehand using 'kubeadm config images pull'\n")
	}
	if o.dryRun || c.ic.DryRun {
		p.outf("[dryrun] Finished dry-running successfully. Above are the resources that would be created\n")
		return nil
	}
	ctx := context.Background()
	ca, err := ensurePKI(e, p.stdout, pkiPlan{
		dir: c.cc.CertificatesDir, nodeName: c.nodeName, advertise: c.advertise,
		dnsDomain: c.cc.Networking.DNSDomain, serviceIP: serviceIP(c.cc.Networking.ServiceSubnet, 1),
		extraSANs: c.cc.APIServer.CertSANs, endpointIP: hostOf(c.cc.ControlPlaneEndpoint),
	})
	if err != nil {
		return fmt.Errorf("error execution phase certs: %w", err)
	}
	server := "https://" + c.endpoint
	if err := writeKubeconfigs(e, p.stdout, ca, c.cc.ClusterName, server, c.nodeName, true); err != nil {
		return fmt.Errorf("error execution phase kubeconfig: %w", err)
	}
	if err := writeManifests(e, p.stdout, c.cc, c.version, c.advertise.String(), c.bindPort); err != nil {
		return fmt.Errorf("error execution phase control-plane: %w", err)
	}
	hostname, err := e.hostname()
	if err != nil {
		return err
	}
	kubeletArgs := kubeletFlags(c.ic.NodeRegistration, hostname, c.nodeName, c.cc.ImageRepository, false)
	if err := p.kubeletStart(c.kubelet, c.cc, kubeletArgs); err != nil {
		return fmt.Errorf("error execution phase kubelet-start: %w", err)
	}
	if err := p.startAPIServer(c.advertise.String(), c.bindPort, c.cc.APIServer.ExtraArgs.get("bind-address"), nil); err != nil {
		return fmt.Errorf("error execution phase wait-control-plane: %w", err)
	}
	client, _, err := clientFromKubeconfig(e, e.path("/etc/kubernetes/admin.conf"), 30*time.Second)
	if err != nil {
		return err
	}
	if err := p.waitAPIServer(ctx, client); err != nil {
		return fmt.Errorf("error execution phase wait-control-plane: %w", err)
	}
	if err := uploadConfig(ctx, p, client, c); err != nil {
		return fmt.Errorf("error execution phase upload-config: %w", err)
	}
	certKey := ""
	if o.uploadCerts && !o.skips("upload-certs") {
		certKey = firstNonEmpty(o.certificateKey, c.ic.CertificateKey)
		if certKey, err = uploadCerts(ctx, p, client, c.cc.CertificatesDir, certKey, o.skipCertKeyPrint); err != nil {
			return fmt.Errorf("error execution phase upload-certs: %w", err)
		}
	} else {
		p.outf("[upload-certs] Skipping phase. Please see --upload-certs\n")
	}
	if !o.skips("mark-control-plane") {
		taints := []nodeTaint{{Key: "node-role.kubernetes.io/control-plane", Effect: "NoSchedule"}}
		if c.ic.NodeRegistration.Taints != nil {
			taints = *c.ic.NodeRegistration.Taints
		}
		if err := p.markControlPlane(ctx, client, c.nodeName, taints); err != nil {
			return fmt.Errorf("error execution phase mark-control-plane: %w", err)
		}
	}
	if !o.skips("bootstrap-token") {
		if err := p.bootstrapTokens(ctx, client, c, ca, server, o.skipTokenPrint); err != nil {
			return fmt.Errorf("error execution phase bootstrap-token: %w", err)
		}
	}
	p.outf("[kubelet-finalize] Updating %q to point to a rotatable kubelet client certificate and key\n", "/etc/kubernetes/kubelet.conf")
	if err := p.addons(ctx, client, c, o); err != nil {
		return fmt.Errorf("error execution phase addon: %w", err)
	}
	if o.skips("show-join-command") {
		return nil
	}
	token := c.ic.BootstrapTokens[0].Token
	if o.skipTokenPrint {
		token = "<value withheld>"
	}
	if o.skipCertKeyPrint {
		certKey = "<value withheld>"
	}
	return printInitDone(p, joinCommandData{
		Endpoint: c.endpoint, Token: token, Hashes: []string{pubKeyPin(ca.cert)},
		CertificateKey: certKey, UploadCerts: certKey != "",
	}, c.cc.ControlPlaneEndpoint != "")
}

func hostOf(endpoint string) string {
	if endpoint == "" {
		return ""
	}
	if h, _, err := net.SplitHostPort(endpoint); err == nil {
		return h
	}
	return strings.Trim(endpoint, "[]")
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// writeKubeconfigs writes the kubeconfig files of a node; control-plane
// nodes get the admin and component ones too.
func writeKubeconfigs(e *env, out io.Writer, ca *keyPair, clusterName, server, nodeName string, controlPlane bool) error {
	type kcSpec struct {
		file, user string
		spec       certSpec
	}
	specs := []kcSpec{{"kubelet.conf", "system:node:" + nodeName, certSpec{cn: "system:node:" + nodeName, orgs: []string{"system:nodes"}, client: true}}}
	if controlPlane {
		specs = append([]kcSpec{
			{"admin.conf", "kubernetes-admin", certSpec{cn: "kubernetes-admin", orgs: []string{"kubeadm:cluster-admins"}, client: true}},
			{"super-admin.conf", "kubernetes-super-admin", certSpec{cn: "kubernetes-super-admin", orgs: []string{"system:masters"}, client: true}},
		}, specs...)
		specs = append(specs,
			kcSpec{"controller-manager.conf", "system:kube-controller-manager", certSpec{cn: "system:kube-controller-manager", client: true}},
			kcSpec{"scheduler.conf", "system:kube-scheduler", certSpec{cn: "system:kube-scheduler", client: true}})
	}
	fmt.Fprintf(out, "[kubeconfig] Using kubeconfig folder %q\n", "/etc/kubernetes")
	for _, s := range specs {
		path := e.path("/etc/kubernetes/" + s.file)
		if _, err := os.Stat(path); err == nil {
			fmt.Fprintf(out, "[kubeconfig] Using existing kubeconfig file: %q\n", "/etc/kubernetes/"+s.file)
			continue
		}
		fmt.Fprintf(out, "[kubeconfig] Writing %q kubeconfig file\n", s.file)
		kp, err := ca.issue(s.spec)
		if err != nil {
			return err
		}
		kc, err := newKubeconfig(clusterName, server, ca.certPEM(), s.user, kp, "")
		if err != nil {
			return err
		}
		if err := kc.write(path); err != nil {
			return err
		}
	}
	return nil
}

// startAPIServer starts the apiserver daemon unless this root already runs
// one; upstream (IP:port, server name) makes it a forwarder.
func (p *program) startAPIServer(advertise string, port int, bindAddress string, upstream []string) error {
	e := p.env
	p.outf("[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory %q\n", "/etc/kubernetes/manifests")
	if _, ok := daemonPid(e, apiserverPidFile, "kube-apiserver"); ok {
		return nil
	}
	if bindAddress == "" {
		h, err := e.listenHost()
		if err != nil {
			return err
		}
		bindAddress = h
	}
	args := []string{"--advertise-address=" + advertise, "--secure-port=" + strconv.Itoa(port)}
	if bindAddress != "" {
		args = append(args, "--bind-address="+bindAddress)
	}
	args = append(args, upstream...)
	_, err := startDaemon(e, "kube-apiserver", args, apiserverLogFile)
	return err
}

// waitAPIServer polls /healthz until the apiserver answers, failing early
// when its daemon died.
func (p *program) waitAPIServer(ctx context.Context, c *apiClient) error {
	timeout, err := p.env.duration(envWaitTimeout, 4*time.Minute)
	if err != nil {
		return err
	}
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		var lastErr error
		if lastErr = c.doRaw(ctx, "/healthz"); lastErr == nil {
			p.outf("[apiclient] All control plane components are healthy after %.6f seconds\n", time.Since(start).Seconds())
			return nil
		}
		// The pid file appears once the daemon started; give it a moment.
		if time.Since(start) > 2*time.Second {
			if _, ok := daemonPid(p.env, apiserverPidFile, "kube-apiserver"); !ok {
				return fmt.Errorf("the kube-apiserver is not running: %v\n%s", lastErr, logTail(p.env, apiserverLogFile, 5))
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("couldn't initialize a Kubernetes cluster: the apiserver did not become healthy within %s: %v", timeout, lastErr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// uploadConfig stores the cluster configuration in the cluster, where
// joining nodes read it.
func uploadConfig(ctx context.Context, p *program, c *apiClient, cfg *initCfg) error {
	p.outf("[upload-config] Storing the configuration used in ConfigMap %q in the %q Namespace\n", "kubeadm-config", "kube-system")
	ccYAML, err := yaml.Marshal(cfg.clusterDoc)
	if err != nil {
		return err
	}
	if err := putConfigMap(ctx, c, "kube-system", "kubeadm-config", map[string]any{"ClusterConfiguration": string(ccYAML)}); err != nil {
		return err
	}
	p.outf("[kubelet] Creating a ConfigMap %q in namespace kube-system with the configuration for the kubelets in the cluster\n", "kubelet-config")
	kl, err := yaml.Marshal(kubeletConfig(cfg.kubelet, cfg.cc))
	if err != nil {
		return err
	}
	return putConfigMap(ctx, c, "kube-system", "kubelet-config", map[string]any{"kubelet": string(kl)})
}

// putConfigMap creates or replaces a ConfigMap.
func putConfigMap(ctx context.Context, c *apiClient, ns, name string, data map[string]any) error {
	cm := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": name, "namespace": ns}, "data": data}
	return createOrReplace(ctx, c, "/api/v1/namespaces/"+ns+"/configmaps", name, cm)
}

func createOrReplace(ctx context.Context, c *apiClient, base, name string, obj map[string]any) error {
	err := c.do(ctx, "POST", base, obj, nil)
	var se *statusError
	if errors.As(err, &se) && se.Reason == "AlreadyExists" {
		return c.do(ctx, "PUT", base+"/"+name, obj, nil)
	}
	return err
}

// uploadCerts encrypts the shared certificates with the certificate key
// (a new one when empty) into the kubeadm-certs Secret and prints the key.
func uploadCerts(ctx context.Context, p *program, c *apiClient, certDir, key string, skipPrint bool) (string, error) {
	var err error
	if key == "" {
		if key, err = newCertificateKey(); err != nil {
			return "", err
		}
	}
	raw, err := decodeCertificateKey(key)
	if err != nil {
		return "", err
	}
	p.outf("[upload-certs] Storing the certificates in Secret %q in the %q Namespace\n", "kubeadm-certs", "kube-system")
	data := map[string]any{}
	for _, sc := range sharedCerts {
		b, err := os.ReadFile(p.env.path(filepath.Join(certDir, sc.file)))
		if err != nil {
			return "", fmt.Errorf("error uploading certs: %w", err)
		}
		enc, err := encryptWithKey(b, raw)
		if err != nil {
			return "", err
		}
		data[sc.secretKey] = base64.StdEncoding.EncodeToString(enc)
	}
	sec := map[string]any{"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
		"metadata": map[string]any{"name": "kubeadm-certs", "namespace": "kube-system"}, "data": data}
	if err := createOrReplace(ctx, c, "/api/v1/namespaces/kube-system/secrets", "kubeadm-certs", sec); err != nil {
		return "", fmt.Errorf("error uploading certs: %w", err)
	}
	p.outf("[upload-certs] Using certificate key:\n")
	if skipPrint {
		p.outf("<value withheld>\n")
	} else {
		p.outf("%s\n", key)
	}
	return key, nil
}

// markControlPlane waits for the kubelet to register the node, then labels
// and taints it as kubeadm does.
func (p *program) markControlPlane(ctx context.Context, c *apiClient, nodeName string, taints []nodeTaint) error {
	labels := []string{"node-role.kubernetes.io/control-plane", "node.kubernetes.io/exclude-from-external-load-balancers"}
	p.outf("[mark-control-plane] Marking the node %s as control-plane by adding the labels: %v\n", nodeName, labels)
	if len(taints) > 0 {
		var ts []string
		for _, t := range taints {
			ts = append(ts, fmt.Sprintf("{%s %s %s <nil>}", t.Key, t.Value, t.Effect))
		}
		p.outf("[mark-control-plane] Marking the node %s as control-plane by adding the taints %v\n", nodeName, ts)
	}
	node, err := p.waitNode(ctx, c, nodeName)
	if err != nil {
		return err
	}
	lm := map[string]any{}
	for _, l := range labels {
		lm[l] = ""
	}
	existing := list(node, "spec", "taints")
	for _, t := range taints {
		dup := false
		for _, x := range existing {
			xm, _ := x.(map[string]any)
			if str(xm, "key") == t.Key && str(xm, "effect") == t.Effect {
				dup = true
			}
		}
		if !dup {
			tm := map[string]any{"key": t.Key, "effect": t.Effect}
			if t.Value != "" {
				tm["value"] = t.Value
			}
			existing = append(existing, tm)
		}
	}
	patch := map[string]any{"metadata": map[string]any{"labels": lm}, "spec": map[string]any{"taints": existing}}
	return c.doType(ctx, "PATCH", "/api/v1/nodes/"+nodeName, "application/strategic-merge-patch+json", patch, nil)
}

// waitNode waits until the kubelet registered the node, failing early
// when the kubelet died.
func (p *program) waitNode(ctx context.Context, c *apiClient, nodeName string) (map[string]any, error) {
	timeout, err := p.env.duration(envWaitTimeout, 4*time.Minute)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	for {
		var node map[string]any
		err := c.do(ctx, "GET", "/api/v1/nodes/"+nodeName, nil, &node)
		if err == nil && nodeReady(node) != "" {
			return node, nil
		}
		if !isNotFound(err) && time.Since(start) > timeout {
			return nil, err
		}
		if _, ok := daemonPid(p.env, kubeletPidFile, "kubelet"); !ok && time.Since(start) > 500*time.Millisecond {
			return nil, fmt.Errorf("the kubelet is not running, so node %q was never registered; the kubelet's log ends with:\n%s", nodeName, logTail(p.env, kubeletLogFile, 5))
		}
		if time.Since(start) > timeout {
			return nil, fmt.Errorf("timed out waiting for the kubelet to register node %q", nodeName)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// bootstrapTokens creates the init tokens and the signed cluster-info.
func (p *program) bootstrapTokens(ctx context.Context, c *apiClient, cfg *initCfg, ca *keyPair, server string, skipPrint bool) error {
	for _, bt := range cfg.ic.BootstrapTokens {
		shown := bt.Token
		if skipPrint {
			shown = "<value withheld>"
		}
		p.outf("[bootstrap-token] Using token: %s\n", shown)
		ttl, _ := time.ParseDuration(bt.TTL)
		if err := createToken(ctx, c, bt.Token, ttl, bt.Description, bt.Usages, bt.Groups); err != nil {
			return err
		}
	}
	p.outf("[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles\n")
	p.outf("[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to get nodes\n")
	p.outf("[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to post CSRs in order for nodes to get long term certificate credentials\n")
	p.outf("[bootstrap-token] Configured RBAC rules to allow the csrapprover controller automatically approve CSRs from a Node Bootstrap Token\n")
	p.outf("[bootstrap-token] Configured RBAC rules to allow certificate rotation for all node client certificates in the cluster\n")
	p.outf("[bootstrap-token] Creating the %q ConfigMap in the %q namespace\n", "cluster-info", "kube-public")
	kc := &kubeconfig{APIVersion: "v1", Kind: "Config", Preferences: map[string]any{},
		Clusters: []namedCluster{{Name: "", Cluster: clusterInfo{Server: server, CertificateAuthorityData: base64.StdEncoding.EncodeToString(ca.certPEM())}}}}
	b, err := yaml.Marshal(kc)
	if err != nil {
		return err
	}
	return putConfigMap(ctx, c, "kube-public", "cluster-info", map[string]any{"kubeconfig": string(b)})
}

// joinCommandData fills kubeadm's join command template.
type joinCommandData struct {
	Endpoint       string
	Token          string
	Hashes         []string
	ControlPlane   bool
	CertificateKey string
	UploadCerts    bool
}

// joinCommandTmpl is kubeadm's (cmd/kubeadm/app/cmd/util/join.go).
var joinCommandTmpl = template.Must(template.New("join").Parse(`` +
	"kubeadm join {{.Endpoint}} --token {{.Token}} \\\n" +
	"\t{{range $h := .Hashes}}--discovery-token-ca-cert-hash {{$h}} {{end}}{{if .ControlPlane}}\\\n" +
	"\t--control-plane {{if .CertificateKey}}--certificate-key {{.CertificateKey}}{{end}}{{end}}"))

func joinCommand(d joinCommandData) (string, error) {
	var b strings.Builder
	if err := joinCommandTmpl.Execute(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

var initDoneTmpl = template.Must(template.New("init").Parse(`
Your Kubernetes control-plane has initialized successfully!

To start using your cluster, you need to run the following as a regular user:

  mkdir -p $HOME/.kube
  sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config
  sudo chown $(id -u):$(id -g) $HOME/.kube/config

Alternatively, if you are the root user, you can run:

  export KUBECONFIG=/etc/kubernetes/admin.conf

You should now deploy a pod network to the cluster.
Run "kubectl apply -f [podnetwork].yaml" with one of the options listed at:
  https://kubernetes.io/docs/concepts/cluster-administration/addons/

{{if .ControlPlaneEndpoint -}}
{{if .UploadCerts -}}
You can now join any number of the control-plane node running the following command on each as root:

  {{.JoinControlPlane}}

Please note that the certificate-key gives access to cluster sensitive data, keep it secret!
As a safeguard, uploaded-certs will be deleted in two hours; If necessary, you can use
"kubeadm init phase upload-certs --upload-certs" to reload certs afterward.

{{else -}}
You can now join any number of control-plane nodes by copying certificate authorities
and service account keys on each node and then running the following as root:

  {{.JoinControlPlane}}

{{end}}{{end}}Then you can join any number of worker nodes by running the following on each as root:

{{.JoinWorker}}
`))

func printInitDone(p *program, d joinCommandData, hasEndpoint bool) error {
	worker, err := joinCommand(d)
	if err != nil {
		return err
	}
	d.ControlPlane = true
	cp, err := joinCommand(d)
	if err != nil {
		return err
	}
	return initDoneTmpl.Execute(p.stdout, map[string]any{
		"ControlPlaneEndpoint": hasEndpoint, "UploadCerts": d.UploadCerts,
		"JoinControlPlane": cp, "JoinWorker": worker,
	})
}
