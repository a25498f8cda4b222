package clusterfile

import (
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

func (r *report) decodeRegistry(n *yaml.Node, path string) Registry {
	var reg Registry
	r.decodeFields(n, path, []field{
		{"port", r.portField(&reg.Port)},
		{"insecure", r.boolField(&reg.Insecure)},
		{"username", r.strField(&reg.Username)},
		{"password", r.strField(&reg.Password)},
		{"externalRegistry", func(k, v *yaml.Node, p string) {
			if !isNull(v) {
				reg.External = r.decodeExternalRegistry(v, k, p)
			}
		}},
		{"localRegistry", func(_, v *yaml.Node, p string) { r.decodeLocalRegistry(v, p, &reg) }},
	}, nil)
	if reg.Username == "" && reg.Password != "" {
		r.errorf(n.Line, path, "a password without a username: give both to require them for pulls, or neither")
	}
	if reg.Username != "" && reg.Insecure {
		r.errorf(n.Line, path, "username and password over plain HTTP (insecure: true) would travel in clear text: drop insecure, or the credentials")
	}
	return reg
}

func (r *report) decodeExternalRegistry(n, key *yaml.Node, path string) *ExternalRegistry {
	ext := &ExternalRegistry{}
	r.decodeFields(n, path, []field{
		{"domain", func(_, v *yaml.Node, p string) { ext.Domain = strings.TrimSpace(r.str(v, p)) }},
		{"port", r.portField(&ext.Port)},
		{"username", r.strField(&ext.Username)},
		{"password", r.strField(&ext.Password)},
		{"ca", func(_, v *yaml.Node, p string) { ext.CA = strings.TrimSpace(r.str(v, p)) }},
	}, nil)
	if ext.Domain == "" {
		r.errorf(key.Line, sub(path, "domain"), "missing: the registry's host name")
	}
	if ext.Username == "" && ext.Password != "" {
		r.errorf(key.Line, path, "a password without a username: give both, or neither for anonymous pulls")
	}
	return ext
}

// decodeLocalRegistry reads sealer's registry on the masters, which is
// sealpack's: the fields that mean the same are read into reg, the others
// named.
func (r *report) decodeLocalRegistry(n *yaml.Node, path string, reg *Registry) {
	ignored := func(name, why string) field {
		return field{name, func(k, _ *yaml.Node, p string) { r.warnf(k.Line, p, "ignored: %s", why) }}
	}
	r.decodeFields(n, path, []field{
		{"port", r.portField(&reg.Port)},
		{"username", r.strField(&reg.Username)},
		{"password", r.strField(&reg.Password)},
		{"insecure", r.boolField(&reg.Insecure)},
		ignored("ha", "sealpack runs the registry on every master"),
		ignored("domain", "the masters' registries answer to their IPs and to sealpack.registry"),
		ignored("cert", "sealpack makes a CA for the cluster and a certificate for every master"),
	}, nil)
}
