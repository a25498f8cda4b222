package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"
)

const (
	kubeletPidFile   = "/var/lib/fakek8s/kubelet.pid"
	kubeletLogFile   = "/var/log/fakek8s-kubelet.log"
	kubeletConfigYML = "/var/lib/kubelet/config.yaml"
	kubeletFlagsEnv  = "/var/lib/kubelet/kubeadm-flags.env"
)

// isKubeletDaemon: a kubelet with a kubeconfig runs as the node agent;
// otherwise it only answers --version and the like.
func isKubeletDaemon(args []string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, "--kubeconfig") || strings.HasPrefix(a, "--bootstrap-kubeconfig") {
			return true
		}
	}
	return false
}

func (p *program) kubelet() error {
	if isKubeletDaemon(p.args) {
		return p.kubeletDaemon()
	}
	for _, a := range p.args {
		switch {
		case a == "--version" || a == "--version=true" || a == "--version=raw":
			p.outf("Kubernetes %s\n", version)
			return nil
		case a == "-h" || a == "--help":
			p.outf("The kubelet is the primary \"node agent\" that runs on each node.\n\nUsage:\n  kubelet [flags]\n")
			return nil
		case !strings.HasPrefix(a, "--"):
			fmt.Fprintf(p.stderr, "Error: unknown command %q for \"kubelet\"\n", a)
			return exitError{1}
		}
	}
	// Without a kubeconfig the real kubelet runs standalone; the fake has
	// no containers to run, so there is nothing to do.
	fmt.Fprintln(p.stderr, "kubelet: no --kubeconfig given; the fake kubelet only runs as a node agent")
	return nil
}

// kubeletFlags builds KUBELET_KUBEADM_ARGS as kubeadm does: the runtime
// endpoint, the pause image, the node name when it is not the hostname,
// taints for workers (control-plane nodes get theirs from
// mark-control-plane), then kubeletExtraArgs.
func kubeletFlags(nr nodeRegistration, hostname, nodeName, imageRepo string, registerTaints bool) []string {
	args := []string{"--container-runtime-endpoint=" + nr.CRISocket, "--pod-infra-container-image=" + imageRepo + "/pause:3.9"}
	if hostname != nodeName {
		args = append(args, "--hostname-override="+nodeName)
	}
	if registerTaints && nr.Taints != nil && len(*nr.Taints) > 0 {
		var ts []string
		for _, t := range *nr.Taints {
			s := t.Key
			if t.Value != "" {
				s += "=" + t.Value
			}
			ts = append(ts, s+":"+t.Effect)
		}
		args = append(args, "--register-with-taints="+strings.Join(ts, ","))
	}
	for _, a := range nr.KubeletExtraArgs {
		args = append(args, "--"+a.Name+"="+a.Value)
	}
	return args
}

// kubeletConfig is the KubeletConfiguration given, over kubeadm's
// defaults.
func kubeletConfig(user map[string]any, cc *clusterConfiguration) map[string]any {
	cfg := map[string]any{
		"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
		"cgroupDriver": "systemd", "clusterDNS": []any{serviceIP(cc.Networking.ServiceSubnet, 10).String()},
		"clusterDomain": cc.Networking.DNSDomain, "staticPodPath": "/etc/kubernetes/manifests",
		"rotateCertificates": true, "authentication": map[string]any{"anonymous": map[string]any{"enabled": false}},
	}
	if user != nil {
		cfg, _ = mergePatch(cfg, user).(map[string]any)
	}
	return cfg
}

// kubeletStart writes the kubelet's files and starts it, as kubeadm's
// kubelet-start phase does through systemd.
func (p *program) kubeletStart(userCfg map[string]any, cc *clusterConfiguration, args []string) error {
	p.outf("[kubelet-start] Writing kubelet environment file with flags to file %q\n", kubeletFlagsEnv)
	p.outf("[kubelet-start] Writing kubelet configuration to file %q\n", kubeletConfigYML)
	p.outf("[kubelet-start] Starting the kubelet\n")
	return p.kubeletStartQuiet(userCfg, cc, args)
}

