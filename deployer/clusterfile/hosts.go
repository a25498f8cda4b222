package clusterfile

import (
	"maps"
	"slices"
)

// Host is one machine of the cluster with everything that applies to it
// resolved: the cluster's defaults merged with its group's overrides.
type Host struct {
	IP     string
	Roles  []string
	SSH    SSH      // User and Port always set (defaults root and 22)
	Env    []string // the cluster's env, then the group's; a key the group sets replaces the cluster's
	Labels map[string]string
	Taints []Taint
}

// IsMaster reports whether the host runs the control plane.
func (h Host) IsMaster() bool { return h.HasRole(RoleMaster) }

// HasRole reports whether the host has the role.
func (h Host) HasRole(role string) bool { return slices.Contains(h.Roles, role) }

// KubeletLabels are the host's labels that kubelet may set itself when it
// registers the node (--node-labels); APILabels are the others, which must
// be set through the API once the node exists.
func (h Host) KubeletLabels() map[string]string { return filterLabels(h.Labels, true) }

// APILabels: see KubeletLabels.
func (h Host) APILabels() map[string]string { return filterLabels(h.Labels, false) }

func filterLabels(labels map[string]string, kubelet bool) map[string]string {
	var out map[string]string
	for k, v := range labels {
		if KubeletMaySet(k) == kubelet {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// Hosts returns every host, in the order of the Clusterfile.
func (c *Cluster) Hosts() []Host {
	var out []Host
	for _, g := range c.Groups {
		for _, ip := range g.IPs {
			out = append(out, c.resolve(g, ip))
		}
	}
	return out
}

// Masters returns the hosts with the master role; the first is master0.
func (c *Cluster) Masters() []Host {
	var out []Host
	for _, h := range c.Hosts() {
		if h.IsMaster() {
			out = append(out, h)
		}
	}
	return out
}

// Nodes returns the hosts that join as workers: the node role without the
// master role (a master that also has the node role stays a master, one
// that takes workloads).
func (c *Cluster) Nodes() []Host {
	var out []Host
	for _, h := range c.Hosts() {
		if !h.IsMaster() && h.HasRole(RoleNode) {
			out = append(out, h)
		}
	}
	return out
}

// Master0 returns the first master, where kubeadm init runs. ok is false for
// a cluster without masters (Parse refuses those).
func (c *Cluster) Master0() (h Host, ok bool) {
	m := c.Masters()
	if len(m) == 0 {
		return Host{}, false
	}
	return m[0], true
}

// Host returns the host with the address ip.
func (c *Cluster) Host(ip string) (Host, bool) {
	for _, h := range c.Hosts() {
		if h.IP == ip {
			return h, true
		}
	}
	return Host{}, false
}

func (c *Cluster) resolve(g HostGroup, ip string) Host {
	h := Host{
		IP:     ip,
		Roles:  slices.Clone(g.Roles),
		SSH:    mergeSSH(c.SSH, g.SSH),
		Env:    mergeEnv(c.Env, g.Env),
		Labels: maps.Clone(g.Labels),
		Taints: slices.Clone(g.Taints),
	}
	for _, role := range g.Roles {
		if role == RoleMaster || role == RoleNode {
			continue
		}
		if h.Labels == nil {
			h.Labels = map[string]string{}
		}
		if _, set := h.Labels[RoleLabelPrefix+role]; !set {
			h.Labels[RoleLabelPrefix+role] = ""
		}
	}
	if h.SSH.User == "" {
		h.SSH.User = DefaultSSHUser
	}
	if h.SSH.Port == 0 {
		h.SSH.Port = DefaultSSHPort
	}
	return h
}

// mergeSSH returns def with every field that over sets replaced.
func mergeSSH(def, over SSH) SSH {
	s := def
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&s.User, over.User)
	set(&s.Passwd, over.Passwd)
	set(&s.SudoPasswd, over.SudoPasswd)
	set(&s.PK, over.PK)
	set(&s.PKPasswd, over.PKPasswd)
	if over.Port != 0 {
		s.Port = over.Port
	}
	if over.Bastion != nil {
		s.Bastion = over.Bastion
	}
	if s.Bastion != nil {
		b := *s.Bastion
		s.Bastion = &b
	}
	return s
}

// mergeEnv returns the cluster's entries whose keys the group does not set,
// then the group's. A key may repeat (sealer reads KEY=a, KEY=b as a list).
func mergeEnv(cluster, group []string) []string {
	over := map[string]bool{}
	for _, e := range group {
		over[envKey(e)] = true
	}
	var out []string
	for _, e := range cluster {
		if !over[envKey(e)] {
			out = append(out, e)
		}
	}
	return append(out, group...)
}
