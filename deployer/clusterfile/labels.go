package clusterfile

import (
	"fmt"
	"regexp"
	"strings"
)

// Kubernetes' syntax for label names, label values and DNS subdomains.
var (
	labelNameRE = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
	subdomainRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// checkLabelKey checks a label or taint key: [prefix/]name.
func checkLabelKey(key string) error {
	prefix, name, hasPrefix := strings.Cut(key, "/")
	if !hasPrefix {
		prefix, name = "", key
	}
	if hasPrefix && (prefix == "" || len(prefix) > 253 || !subdomainRE.MatchString(prefix)) {
		return fmt.Errorf("%q is not a valid label key: the prefix must be a DNS subdomain (example.com/name)", key)
	}
	if len(name) > 63 || !labelNameRE.MatchString(name) {
		return fmt.Errorf("%q is not a valid label key: the name must be 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit", key)
	}
	return nil
}

func checkLabelValue(v string) error {
	if v == "" {
		return nil
	}
	if len(v) > 63 || !labelNameRE.MatchString(v) {
		return fmt.Errorf("%q is not a valid label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit", v)
	}
	return nil
}

// checkRole checks a role name; it must fit in a label key.
func checkRole(role string) error {
	if len(role) > 63 || !labelNameRE.MatchString(role) {
		return fmt.Errorf("%q is not a valid role: 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit", role)
	}
	return nil
}

var taintEffects = []string{"NoSchedule", "PreferNoSchedule", "NoExecute"}

// parseTaint reads key[=value]:Effect[-], the syntax of kubectl taint.
func parseTaint(s string) (Taint, error) {
	var t Taint
	body := strings.TrimSpace(s)
	if strings.HasSuffix(body, "-") {
		t.Remove = true
		body = strings.TrimSuffix(body, "-")
	}
	kv, effect, ok := strings.Cut(body, ":")
	if !ok {
		return t, fmt.Errorf("%q is not a taint: write key=value:Effect or key:Effect", s)
	}
	t.Effect = effect
	t.Key, t.Value, _ = strings.Cut(kv, "=")
	if err := checkLabelKey(t.Key); err != nil {
		return t, fmt.Errorf("taint %q: %w", s, err)
	}
	if err := checkLabelValue(t.Value); err != nil {
		return t, fmt.Errorf("taint %q: %w", s, err)
	}
	for _, e := range taintEffects {
		if e == effect {
			return t, nil
		}
	}
	return t, fmt.Errorf("taint %q: effect %q is not one of %s", s, effect, strings.Join(taintEffects, ", "))
}

// checkEnv checks one KEY=VALUE entry of an env list.
func checkEnv(e string) error {
	key, _, ok := strings.Cut(e, "=")
	if !ok || key == "" {
		return fmt.Errorf("%q is not KEY=VALUE", e)
	}
	if strings.ContainsAny(key, " \t\r\n\x00") || strings.Contains(e, "\x00") {
		return fmt.Errorf("%q: the name must not contain spaces or control characters", e)
	}
	return nil
}

func envKey(e string) string {
	k, _, _ := strings.Cut(e, "=")
	return k
}

// Labels that kubelet sets itself and namespaces it may write
// (Kubernetes' pkg/kubelet/apis well-known labels).
var (
	kubeletOwnLabels = map[string]bool{
		"kubernetes.io/hostname":                   true,
		"kubernetes.io/os":                         true,
		"kubernetes.io/arch":                       true,
		"beta.kubernetes.io/os":                    true,
		"beta.kubernetes.io/arch":                  true,
		"beta.kubernetes.io/instance-type":         true,
		"node.kubernetes.io/instance-type":         true,
		"topology.kubernetes.io/zone":              true,
		"topology.kubernetes.io/region":            true,
		"failure-domain.beta.kubernetes.io/zone":   true,
		"failure-domain.beta.kubernetes.io/region": true,
	}
	kubeletLabelNamespaces = []string{"kubelet.kubernetes.io", "node.kubernetes.io"}
)

// KubeletMaySet reports whether kubelet accepts the label key in
// --node-labels. Kubelet refuses to start with other labels of the
// kubernetes.io and k8s.io namespaces (node-role.kubernetes.io/... among
// them): those must be set through the API once the node has joined.
func KubeletMaySet(key string) bool {
	ns, _, hasNS := strings.Cut(key, "/")
	if !hasNS {
		return true
	}
	restricted := false
	for _, r := range []string{"kubernetes.io", "k8s.io"} {
		if ns == r || strings.HasSuffix(ns, "."+r) {
			restricted = true
		}
	}
	if !restricted || kubeletOwnLabels[key] {
		return true
	}
	for _, allowed := range kubeletLabelNamespaces {
		if ns == allowed || strings.HasSuffix(ns, "."+allowed) {
			return true
		}
	}
	return false
}
