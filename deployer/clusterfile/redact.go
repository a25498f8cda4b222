package clusterfile

import (
	"maps"
	"slices"

	yaml "go.yaml.in/yaml/v3"
)

// Mask replaces every secret in Redacted's copy.
const Mask = "******"

// Redacted returns a copy of c with every secret (SSH and sudo passwords,
// key passphrases, the registry password, bootstrap tokens and certificate
// keys in the kubeadm documents) replaced by Mask, for review screens and
// logs. Unset secrets stay empty, so a reader sees which are set.
func Redacted(c *Cluster) *Cluster {
	r := c.clone()
	r.SSH = redactSSH(r.SSH)
	for i := range r.Groups {
		r.Groups[i].SSH = redactSSH(r.Groups[i].SSH)
	}
	r.Registry.Password = mask(r.Registry.Password)
	if e := r.Registry.External; e != nil {
		e.Password = mask(e.Password)
	}
	for i := range r.KubeadmDocs {
		redactKubeadm(r.KubeadmDocs[i].node)
	}
	return r
}

func mask(s string) string {
	if s == "" {
		return ""
	}
	return Mask
}

func redactSSH(s SSH) SSH {
	s.Passwd = mask(s.Passwd)
	s.SudoPasswd = mask(s.SudoPasswd)
	s.PKPasswd = mask(s.PKPasswd)
	if s.Bastion != nil {
		s.Bastion.Passwd = mask(s.Bastion.Passwd)
		s.Bastion.PKPasswd = mask(s.Bastion.PKPasswd)
	}
	return s
}

// redactKubeadm masks the secrets kubeadm's documents can hold.
func redactKubeadm(doc *yaml.Node) {
	set := func(n *yaml.Node) {
		if n != nil && n.Kind == yaml.ScalarNode && strValue(n) != "" {
			n.Value = Mask
			n.Style = 0
		}
	}
	set(mapGet(doc, "certificateKey"))
	if tokens := mapGet(doc, "bootstrapTokens"); tokens != nil {
		for _, t := range tokens.Content {
			set(mapGet(t, "token"))
		}
	}
	set(mapPath(doc, "discovery", "bootstrapToken", "token"))
	set(mapPath(doc, "discovery", "tlsBootstrapToken"))
	set(mapPath(doc, "controlPlane", "certificateKey"))
}

// clone returns a deep copy of c.
func (c *Cluster) clone() *Cluster {
	r := *c
	r.SSH = cloneSSH(c.SSH)
	r.Env = slices.Clone(c.Env)
	r.Groups = slices.Clone(c.Groups)
	for i, g := range r.Groups {
		g.IPs = slices.Clone(g.IPs)
		g.Roles = slices.Clone(g.Roles)
		g.SSH = cloneSSH(g.SSH)
		g.Env = slices.Clone(g.Env)
		g.Labels = maps.Clone(g.Labels)
		g.Taints = slices.Clone(g.Taints)
		r.Groups[i] = g
	}
	if c.Registry.External != nil {
		e := *c.Registry.External
		r.Registry.External = &e
	}
	r.Plugins = slices.Clone(c.Plugins)
	for i, p := range r.Plugins {
		p.Actions = slices.Clone(p.Actions)
		p.Scope = slices.Clone(p.Scope)
		r.Plugins[i] = p
	}
	r.KubeadmDocs = slices.Clone(c.KubeadmDocs)
	for i, d := range r.KubeadmDocs {
		d.node = cloneNode(d.node)
		r.KubeadmDocs[i] = d
	}
	return &r
}

func cloneSSH(s SSH) SSH {
	if s.Bastion != nil {
		b := *s.Bastion
		s.Bastion = &b
	}
	return s
}
