package tui

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/payload"
)

// buildCluster makes the cluster the install will use: the Clusterfile
// given with -f (if any) with its host lists and SSH login replaced by what
// the user entered; everything else in it is kept as written.
func buildCluster(initial *clusterfile.Cluster, info *payload.Report, rows []hostRow, v sshValues) *clusterfile.Cluster {
	var c clusterfile.Cluster
	if initial != nil {
		c = *initial
	}
	if c.APIVersion == "" {
		c.APIVersion = clusterfile.APIVersionIO
	}
	if c.Name == "" {
		c.Name = clusterName(info.Name)
	}
	c.SSH = mergeSSH(c.SSH, v)
	c.Groups = regroup(c.Groups, rows)
	return &c
}

// mergeSSH puts the form's values over the file's cluster-wide SSH.
func mergeSSH(s clusterfile.SSH, v sshValues) clusterfile.SSH {
	s.User, s.Port, s.SudoPasswd = v.user, v.port, v.sudo
	switch v.method {
	case authPassword:
		s.Passwd, s.PK, s.PKPasswd = v.passwd, "", ""
	case authKey:
		s.Passwd, s.PK, s.PKPasswd = "", v.pk, v.pkPasswd
	case authAgent:
		s.Passwd, s.PK, s.PKPasswd = "", "", ""
	}
	s.Bastion = nil
	if v.bastion != "" {
		// The bastion logs in the way the hosts do.
		s.Bastion = &clusterfile.Bastion{Host: v.bastion, Port: v.bastionPort, User: v.bastionUser,
			Passwd: s.Passwd, PK: s.PK, PKPasswd: s.PKPasswd}
	}
	return s
}

// regroup rebuilds the host groups from the rows. A row from a group of the
// Clusterfile goes back to it while its role still matches, so the group's
// labels, taints, env and SSH overrides still apply; new rows go to a group
// with only that role, made when there is none.
func regroup(groups []clusterfile.HostGroup, rows []hostRow) []clusterfile.HostGroup {
	out := make([]clusterfile.HostGroup, len(groups))
	for i, g := range groups {
		g.IPs = nil
		out[i] = g
	}
	plain := func(master bool) int {
		role := clusterfile.RoleNode
		if master {
			role = clusterfile.RoleMaster
		}
		for i, g := range out {
			if slices.Equal(g.Roles, []string{role}) && isPlainGroup(g) {
				return i
			}
		}
		out = append(out, clusterfile.HostGroup{Roles: []string{role}})
		return len(out) - 1
	}
	for _, r := range rows {
		gi := r.group
		if gi < 0 || gi >= len(groups) || slices.Contains(groups[gi].Roles, clusterfile.RoleMaster) != r.master {
			gi = plain(r.master)
		}
		out[gi].IPs = append(out[gi].IPs, r.ip)
	}
	return slices.DeleteFunc(out, func(g clusterfile.HostGroup) bool { return len(g.IPs) == 0 })
}

// isPlainGroup: nothing but addresses and roles.
func isPlainGroup(g clusterfile.HostGroup) bool {
	return g.SSH == (clusterfile.SSH{}) && len(g.Env) == 0 && len(g.Labels) == 0 && len(g.Taints) == 0
}

// clusterName makes metadata.name from the product title: lower case,
// letters, digits and dashes, as Kubernetes names are.
func clusterName(title string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(title) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	name := strings.Trim(b.String(), "-")
	if len(name) > 63 {
		name = strings.Trim(name[:63], "-")
	}
	if name == "" {
		return "cluster"
	}
	return name
}

// redactedYAML is the review's text: the Clusterfile as it will be saved
// (clusterfile.Marshal leaves secrets out), then which secrets the run
// holds in memory, masked.
func redactedYAML(c *clusterfile.Cluster) (string, error) {
	r := clusterfile.Redacted(c)
	data, err := clusterfile.Marshal(r, clusterfile.MarshalOptions{APIVersion: c.APIVersion})
	if err != nil {
		return "", fmt.Errorf("writing the Clusterfile: %w", err)
	}
	var held []string
	add := func(field, v string) {
		if v != "" {
			held = append(held, fmt.Sprintf("#   %s: %s", field, v))
		}
	}
	add("spec.ssh.passwd", r.SSH.Passwd)
	add("spec.ssh.pkPasswd", r.SSH.PKPasswd)
	add("spec.ssh.sudoPasswd", r.SSH.SudoPasswd)
	for i, g := range r.Groups {
		p := fmt.Sprintf("spec.hosts[%d].ssh.", i)
		add(p+"passwd", g.SSH.Passwd)
		add(p+"pkPasswd", g.SSH.PKPasswd)
		add(p+"sudoPasswd", g.SSH.SudoPasswd)
	}
	add("spec.registry.password", r.Registry.Password)
	if e := r.Registry.External; e != nil {
		add("spec.registry.externalRegistry.password", e.Password)
	}
	text := string(data)
	if len(held) > 0 {
		text = strings.TrimRight(text, "\n") + "\n\n# Held in memory for this run, not saved:\n" + strings.Join(held, "\n") + "\n"
	}
	return text, nil
}

// saveClusterfile writes the Clusterfile without secrets, atomically: a
// crash never leaves half a file where the resume command points.
func saveClusterfile(path string, c *clusterfile.Cluster) error {
	data, err := clusterfile.Marshal(c, clusterfile.MarshalOptions{APIVersion: c.APIVersion})
	if err != nil {
		return fmt.Errorf("writing the Clusterfile: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".Clusterfile-*")
	if err != nil {
		return fmt.Errorf("saving the Clusterfile in %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("saving the Clusterfile %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("saving the Clusterfile %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving the Clusterfile %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("saving the Clusterfile %s: %w", path, err)
	}
	return nil
}
