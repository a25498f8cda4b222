package deployer

import (
	"crypto/sha256"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/sealpack/sealpack/payload"
)

// A step is done only while its inputs are unchanged: a rebuilt installer
// whose init-host script, files or CMD lines differ does those steps again
// (and only those), instead of reporting "already done". The inputs are
// hashed: state.json keeps no content and no secret.

// digestOf hashes the lines of an input.
func digestOf(lines ...string) string {
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l))
		h.Write([]byte{0})
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func fileLines(files []payload.File) []string {
	out := make([]string, 0, len(files))
	for _, f := range files {
		out = append(out, fmt.Sprintf("%s %s %o %s %s", f.Path, f.Type, f.Mode, f.Digest, f.Target))
	}
	return out
}

// distributeInputs are the files host ip receives.
func (r *run) distributeInputs(ip string) string {
	return digestOf(fileLines(r.filesFor(ip))...)
}

// hostInitInputs are what host-init runs on ip: the init-host script, its
// environment (but for what only says where the hosts are this time: the
// installer's registry address, the host lists), and the registries
// containerd is pointed at.
func (r *run) hostInitInputs(ip string) string {
	lines := []string{"host-init"}
	if f, ok := r.opts.Payload.File(initHostScript); ok {
		lines = append(lines, "script "+f.Digest)
	}
	lines = append(lines, envLines(r.env(ip))...)
	lines = append(lines, "hosts "+strings.Join(registryHosts(r.opts.Payload), ","),
		"mirrors "+strings.Join(r.clusterRegistries(), ","),
		"insecure "+strconv.FormatBool(r.cluster.Registry.Insecure),
		"user "+r.cluster.Registry.Username)
	if e := r.cluster.Registry.External; e != nil {
		lines = append(lines, "external "+e.Addr()+" "+e.Username+" "+e.CA)
	}
	return digestOf(lines...)
}

// appInputs are what CMD line i runs with: the line, every file of the
// rootfs it may read (manifests, charts, scripts), and the environment.
// The apps' files are their launches' inputs (launchInputs), not a CMD's.
func (r *run) appInputs(i int) string {
	idx := r.opts.Payload.Index()
	lines := []string{"cmd " + idx.Cmds[i]}
	for _, f := range idx.Files {
		if !strings.HasPrefix(f.Path, imagesDir) && !strings.HasPrefix(f.Path, payload.AppsDir) {
			lines = append(lines, fileLines([]payload.File{f})...)
		}
	}
	lines = append(lines, idx.Env...)
	lines = append(lines, r.cluster.Env...)
	return digestOf(lines...)
}

// installerID is this run's installer.
func (r *run) installerID() InstallerID {
	idx := r.opts.Payload.Index()
	return InstallerID{Digest: r.opts.Payload.Digest(), Title: idx.Labels[payload.LabelTitle], Version: idx.Labels[payload.LabelVersion]}
}

// envLines are a step's environment as inputs, sorted, without the host
// lists and the registry's address: a host joining or a registry moving is
// not a change of what a step on another host ran.
func envLines(env map[string]string) []string {
	keys := make([]string, 0, len(env))
	for k := range env {
		switch k {
		case "SEALPACK_REGISTRY", "SEALPACK_MASTERS", "SEALPACK_NODES":
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = "env " + k + "=" + env[k]
	}
	return lines
}
