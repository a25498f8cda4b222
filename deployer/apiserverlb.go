package deployer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/internal/shell"
	"github.com/sealpack/sealpack/payload"
)

// The cluster's API for a cluster of several masters whose Clusterfile
// names no controlPlaneEndpoint: kubeadm is given clusterfile.APIServerName,
// which every host resolves itself. A master that has joined resolves it to
// its own apiserver (one that has not yet, to master0's); a node resolves it
// to 127.0.0.1, where the installer program balances over every master's
// apiserver (internal/apilb). So the loss of any one master leaves every
// other host its API.
const (
	apiLBUnit = "sealpack-apiserver-lb.service"
	// apiLBExe is the installer program alone, without its payload.
	apiLBExe = "/usr/local/bin/sealpack-apiserver-lb"
	apiLBPID = stateDir + "/apiserver-lb.pid"
)

// endpoint is the cluster's control-plane endpoint (clusterfile.ControlPlaneEndpoint).
func (r *run) endpoint() (clusterfile.Endpoint, error) {
	r.epOnce.Do(func() {
		defaults, err := r.opts.Payload.ReadFile(clusterfile.ImageKubeadmPath)
		if err != nil && !errors.Is(err, payload.ErrNotFound) {
			r.epErr = err
			return
		}
		recorded := r.state.Endpoint()
		r.ep, r.epErr = clusterfile.ControlPlaneEndpoint(defaults, r.cluster, recorded)
		if r.epErr == nil && r.ep.Balanced && recorded == "" && !r.opts.APIServerBalancer {
			recorded = net.JoinHostPort(r.master0, strconv.Itoa(r.ep.BindPort))
			r.ep, r.epErr = clusterfile.ControlPlaneEndpoint(defaults, r.cluster, recorded)
		}
		if r.epErr != nil {
			r.epErr = fmt.Errorf("kubeadm configuration: %w", r.epErr)
		}
	})
	return r.ep, r.epErr
}

// apiBackends are the apiservers a node balances over: every master that
// stays.
func (r *run) apiBackends(port int) []string {
	var out []string
	for _, h := range r.hosts {
		if h.IsMaster() && !r.leaving[h.IP] {
			out = append(out, net.JoinHostPort(h.IP, strconv.Itoa(port)))
		}
	}
	return out
}

// apiServerAccess points host ip at the cluster's API: its /etc/hosts line
// for APIServerName and, on a node, the balancer. It is idempotent (the
// balancer restarts only when its masters changed) and does nothing when
// the endpoint is the Clusterfile's own.
func (r *run) apiServerAccess(ctx context.Context, phase, ip string) error {
	ep, err := r.endpoint()
	if err != nil || !ep.Balanced {
		return err
	}
	h := r.host(ip)
	target := "127.0.0.1"
	switch {
	case h.IsMaster() && (ip == r.master0 || r.state.Done(event.JoinMasters, ip)):
		target = ip
	case h.IsMaster():
		target = r.master0 // until it has joined: kubeadm join asks master0
	}
	script := "set -e\n" + hostsLineScript(clusterfile.APIServerName, target)
	if !h.IsMaster() {
		if _, err := r.copyProgram(ctx, phase, ip, apiLBExe); err != nil {
			return err
		}
		args := "apiserver-lb --listen " + net.JoinHostPort("127.0.0.1", strconv.Itoa(ep.BindPort))
		for _, b := range r.apiBackends(ep.BindPort) {
			args += " --backend " + b
		}
		script += serviceScript(service{exe: apiLBExe, args: args, unit: apiLBUnit, pid: apiLBPID,
			log: stateDir + "/apiserver-lb.log", what: "sealpack apiserver balancer: this node's way to every master"})
	}
	if _, err := r.exec(ctx, phase, ip, script, nil); err != nil {
		return fmt.Errorf("host %s: pointing %s at %s: %w", ip, clusterfile.APIServerName, target, err)
	}
	return nil
}

// refreshAPIServerAccess gives the nodes that this run did not work on the
// new list of masters, when it added or removed some.
func (r *run) refreshAPIServerAccess(ctx context.Context, phase string) error {
	if ep, err := r.endpoint(); err != nil || !ep.Balanced {
		return err
	}
	if !slices.ContainsFunc(r.targets, func(ip string) bool { return r.host(ip).IsMaster() }) {
		return nil
	}
	var nodes []string
	for _, h := range r.hosts {
		if !h.IsMaster() && !slices.Contains(r.targets, h.IP) {
			nodes = append(nodes, h.IP)
		}
	}
	return parallel(ctx, nodes, r.opts.Concurrency, func(ctx context.Context, ip string) error {
		return r.apiServerAccess(ctx, phase, ip)
	})
}

