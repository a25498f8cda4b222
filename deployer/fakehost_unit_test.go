package deployer

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/ssh/sshtest"
)

// A fake host answers the scripts of the phases from this table, the way a
// Linux host with testdata/fakek8s does: enough for every verb to run to
// its end. Facts and files are the host's own; which hosts are nodes of
// the cluster is the site's (kubectl on master0 lists them). A test adds
// rules of its own to a host, which win over these.
func (s *fakeSite) newHost(ip string) *sshtest.Recorder {
	r := sshtest.New(ip, "10.0.0.1")
	ok := sshtest.Reply{}
	type rule struct {
		expr string
		h    sshtest.Handler
	}
	for _, x := range []rule{
		{`\Aset \+e\necho "hostname=`, s.factsOf(ip)},                                                            // preflight
		{`(?m)^spk_sha256 |find \. -name '\*\.part'`, sums},                                                      // distribute: survey, verify
		{`\Aset -e\ncd ` + RootfsDir + `\n`, replyWith(ok)},                                                      // distribute: modes, bin/*
		{`> ` + markerPath + `\n\z`, markCluster},                                                                // host-init
		{`\Arm -f ` + containerdAuthPath + `\z`, replyWith(ok)},                                                  // host-init: no credentials
		{`curl -fsS -o /dev/null http://|/dev/tcp/\$1/\$2`, replyWith(ok)},                                       // registry: reachable
		{`\A# settle an earlier `, settle},                                                                       // init, join
		{`\A# kubeadm (init|join) .*\(once\)\n`, s.kubeadm(ip)},                                                  // init, join
		{`\Akubeadm token create --print-join-command\z`, s.tokenCreate},                                         // join
		{`\Akubeadm init phase upload-certs --upload-certs\z`, uploadCerts},                                      // join of a master, later run
		{`\Aset -e\nsed -i '/ \S+ ` + hostsMark + `\$/d' /etc/hosts`, replyWith(ok)},                             // a name in /etc/hosts
		{`\Au='[^']*'\nhome=`, replyWith(ok)},                                                                    // a user's kubeconfig
		{`\AKUBECONFIG=` + adminConf + ` kubectl get configmap -n kube-system kubeadm-config `, s.clusterConfig}, // preflight of an installed cluster
		{`\AKUBECONFIG=` + adminConf + ` kubectl get nodes -o json\z`, s.nodeList},                               // verify, drain
		{`\AKUBECONFIG=` + adminConf + ` kubectl get \w+ -A -o json\z`, noWorkloads},                             // verify: rollouts
		{`\Aset -e\nexport KUBECONFIG=\S+\nkubectl (label|taint) `, replyWith(ok)},                               // verify: labels, taints
		{`\Acd ` + RootfsDir + `\n`, replyWith(ok)},                                                              // apps: a CMD line
		{`\Aexport KUBECONFIG=\S+\nkubectl drain '([^']*)'`, s.drain},                                            // drain
		{`(?m)^if command -v kubeadm >/dev/null 2>&1; then kubeadm reset -f`, s.clean},                           // clean-host
	} {
		r.Handle(x.expr, x.h)
	}
	return r
}

// clusterConfig is kubeadm-config's ClusterConfiguration: the cluster runs
// the Kubernetes kubeadm init was given.
func (s *fakeSite) clusterConfig(ctx context.Context, h *sshtest.Recorder, c sshtest.Call) sshtest.Reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sshtest.Reply{Stdout: "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: " + s.kubeVersion + "\n"}
}

func replyWith(rep sshtest.Reply) sshtest.Handler {
	return func(context.Context, *sshtest.Recorder, sshtest.Call) sshtest.Reply { return rep }
}

