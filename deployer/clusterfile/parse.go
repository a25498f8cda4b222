package clusterfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Parse reads a Clusterfile. name is how messages refer to it (usually the
// path the user gave). It returns the cluster, warnings for what sealer knows
// and sealpack ignores, and an error listing every problem found, each as
// "name:line: field: message". The error wraps ErrInvalid.
func Parse(name string, data []byte) (*Cluster, []Warning, error) {
	r := &report{file: name}
	docs, err := decodeDocs(name, data)
	if err != nil {
		return nil, nil, err
	}
	c := &Cluster{}
	var clusterDoc *yaml.Node
	kubeKinds := map[string]int{}
	pluginNames := map[string]int{}
	for _, root := range docs {
		apiVersion, kind, ok := r.header(root)
		if !ok {
			continue
		}
		switch {
		case kind == KindCluster:
			if clusterDoc != nil {
				r.errorf(root.Line, "", "a second Cluster document (the first is at line %d): a Clusterfile describes one cluster", clusterDoc.Line)
				continue
			}
			clusterDoc = root
			r.decodeCluster(root, apiVersion, c)
		case kind == KindPlugin:
			p, keep := r.decodePlugin(root, apiVersion)
			if !keep {
				continue
			}
			if first, dup := pluginNames[p.Name]; dup {
				r.errorf(p.Line, "metadata.name", "plugin %q is defined twice (first at line %d)", p.Name, first)
				continue
			}
			pluginNames[p.Name] = p.Line
			c.Plugins = append(c.Plugins, p)
		case kubeadmKinds[kind] != "":
			if first, dup := kubeKinds[kind]; dup {
				r.errorf(root.Line, "", "a second %s document (the first is at line %d)", kind, first)
				continue
			}
			kubeKinds[kind] = root.Line
			if d, ok := r.decodeKubeadmDoc(root, apiVersion, kind); ok {
				c.KubeadmDocs = append(c.KubeadmDocs, d)
			}
		case ignoredKinds[kind] != "" && (apiVersion == "" || strings.Contains(apiVersion, "sealer") || strings.HasPrefix(apiVersion, "kubeadm.k8s.io/")):
			r.warnf(root.Line, "", "%s documents (%s) are not implemented by sealpack; ignored", kind, ignoredKinds[kind])
		default:
			_, kn := topField(root, "kind")
			r.errorf(kn.Line, "kind", "unknown document kind %q%s (a Clusterfile holds Cluster, Plugin and kubeadm/kubelet/kube-proxy configuration documents)", kind, suggest(kind, knownKinds()))
		}
	}
	if clusterDoc == nil && len(r.errs) == 0 {
		r.errorf(0, "", "no Cluster document (apiVersion: %s, kind: Cluster)", APIVersionIO)
	}
	if clusterDoc != nil {
		r.checkPluginScopes(c)
	}
	// Plugins of one action run by name, as in sealer.
	sort.SliceStable(c.Plugins, func(i, j int) bool { return c.Plugins[i].Name < c.Plugins[j].Name })
	if err := r.err(); err != nil {
		return nil, r.warnings, err
	}
	return c, r.warnings, nil
}

// header reads and checks a document's apiVersion and kind.
func (r *report) header(root *yaml.Node) (apiVersion, kind string, ok bool) {
	m := deref(root)
	if m.Kind != yaml.MappingNode {
		r.errorf(root.Line, "", "a document must be a mapping with apiVersion and kind, not %s", describe(root))
		return "", "", false
	}
	apiVersion, av := topField(m, "apiVersion")
	kind, kn := topField(m, "kind")
	if av != nil && apiVersion == "" && !isNull(av) {
		r.errorf(av.Line, "apiVersion", "must be a single value, not %s", describe(av))
		return "", "", false
	}
	if kind == "" {
		line := root.Line
		if kn != nil {
			line = kn.Line
		}
		r.errorf(line, "kind", "missing: every document names its kind (Cluster, Plugin, ClusterConfiguration, ...)")
		return "", "", false
	}
	return apiVersion, kind, true
}

// decodeDocs splits a multi-document YAML stream into its documents' roots,
// skipping empty documents.
func decodeDocs(name string, data []byte) (roots []*yaml.Node, err error) {
	// The YAML library has panicked on hostile input before; whatever the
	// input, the user gets an error, never a stack trace.
	defer func() {
		if p := recover(); p != nil {
			roots, err = nil, &FieldError{File: name, Msg: fmt.Sprintf("cannot be read as YAML: %v", p)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return roots, nil
			}
			return nil, yamlError(name, err)
		}
		if len(doc.Content) == 0 || isNull(doc.Content[0]) {
			continue
		}
		roots = append(roots, doc.Content[0])
	}
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns the YAML library's "yaml: line N: ..." into a FieldError.
func yamlError(name string, err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &FieldError{File: name, Line: line, Msg: "YAML syntax: " + m[2]}
	}
	return &FieldError{File: name, Msg: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")}
}

// ignoredKinds are document kinds that sealer (or kubeadm) knows and
// sealpack does not use, with what they are.
var ignoredKinds = map[string]string{
	"Config":               "sealer's file overrides",
	"Application":          "sealer's application launch settings",
	"KubeadmConfig":        "sealer's flattened kubeadm settings; write InitConfiguration/ClusterConfiguration documents instead",
	"Infra":                "sealer's cloud infrastructure",
	"ResetConfiguration":   "kubeadm reset settings",
	"UpgradeConfiguration": "kubeadm upgrade settings",
}

func knownKinds() []string {
	kinds := []string{KindCluster, KindPlugin}
	for k := range kubeadmKinds {
		kinds = append(kinds, k)
	}
	for k := range ignoredKinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

// suggest returns ` (did you mean "x"?)` when one candidate is a near miss.
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || best == s {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// unknown reports a field that neither sealer nor sealpack knows.
func (r *report) unknown(k *yaml.Node, path, key string, known []string) {
	r.errorf(k.Line, sub(path, key), "unknown field%s", suggest(key, known))
}