func (p *program) kubeletStartQuiet(userCfg map[string]any, cc *clusterConfiguration, args []string) error {
	e := p.env
	if err := writeFile(e.path(kubeletFlagsEnv), []byte("KUBELET_KUBEADM_ARGS=\""+strings.Join(args, " ")+"\"\n"), 0o644); err != nil {
		return err
	}
	b, err := yaml.Marshal(kubeletConfig(userCfg, cc))
	if err != nil {
		return err
	}
	if err := writeFile(e.path(kubeletConfigYML), b, 0o644); err != nil {
		return err
	}
	if _, err := stopDaemon(e, kubeletPidFile, "kubelet"); err != nil {
		return err
	}
	all := append([]string{"--kubeconfig=/etc/kubernetes/kubelet.conf", "--config=" + kubeletConfigYML}, args...)
	_, err = startDaemon(e, "kubelet", all, kubeletLogFile)
	return err
}

// forbiddenNodeLabel is the kubelet's rule for --node-labels: labels in
// the kubernetes.io and k8s.io namespaces are refused unless allowed.
func forbiddenNodeLabel(key string) bool {
	prefix, _, ok := strings.Cut(key, "/")
	if !ok {
		return false
	}
	ns := prefix
	if !(ns == "kubernetes.io" || strings.HasSuffix(ns, ".kubernetes.io") || ns == "k8s.io" || strings.HasSuffix(ns, ".k8s.io")) {
		return false
	}
	switch key {
	case "kubernetes.io/hostname", "kubernetes.io/instance-type", "kubernetes.io/os", "kubernetes.io/arch",
		"beta.kubernetes.io/instance-type", "beta.kubernetes.io/os", "beta.kubernetes.io/arch",
		"failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
		"topology.kubernetes.io/zone", "topology.kubernetes.io/region", "node.kubernetes.io/instance-type":
		return false
	}
	for _, allowed := range []string{"kubelet.kubernetes.io", "node.kubernetes.io"} {
		if ns == allowed || strings.HasSuffix(ns, "."+allowed) {
			return false
		}
	}
	return true
}