// hostsLineScript points name at ip in /etc/hosts, on a line of its own
// that sealpack marks (reset removes every marked line).
func hostsLineScript(name, ip string) string {
	return fmt.Sprintf("sed -i '/ %[2]s %[3]s$/d' /etc/hosts 2>/dev/null || true\nprintf '%%s %%s %%s\\n' %[1]s %[2]s '%[3]s' >> /etc/hosts\n",
		shell.Quote(ip), name, hostsMark)
}

// service is a long-running program of sealpack's on a host.
type service struct {
	exe, args string
	unit      string // systemd unit, where systemd is PID 1
	pid, log  string // else: setsid, with a pid file
	what      string // its description
}

// serviceScript (re)starts s when its definition changed or it is not
// running: a systemd unit where systemd is PID 1, else a background process.
func serviceScript(s service) string {
	return fmt.Sprintf(`exe=%[1]s
if [ -d /run/systemd/system ]; then
	unit=/etc/systemd/system/%[3]s
	cat > "$unit.new" <<SEALPACK_EOF
# written by sealpack: %[6]s
[Unit]
Description=%[6]s
After=network-online.target
Before=kubelet.service

[Service]
ExecStart=$exe %[2]s
Restart=always
RestartSec=1

[Install]
WantedBy=multi-user.target
SEALPACK_EOF
	if cmp -s "$unit.new" "$unit" && systemctl is-active -q %[3]s; then
		rm -f "$unit.new"
	else
		mv "$unit.new" "$unit"
		systemctl daemon-reload
		systemctl enable %[3]s >/dev/null 2>&1
		systemctl restart %[3]s
	fi
else
	mkdir -p %[7]s
	if [ -f %[4]s ] && [ "$(cat %[4]s.args 2>/dev/null)" = %[8]s ] && kill -0 "$(cat %[4]s)" 2>/dev/null; then
		:
	else
		if [ -f %[4]s ]; then kill "$(cat %[4]s)" 2>/dev/null || true; fi
		setsid "$exe" %[2]s > %[5]s 2>&1 < /dev/null &
		echo $! > %[4]s
		printf '%%s\n' %[8]s > %[4]s.args
	fi
fi
`, shell.Quote(s.exe), s.args, s.unit, s.pid, s.log, s.what, path.Dir(s.pid), shell.Quote(s.args))
}

// apiLBStopScript undoes what apiServerAccess started (for reset).
const apiLBStopScript = `if [ -f /etc/systemd/system/` + apiLBUnit + ` ] && grep -qs 'written by sealpack' /etc/systemd/system/` + apiLBUnit + `; then
	systemctl disable --now ` + apiLBUnit + ` >/dev/null 2>&1 || true
	rm -f /etc/systemd/system/` + apiLBUnit + `
	systemctl daemon-reload || true
fi
if [ -f ` + apiLBPID + ` ]; then kill "$(cat ` + apiLBPID + `)" 2>/dev/null || true; fi
rm -f ` + apiLBExe + `
`

// jumpHostKubeconfig is admin.conf as the jump host can use it: it cannot
// resolve APIServerName, so the server is master0's address (in every
// apiserver's certificate).
func (r *run) jumpHostKubeconfig(b []byte) []byte {
	ep, err := r.endpoint()
	if err != nil || !ep.Balanced {
		return b
	}
	from := "https://" + net.JoinHostPort(clusterfile.APIServerName, strconv.Itoa(ep.BindPort))
	to := "https://" + net.JoinHostPort(r.master0, strconv.Itoa(ep.BindPort))
	return []byte(strings.ReplaceAll(string(b), from, to))
}

// warnEndpoint says, before anything changes, when the cluster's API would
// not survive the loss of a master although there are several.
func (r *run) warnEndpoint() error {
	ep, err := r.endpoint()
	if err != nil {
		return err
	}
	var msgs []string
	if ep.SingleMaster != "" {
		msgs = append(msgs, fmt.Sprintf("warning: controlPlaneEndpoint %s is master %s alone: when it stops, every other host loses the cluster's API. Name a load balancer or virtual IP of the site's, or leave controlPlaneEndpoint out: then every node balances over all masters (%s)", ep.Addr, ep.SingleMaster, clusterfile.APIServerName))
	}
	if n := len(r.cluster.Masters()); n == 2 {
		msgs = append(msgs, "warning: 2 masters: etcd needs both to agree, so the loss of either stops the cluster's API; 3 masters survive the loss of one")
	}
	for _, m := range msgs {
		r.logs.Printf(event.Preflight, "", "%s", m)
		r.emit(event.Event{Type: event.Log, Phase: event.Preflight, Message: m})
	}
	return nil
}
