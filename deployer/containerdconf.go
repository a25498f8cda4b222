package deployer

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/sealpack/sealpack/deployer/event"
)

// containerd reads the registry mirrors from certs.d only when its CRI
// plugin's config_path says so (kubelet pulls through CRI, not ctr), and
// credentials for a mirror only from its own configuration. The image's
// init-host script usually writes a config.toml that does both (as
// bases/kubernetes does); containerdConfScript makes sure of it on hosts
// where it does not, without touching anything else of the file.

const (
	containerdConfig = "/etc/containerd/config.toml"
	// containerdAuthPath is where the credentials wait, readable by root
	// only, until containerdConfScript puts them into config.toml (an
	// imported file cannot hold them: containerd's imports replace a
	// plugin's whole table, and with it config_path).
	containerdAuthPath = stateDir + "/containerd-registry-auth.toml"
	authBegin          = "# BEGIN sealpack registry credentials"
	authEnd            = "# END sealpack registry credentials"
)

// pullCredentials are the user and password containerd presents to each
// registry it pulls through (host:port as hosts.toml names it): the site's
// registry, or every master's when spec.registry.username is set.
func (r *run) pullCredentials() map[string][2]string {
	out := map[string][2]string{}
	if e := r.cluster.Registry.External; e != nil {
		if e.Username != "" {
			out[e.Addr()] = [2]string{e.Username, e.Password}
		}
		return out
	}
	if u := r.cluster.Registry.Username; u != "" {
		for _, reg := range r.clusterRegistries() {
			out[reg] = [2]string{u, r.cluster.Registry.Password}
		}
	}
	return out
}

// authTOML is containerd's configuration of those credentials. It travels
// over SFTP and is readable by root only: no command line or log sees it.
func authTOML(creds map[string][2]string) []byte {
	hosts := make([]string, 0, len(creds))
	for h := range creds {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	var b strings.Builder
	b.WriteString(authBegin + ": what containerd presents to the cluster's registries\n")
	for _, h := range hosts {
		fmt.Fprintf(&b, "\n[plugins.\"io.containerd.grpc.v1.cri\".registry.configs.%s.auth]\n  username = %s\n  password = %s\n",
			tomlString(h), tomlString(creds[h][0]), tomlString(creds[h][1]))
	}
	b.WriteString(authEnd + "\n")
	return []byte(b.String())
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteRune(c)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, "\\u%04X", c)
		default:
			b.WriteRune(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// putPullCredentials writes (or, with none, removes) the credentials file
// on host ip.
func (r *run) putPullCredentials(ctx context.Context, ip string) error {
	creds := r.pullCredentials()
	if len(creds) == 0 {
		_, err := r.exec(ctx, event.HostInit, ip, "rm -f "+containerdAuthPath, nil)
		return err
	}
	if err := r.putFile(ctx, ip, authTOML(creds), containerdAuthPath, 0o600); err != nil {
		return fmt.Errorf("writing containerd's registry credentials: %w", err)
	}
	return nil
}

// stripAuthBlock copies config.toml ($f) without sealpack's credentials
// block to $f.sealpack.
const stripAuthBlock = `awk '/^` + authBegin + `/ { skip = 1 } !skip { print } /^` + authEnd + `/ { skip = 0 }' "$f" > "$f.sealpack"`

// containerdConfScript runs after the image's init-host script: where
// containerd's config.toml lacks config_path, it adds it (a missing file
// gets a minimal one); it replaces the credentials block sealpack wrote
// before with the one waiting in containerdAuthPath (none: no block), the
// file then readable by root only; and restarts containerd if it runs
// under systemd and something changed.
const containerdConfScript = `f=` + containerdConfig + `
a=` + containerdAuthPath + `
changed=
if [ ! -s "$f" ]; then
	mkdir -p /etc/containerd
	printf '%s\n' '# written by sealpack: containerd reads the registry mirrors from certs.d' 'version = 2' '' '[plugins."io.containerd.grpc.v1.cri".registry]' '  config_path = "/etc/containerd/certs.d"' > "$f"
	changed=1
fi
if ! grep -qs '^[[:space:]]*config_path[[:space:]]*=' "$f"; then
	if grep -qs '^version = 3' "$f"; then t='[plugins."io.containerd.cri.v1.images".registry]'; else t='[plugins."io.containerd.grpc.v1.cri".registry]'; fi
	if grep -qsF "$t" "$f"; then
		awk -v t="$t" '{ print } $0 ~ /^[[:space:]]*\[/ && index($0, t) { print "  config_path = \"/etc/containerd/certs.d\"" }' "$f" > "$f.sealpack" && mv "$f.sealpack" "$f"
	else
		printf '\n%s\n%s\n' "$t" '  config_path = "/etc/containerd/certs.d"' >> "$f"
	fi
	echo "added config_path to $f: containerd's CRI reads the mirrors sealpack writes"
	changed=1
fi
` + stripAuthBlock + `
if [ -f "$a" ]; then cat "$a" >> "$f.sealpack"; rm -f "$a"; fi
if cmp -s "$f" "$f.sealpack"; then rm -f "$f.sealpack"; else
	chmod 600 "$f.sealpack" && mv "$f.sealpack" "$f"
	changed=1
fi
if [ -n "$changed" ] && [ -d /run/systemd/system ] && systemctl is-active --quiet containerd 2>/dev/null; then
	systemctl restart containerd
fi
`

// containerdForgetScript takes sealpack's credentials block out of
// config.toml again (for reset).
const containerdForgetScript = `f=` + containerdConfig + `
if grep -qs '^` + authBegin + `' "$f"; then
	` + stripAuthBlock + ` && mv "$f.sealpack" "$f"
fi
`