// kubeletDaemon registers the node and posts its status until stopped.
func (p *program) kubeletDaemon() error {
	e := p.env
	logger := log.New(p.stderr, "", log.LstdFlags|log.Lmicroseconds)
	flags := map[string]string{}
	for _, a := range p.args {
		if !strings.HasPrefix(a, "--") {
			return fmt.Errorf("failed to parse kubelet flag: unexpected argument %q", a)
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !ok {
			v = "true"
		}
		flags[k] = v
	}
	labels := map[string]string{}
	if nl := flags["node-labels"]; nl != "" {
		var bad []string
		for _, kv := range strings.Split(nl, ",") {
			k, v, _ := strings.Cut(kv, "=")
			if forbiddenNodeLabel(k) {
				bad = append(bad, k)
			}
			labels[k] = v
		}
		if len(bad) > 0 {
			logger.Printf("E run.go:74] \"command failed\" err=\"failed to validate kubelet flags: unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: %v\n--node-labels in the 'kubernetes.io' namespace must begin with an allowed prefix (kubelet.kubernetes.io, node.kubernetes.io) or be in the specifically allowed set (beta.kubernetes.io/arch, beta.kubernetes.io/instance-type, beta.kubernetes.io/os, failure-domain.beta.kubernetes.io/region, failure-domain.beta.kubernetes.io/zone, kubernetes.io/arch, kubernetes.io/hostname, kubernetes.io/instance-type, kubernetes.io/os, node.kubernetes.io/instance-type, topology.kubernetes.io/region, topology.kubernetes.io/zone)\"", bad)
			return exitError{1}
		}
	}
	var taints []any
	if rt := flags["register-with-taints"]; rt != "" {
		for _, t := range strings.Split(rt, ",") {
			kv, effect, _ := strings.Cut(t, ":")
			k, v, _ := strings.Cut(kv, "=")
			tm := map[string]any{"key": k, "effect": effect}
			if v != "" {
				tm["value"] = v
			}
			taints = append(taints, tm)
		}
	}
	nodeName := flags["hostname-override"]
	if nodeName == "" {
		h, err := e.hostname()
		if err != nil {
			return err
		}
		nodeName = h
	}
	readyDelay, err := e.duration(envReadyDelay, 0)
	if err != nil {
		return err
	}
	heartbeat, err := e.duration(envHeartbeat, 2*time.Second)
	if err != nil {
		return err
	}
	if err := writeFile(e.path(kubeletPidFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go watchPidFile(ctx, e.path(kubeletPidFile), stop)
	if err := p.kubeletListen(ctx, logger); err != nil {
		return err
	}
	c, _, err := clientFromKubeconfig(e, e.path(flags["kubeconfig"]), 10*time.Second)
	if err != nil {
		return err
	}
	k := &kubeletState{c: c, name: nodeName, nodeIP: flags["node-ip"], labels: labels, taints: taints,
		started: time.Now(), readyDelay: readyDelay, logger: logger}
	logger.Printf("kubelet for node %q starting (ready after %s)", nodeName, readyDelay)
	registered := false
	for {
		wait := heartbeat
		if !registered {
			if err := k.register(ctx); err != nil {
				logger.Printf("E kubelet_node_status.go:96] \"Unable to register node with API server\" err=%q node=%q", err, nodeName)
				// The apiserver may still be starting: retry soon.
				wait = 200 * time.Millisecond
			} else {
				registered = true
				logger.Printf("I kubelet_node_status.go:76] \"Successfully registered node\" node=%q", nodeName)
			}
		}
		if registered {
			// A node deleted while its kubelet runs stays deleted: the
			// kubelet registers once per start.
			if err := k.postStatus(ctx); err != nil {
				logger.Printf("E kubelet_node_status.go:544] \"Error updating node status, will retry\" err=%q", err)
			}
		}
		// A Ready transition is posted when it happens, not a heartbeat later.
		if untilReady := time.Until(k.started.Add(readyDelay)); untilReady > 0 && untilReady < wait {
			wait = untilReady + 10*time.Millisecond
		}
		select {
		case <-ctx.Done():
			logger.Printf("kubelet stopped")
			return nil
		case <-time.After(wait):
		}
	}
}

// kubeletPort is 10250 unless the knob moves it (0: do not listen).
func kubeletPort(e *env) (int, error) {
	v := e.get(envKubeletPort)
	if v == "" {
		return 10250, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("%s=%q: not a port", envKubeletPort, v)
	}
	return n, nil
}

// kubeletListen serves the kubelet's port (10250) so that it is in use as
// on a real node.
func (p *program) kubeletListen(ctx context.Context, logger *log.Logger) error {
	port, err := kubeletPort(p.env)
	if err != nil {
		return err
	}
	if port == 0 {
		return nil
	}
	host, err := p.env.listenHost()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("failed to listen on %s: %w", net.JoinHostPort(host, strconv.Itoa(port)), err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, ErrorLog: logger,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })}
	go func() { _ = srv.Serve(ln) }()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	return nil
}

type kubeletState struct {
	c          *apiClient
	name       string
	nodeIP     string
	labels     map[string]string
	taints     []any
	started    time.Time
	readyDelay time.Duration
	logger     *log.Logger
}

// register creates the Node object, or takes over an existing one, as the
// kubelet does on start.
func (k *kubeletState) register(ctx context.Context) error {
	labels := map[string]any{
		"kubernetes.io/hostname": k.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": goarch(),
		"beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": goarch(),
	}
	for key, v := range k.labels {
		labels[key] = v
	}
	node := map[string]any{
		"apiVersion": "v1", "kind": "Node",
		"metadata": map[string]any{"name": k.name, "labels": labels, "annotations": map[string]any{
			"kubeadm.alpha.kubernetes.io/cri-socket":                 "unix:///var/run/containerd/containerd.sock",
			"node.alpha.kubernetes.io/ttl":                           "0",
			"volumes.kubernetes.io/controller-managed-attach-detach": "true",
		}},
		"spec": map[string]any{},
	}
	if len(k.taints) > 0 {
		ensureMap(node, "spec")["taints"] = k.taints
	}
	// The kubelet registers with its first status, so a node never shows
	// without conditions; a first request tells the address this host
	// reaches the apiserver from.
	if err := k.c.doRaw(ctx, "/healthz"); err != nil {
		return err
	}
	node["status"] = k.status()
	err := k.c.do(ctx, "POST", "/api/v1/nodes", node, nil)
	var se *statusError
	if errors.As(err, &se) && se.Reason == "AlreadyExists" {
		// A node of this name was registered before (a re-join): keep it,
		// with this kubelet's labels.
		patch := map[string]any{"metadata": map[string]any{"labels": labels}}
		return k.c.doType(ctx, "PATCH", "/api/v1/nodes/"+k.name, "application/merge-patch+json", patch, nil)
	}
	return err
}

// postStatus is the kubelet's node status update.
func (k *kubeletState) postStatus(ctx context.Context) error {
	body, err := json.Marshal(map[string]any{"status": k.status()})
	if err != nil {
		return err
	}
	var raw json.RawMessage = body
	return k.c.doType(ctx, "PATCH", "/api/v1/nodes/"+k.name+"/status", "application/merge-patch+json", raw, nil)
}

// status is the node's status: addresses, node info and conditions,
// Ready once the ready delay has passed.
func (k *kubeletState) status() map[string]any {
	ip := k.nodeIP
	if ip == "" {
		// The address this host reaches the apiserver from: the one on the
		// network the cluster uses.
		if a, ok := k.c.lastLocal().(*net.TCPAddr); ok && a != nil {
			ip = a.IP.String()
		}
	}
	now := time.Now().UTC().Format(time.RFC3339)
	since := k.started.UTC().Format(time.RFC3339)
	ready := time.Since(k.started) >= k.readyDelay
	readyCond := map[string]any{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
		"lastHeartbeatTime": now, "lastTransitionTime": k.started.Add(k.readyDelay).UTC().Format(time.RFC3339)}
	if !ready {
		readyCond["status"] = "False"
		readyCond["reason"] = "KubeletNotReady"
		readyCond["message"] = "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"
		readyCond["lastTransitionTime"] = since
	}
	cond := func(typ, reason, msg string) map[string]any {
		return map[string]any{"type": typ, "status": "False", "reason": reason, "message": msg, "lastHeartbeatTime": now, "lastTransitionTime": since}
	}
	var addrs []any
	if ip != "" {
		addrs = append(addrs, map[string]any{"type": "InternalIP", "address": ip})
	}
	addrs = append(addrs, map[string]any{"type": "Hostname", "address": k.name})
	capacity := map[string]any{"cpu": strconv.Itoa(numCPU()), "memory": "8Gi", "pods": "110", "ephemeral-storage": "100Gi"}
	status := map[string]any{
		"addresses": addrs,
		"conditions": []any{
			cond("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
			cond("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
			cond("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
			readyCond,
		},
		"capacity": capacity, "allocatable": capacity,
		"daemonEndpoints": map[string]any{"kubeletEndpoint": map[string]any{"Port": 10250}},
		"nodeInfo": map[string]any{
			"architecture": goarch(), "operatingSystem": "linux", "osImage": osImage(),
			"kernelVersion": kernelVersion(), "containerRuntimeVersion": "containerd://1.7.20",
			"kubeletVersion": version, "kubeProxyVersion": version,
			"machineID": machineID(), "bootID": "", "systemUUID": "",
		},
	}
	return status
}

func osImage() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "Linux"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "Linux"
}

func kernelVersion() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func machineID() string {
	b, err := os.ReadFile("/etc/machine-id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
