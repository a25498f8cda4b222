package deployer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/internal/shell"
	"github.com/sealpack/sealpack/payload"
)

// initMaster0 runs `kubeadm init --config <generated> --upload-certs` on the
// first master, then fetches the admin kubeconfig to the jump host.
type initMaster0 struct{}

func (initMaster0) Name() string { return event.InitMaster0 }

const (
	adminConf = "/etc/kubernetes/admin.conf"
	// alreadyMark is printed by a step that finds its work done by an
	// earlier run that was stopped before it could record it.
	alreadyMark = "SEALPACK_ALREADY_DONE"
)

// AdminConfName is the kubeconfig saved on the jump host, in the state dir.
const AdminConfName = "admin.conf"

var certKeyRe = regexp.MustCompile(`(?m)Using certificate key:\s*\n?\s*([0-9a-f]{64})`)

func (initMaster0) Plan(r *run) []string {
	if r.state.Done(event.InitMaster0, r.master0) {
		return nil
	}
	return []string{r.master0 + ": kubeadm init --config <generated> --upload-certs"}
}

func (initMaster0) Run(ctx context.Context, r *run) error {
	err := r.step(ctx, event.InitMaster0, r.master0, "", func(ctx context.Context) error {
		// kubeadm refuses a second init: once makes it safe to repeat.
		out, err := r.once(ctx, event.InitMaster0, r.master0, "kubeadm-init", `kubeadm init --config "$cfg" --upload-certs`, r.kubeadmConfig, nil)
		if err != nil {
			return fmt.Errorf("kubeadm init: %w", err)
		}
		if m := certKeyRe.FindStringSubmatch(out); m != nil {
			r.setCertKey(m[1])
		}
		return nil
	})
	if err != nil {
		return err
	}
	if ep, err := r.endpoint(); err != nil {
		return err
	} else if r.state.Endpoint() == "" {
		if err := r.state.SetEndpoint(ep.Addr); err != nil {
			return err
		}
	}
	if err := r.userKubeconfig(ctx, event.InitMaster0, r.master0); err != nil {
		return err
	}
	return r.saveKubeconfig(ctx)
}

// userKubeconfigMark lists the kubeconfigs sealpack gave users, for reset.
const userKubeconfigMark = stateDir + "/user-kubeconfigs"

// userKubeconfig gives the SSH user of master ip the admin kubeconfig in
// ~/.kube/config, as kubeadm advises, so that `ssh master kubectl get
// nodes` works; one the user has already is left alone.
func (r *run) userKubeconfig(ctx context.Context, phase, ip string) error {
	user := r.host(ip).SSH.User
	if user == "" {
		user = "root"
	}
	script := fmt.Sprintf(`u=%s
home=$(getent passwd "$u" | cut -d: -f6)
[ -n "$home" ] && [ -f %[3]s ] || exit 0
cfg="$home/.kube/config"
if [ ! -e "$cfg" ] || grep -qxF "$cfg" %[2]s 2>/dev/null; then
	mkdir -p "$home/.kube"
	install -m 0600 -o "$u" -g "$(id -g "$u")" %[3]s "$cfg"
	grep -qxF "$cfg" %[2]s 2>/dev/null || echo "$cfg" >> %[2]s
fi
`, shell.Quote(user), userKubeconfigMark, adminConf)
	if _, err := r.exec(ctx, phase, ip, script, nil); err != nil {
		return fmt.Errorf("host %s: a kubeconfig for %s: %w", ip, user, err)
	}
	return nil
}

// setCertKey keeps the control-plane certificate key for joins, and hides
// it from logs and events from now on.
func (r *run) setCertKey(k string) {
	r.red.add(k)
	r.mu.Lock()
	r.certKey = k
	r.mu.Unlock()
}

// saveKubeconfig copies master0's admin.conf beside the state, readable by
// the user alone: it is the key to the cluster.
func (r *run) saveKubeconfig(ctx context.Context) error {
	b, err := r.conn(r.master0).Download(ctx, adminConf)
	if err != nil {
		return fmt.Errorf("fetching %s: %w", adminConf, err)
	}
	b = r.jumpHostKubeconfig(b)
	p := filepath.Join(r.opts.StateDir, AdminConfName)
	if err := os.WriteFile(p+".tmp", b, 0o600); err != nil {
		return err
	}
	return os.Rename(p+".tmp", p)
}

// kubeadmConfig merges the Clusterfile's kubeadm documents over the image's
// etc/kubeadm.yaml into the init configuration. The certificate key for
// control-plane joins is made here and kept in memory only.
func (r *run) kubeadmConfig() ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	certKey := hex.EncodeToString(key)
	cfg, _, err := r.mergeKubeadm(clusterfile.KubeadmVars{CertificateKey: certKey})
	if err != nil {
		return nil, err
	}
	r.setCertKey(certKey)
	return cfg, nil
}

// joinConfig is the join configuration of host ip for a fresh token.
func (r *run) joinConfig(ip, token string, caHashes []string, certKey string) ([]byte, error) {
	_, joins, err := r.mergeKubeadm(clusterfile.KubeadmVars{Token: token, CACertHashes: caHashes, CertificateKey: certKey, JoinHosts: []string{ip}})
	if err != nil {
		return nil, err
	}
	cfg, ok := joins[ip]
	if !ok {
		return nil, fmt.Errorf("no join configuration for %s", ip)
	}
	return cfg, nil
}

func (r *run) mergeKubeadm(vars clusterfile.KubeadmVars) ([]byte, map[string][]byte, error) {
	defaults, err := r.opts.Payload.ReadFile(clusterfile.ImageKubeadmPath)
	if err != nil && !errors.Is(err, payload.ErrNotFound) {
		return nil, nil, err
	}
	ep, err := r.endpoint()
	if err != nil {
		return nil, nil, err
	}
	vars.Endpoint = ep.Addr
	vars.KubernetesVersion = r.opts.Payload.Index().Labels[kubeVersionLabel]
	if vars.KubernetesVersion == "" {
		vars.KubernetesVersion = defaultKubeVersion
	}
	initCfg, joins, err := clusterfile.MergeKubeadm(defaults, r.cluster, vars)
	if err != nil {
		return nil, nil, fmt.Errorf("kubeadm configuration: %w", err)
	}
	return initCfg, joins, nil
}

// kubeVersionLabel names the Kubernetes version of an image that has no
// kubeadm defaults; defaultKubeVersion is the last resort.
const (
	kubeVersionLabel   = "io.sealpack.kubernetes.version"
	defaultKubeVersion = "v1.30.4"
)
