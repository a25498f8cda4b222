package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Knobs. Each is read from the environment first, then from the file
// <root>/etc/fakek8s/env (KEY=VALUE lines), so a test harness can configure a
// host once instead of on every SSH command line.
const (
	envRoot          = "FAKEK8S_ROOT"               // state root, default "/"
	envHostIP        = "FAKEK8S_HOST_IP"            // this host's IP: daemons listen on it, outgoing connections start from it
	envHostname      = "FAKEK8S_HOSTNAME"           // overrides the hostname (node name default)
	envAPIServerPort = "FAKEK8S_APISERVER_PORT"     // overrides localAPIEndpoint.bindPort (6443)
	envKubeletPort   = "FAKEK8S_KUBELET_PORT"       // kubelet's port (10250)
	envReadyDelay    = "FAKEK8S_READY_DELAY"        // time from kubelet start to Ready (0)
	envHeartbeat     = "FAKEK8S_HEARTBEAT"          // kubelet status interval (2s)
	envGrace         = "FAKEK8S_NODE_MONITOR_GRACE" // apiserver: heartbeat age after which a node is NotReady (40s)
	envDiscoveryTO   = "FAKEK8S_DISCOVERY_TIMEOUT"  // kubeadm join: discovery timeout (config's, else 5m)
	envWaitTimeout   = "FAKEK8S_WAIT_TIMEOUT"       // kubeadm: wait for apiserver and kubelet (4m)
	envFail          = "FAKEK8S_FAIL"               // commands to fail on purpose ("kubeadm join,kubectl apply")
	envHold          = "FAKEK8S_HOLD"               // a command to hold while a file exists ("kubeadm join=/tmp/gate")
	envFileRel       = "etc/fakek8s/env"
)

type env struct {
	root string
	file map[string]string
}

func loadEnv() (*env, error) {
	root := os.Getenv(envRoot)
	if root == "" {
		root = "/"
	}
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("%s=%q: must be an absolute path", envRoot, root)
	}
	e := &env{root: filepath.Clean(root), file: map[string]string{}}
	data, err := os.ReadFile(e.path("/" + envFileRel))
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("reading knobs: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			return nil, fmt.Errorf("%s line %d: want KEY=VALUE, got %q", e.path("/"+envFileRel), n, line)
		}
		e.file[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"'`)
	}
	return e, nil
}

func (e *env) get(key string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return e.file[key]
}

func (e *env) duration(key string, def time.Duration) (time.Duration, error) {
	v := e.get(key)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: %w", key, v, err)
	}
	return d, nil
}

// path maps an absolute path of the fake host into the state root.
func (e *env) path(p string) string {
	if e.root == "/" {
		return p
	}
	return filepath.Join(e.root, p)
}

// hostIP is the address this fake host owns, or nil when it owns every
// address of its network namespace (the normal case).
func (e *env) hostIP() (net.IP, error) {
	v := e.get(envHostIP)
	if v == "" {
		return nil, nil
	}
	ip := net.ParseIP(v)
	if ip == nil {
		return nil, fmt.Errorf("%s=%q: not an IP address", envHostIP, v)
	}
	return ip, nil
}

// listenHost is the host part that daemons of this host listen on.
func (e *env) listenHost() (string, error) {
	ip, err := e.hostIP()
	if err != nil || ip == nil {
		return "", err
	}
	return ip.String(), nil
}

func (e *env) hostname() (string, error) {
	if h := e.get(envHostname); h != "" {
		return strings.ToLower(h), nil
	}
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("reading hostname: %w", err)
	}
	return strings.ToLower(h), nil
}

// dialer starts outgoing connections from the host's IP, so tests on
// loopback see each fake host with its own address.
func (e *env) dialer(timeout time.Duration) (*net.Dialer, error) {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	ip, err := e.hostIP()
	if err != nil {
		return nil, err
	}
	if ip != nil {
		d.LocalAddr = &net.TCPAddr{IP: ip}
	}
	return d, nil
}

// daemonEnv is the environment handed to daemons: the caller's, so knobs
// and FAKEK8S_ROOT carry over.
func daemonEnv() []string { return os.Environ() }
