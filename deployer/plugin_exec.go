package deployer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"slices"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/internal/shell"
)

// pluginInputVersion is the version of the JSON an EXEC plugin reads.
const pluginInputVersion = 1

// PluginInput is what an EXEC plugin reads on stdin: the cluster and the
// host it runs on. It holds no password, key or token.
type PluginInput struct {
	Version int    `json:"version"`
	Plugin  string `json:"plugin"`
	Action  string `json:"action"`
	Cluster struct {
		Name     string   `json:"name"`
		Master0  string   `json:"master0"`
		Masters  []string `json:"masters"`
		Nodes    []string `json:"nodes"`
		Registry string   `json:"registry"` // host:port this host pulls from
		Rootfs   string   `json:"rootfs"`
		// Joining are the hosts a scale-up (join) adds; empty otherwise.
		Joining []string `json:"joining,omitempty"`
	} `json:"cluster"`
	Host struct {
		IP     string            `json:"ip"`
		Role   string            `json:"role"`  // master or node
		Roles  []string          `json:"roles"` // as the Clusterfile gives them
		Labels map[string]string `json:"labels,omitempty"`
		// Hostname is the name a HOSTNAME plugin gives the host, if any.
		Hostname string `json:"hostname,omitempty"`
		// Env is the environment scripts get: SEALPACK_*, the Kubefile's
		// ENV and the Clusterfile's env for this host.
		Env map[string]string `json:"env"`
	} `json:"host"`
}

// pluginInput describes the cluster and host ip to an EXEC plugin.
func (r *run) pluginInput(p clusterfile.Plugin, a clusterfile.Action, ip string, env map[string]string) PluginInput {
	var in PluginInput
	in.Version, in.Plugin, in.Action = pluginInputVersion, p.Name, string(a)
	in.Cluster.Name, in.Cluster.Master0, in.Cluster.Rootfs = r.cluster.Name, r.master0, RootfsDir
	in.Cluster.Masters, in.Cluster.Nodes = []string{}, []string{}
	for _, h := range r.cluster.Masters() {
		in.Cluster.Masters = append(in.Cluster.Masters, h.IP)
	}
	for _, h := range r.cluster.Nodes() {
		in.Cluster.Nodes = append(in.Cluster.Nodes, h.IP)
	}
	in.Cluster.Registry = env["SEALPACK_REGISTRY"]
	if a == clusterfile.PreScaleUp || a == clusterfile.PostScaleUp {
		in.Cluster.Joining = slices.Clone(r.targets)
	}
	h := r.host(ip)
	in.Host.IP, in.Host.Role, in.Host.Roles = ip, env["SEALPACK_ROLE"], slices.Clone(h.Roles)
	in.Host.Labels = h.Labels
	in.Host.Hostname = r.cluster.Hostnames()[ip]
	in.Host.Env = env
	return in
}

// execScript sends an EXEC plugin's executable from the installer to the
// host, for this run only (so it runs wherever the rootfs is, or no longer
// is), and runs it with the JSON on stdin; the copy is removed after.
func (r *run) execScript(ctx context.Context, p clusterfile.Plugin, a clusterfile.Action, ip string, env map[string]string) (string, error) {
	data, err := r.opts.Payload.ReadFile(p.Data)
	if err != nil {
		return "", fmt.Errorf("reading %s from the installer: %w", p.Data, err)
	}
	var b [6]byte
	rand.Read(b[:]) // never fails (crypto/rand's contract)
	tag := hex.EncodeToString(b[:])
	exe := fmt.Sprintf("%s/plugins/%s.%s", stateDir, path.Base(p.Data), tag)
	if err := r.putFile(ctx, ip, data, exe, 0o700); err != nil {
		return "", fmt.Errorf("sending %s to %s: %w", p.Data, ip, err)
	}
	in, err := json.Marshal(r.pluginInput(p, a, ip, env))
	if err != nil {
		return "", err
	}
	tidy := "rmdir " + stateDir + "/plugins 2>/dev/null"
	if a == clusterfile.PostCleanHost {
		tidy += "; rmdir " + stateDir + " 2>/dev/null" // clean-host removed it before
	}
	return fmt.Sprintf("%[1]s <<'SEALPACK_JSON_%[2]s'\n%[3]s\nSEALPACK_JSON_%[2]s\nrc=$?\nrm -f %[1]s; %[4]s\nexit $rc\n",
		shell.Quote(exe), tag, in, tidy), nil
}