// factsOf answers factsScript: a good host, but for the site's overrides,
// with the marker host-init wrote and the ports of a node that joined.
func (s *fakeSite) factsOf(ip string) sshtest.Handler {
	return func(ctx context.Context, h *sshtest.Recorder, c sshtest.Call) sshtest.Reply {
		marker, _, _ := h.File(markerPath)
		s.mu.Lock()
		f := map[string]string{"hostname": s.names[ip], "os": "Linux", "arch": "x86_64", "cpus": "4", "mem_kb": "8000000",
			"disk_kb": "50000000", "swap": "0", "time": strconv.FormatInt(time.Now().Unix(), 10), "marker": strings.TrimSpace(string(marker))}
		if _, ok := s.nodes[ip]; ok {
			f["listen"] = "00000000:280A" // the kubelet's 10250
		}
		for k, v := range s.facts[ip] {
			f[k] = v
		}
		s.mu.Unlock()
		var b strings.Builder
		for _, k := range []string{"hostname", "os", "arch", "cpus", "mem_kb", "disk_kb", "swap", "time", "marker", "listen"} {
			if v, ok := f[k]; ok {
				fmt.Fprintf(&b, "%s=%s\n", k, v)
			}
		}
		return sshtest.Reply{Stdout: b.String(), Exit: atoi(f["exit"]), Stderr: f["stderr"]}
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

var (
	cdRe     = regexp.MustCompile(`cd '([^']*)'`)
	quotedRe = regexp.MustCompile(`'([^']*)'`)
)

// sums answers survey and verifyParts: the sha256 of the files named under
// the directory the script changes to, and the sizes of partial copies.
func sums(ctx context.Context, h *sshtest.Recorder, c sshtest.Call) sshtest.Reply {
	m := cdRe.FindStringSubmatch(c.Script)
	if m == nil {
		return sshtest.Reply{Exit: 1, Stderr: "fake host: no directory in the script"}
	}
	root := m[1]
	var b strings.Builder
	for _, line := range strings.Split(c.Script, "\n") {
		args, ok := strings.CutPrefix(line, "spk_sha256 ")
		if !ok {
			continue
		}
		for _, q := range quotedRe.FindAllStringSubmatch(args, -1) {
			if data, _, ok := h.File(path.Join(root, q[1])); ok {
				fmt.Fprintf(&b, "%x  %s\n", sha256.Sum256(data), q[1])
			}
		}
	}
	if strings.Contains(c.Script, "find . -name '*"+partSuffix+"'") {
		for _, p := range h.Files(root) {
			if strings.HasSuffix(p, partSuffix) {
				data, _, _ := h.File(p)
				fmt.Fprintf(&b, "part %d ./%s\n", len(data), strings.TrimPrefix(p, root+"/"))
			}
		}
	}
	return sshtest.Reply{Stdout: b.String()}
}

var markerRe = regexp.MustCompile(`printf '%s\\n' '([^']*)' > `)

// markCluster records the cluster's marker, as the script does.
func markCluster(ctx context.Context, h *sshtest.Recorder, c sshtest.Call) sshtest.Reply {
	if m := markerRe.FindStringSubmatch(c.Script); m != nil {
		h.SetFile(markerPath, []byte(m[1]+"\n"), 0o644)
	}
	return sshtest.Reply{Stdout: "init-host\n"}
}

var doneRe = regexp.MustCompile(`done=(\S+)`)

// settle says a command that once marked done is done.
func settle(ctx context.Context, h *sshtest.Recorder, c sshtest.Call) sshtest.Reply {
	if m := doneRe.FindStringSubmatch(c.Script); m != nil {
		if _, _, ok := h.File(m[1]); ok {
			return sshtest.Reply{Stdout: alreadyMark + "\n"}
		}
	}
	return sshtest.Reply{}
}

var (
	cfgRe     = regexp.MustCompile(`cfg=(\S+)`)
	certKeyIn = regexp.MustCompile(`certificateKey: "?([0-9a-f]{64})`)
)

// kubeadm runs init or join from its configuration file: the host becomes
// a node, a master gets admin.conf, and init prints its certificate key
// as kubeadm does.
func (s *fakeSite) kubeadm(ip string) sshtest.Handler {
	return func(ctx context.Context, h *sshtest.Recorder, c sshtest.Call) sshtest.Reply {
		cfg, _, ok := h.File(cfgRe.FindStringSubmatch(c.Script)[1])
		if !ok {
			return sshtest.Reply{Exit: 1, Stderr: "fake kubeadm: no configuration file"}
		}
		init := strings.HasPrefix(c.Script, "# kubeadm init ")
		if init || strings.Contains(string(cfg), "controlPlane:") {
			h.SetFile(adminConf, []byte("apiVersion: v1\nkind: Config\n# the fake cluster's admin\n"), 0o600)
		}
		h.SetFile(doneRe.FindStringSubmatch(c.Script)[1], nil, 0o644)
		s.mu.Lock()
		s.nodes[ip] = s.names[ip]
		if init {
			s.kubeVersion = clusterfile.KubernetesVersion(cfg)
		}
		s.mu.Unlock()
		if !init {
			return sshtest.Reply{Stdout: "This node has joined the cluster\n"}
		}
		out := "[init] Using Kubernetes version\n"
		if m := certKeyIn.FindSubmatch(cfg); m != nil {
			out += "[upload-certs] Using certificate key:\n" + string(m[1]) + "\n"
		}
		return sshtest.Reply{Stdout: out + "Your Kubernetes control-plane has initialized successfully!\n"}
	}
}

func (s *fakeSite) tokenCreate(ctx context.Context, h *sshtest.Recorder, c sshtest.Call) sshtest.Reply {
	return sshtest.Reply{Stdout: fmt.Sprintf("kubeadm join %s:6443 --token %s --discovery-token-ca-cert-hash %s \n", h.Host(), fakeToken, fakeCAHash)}
}

// fakeUploadedKey is the certificate key of a later upload-certs.
var fakeUploadedKey = strings.Repeat("5e", 32)

func uploadCerts(ctx context.Context, h *sshtest.Recorder, c sshtest.Call) sshtest.Reply {
	return sshtest.Reply{Stdout: "[upload-certs] Using certificate key:\n" + fakeUploadedKey + "\n"}
}

// nodeList is kubectl get nodes: every node Ready.
func (s *fakeSite) nodeList(ctx context.Context, h *sshtest.Recorder, c sshtest.Call) sshtest.Reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []string
	for _, ip := range s.ips {
		if name, ok := s.nodes[ip]; ok {
			items = append(items, fmt.Sprintf(`{"metadata":{"name":%q,"labels":{}},"status":{"addresses":[{"type":"InternalIP","address":%q}],"conditions":[{"type":"Ready","status":"True"}]}}`, name, ip))
		}
	}
	return sshtest.Reply{Stdout: `{"items":[` + strings.Join(items, ",") + `]}`}
}

func noWorkloads(context.Context, *sshtest.Recorder, sshtest.Call) sshtest.Reply {
	return sshtest.Reply{Stdout: `{"items":[]}`}
}

var drainRe = regexp.MustCompile(`kubectl drain '([^']*)'`)

// drain removes the node from the cluster (kubectl delete node).
func (s *fakeSite) drain(ctx context.Context, h *sshtest.Recorder, c sshtest.Call) sshtest.Reply {
	name := drainRe.FindStringSubmatch(c.Script)[1]
	s.mu.Lock()
	defer s.mu.Unlock()
	for ip, n := range s.nodes {
		if n == name {
			delete(s.nodes, ip)
		}
	}
	return sshtest.Reply{Stdout: "node/" + name + " drained\n"}
}

// clean is kubeadm reset: the host is no node any more.
func (s *fakeSite) clean(ctx context.Context, h *sshtest.Recorder, c sshtest.Call) sshtest.Reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.nodes, h.Host())
	return sshtest.Reply{Stdout: "[reset] done\n"}
}
