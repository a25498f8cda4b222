package discover

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// maxDepth bounds recursion into nested maps, lists and embedded YAML, so
// that hostile input cannot exhaust the stack.
const maxDepth = 100

// containerLists are the pod-spec fields that hold containers.
var containerLists = [...]string{"containers", "initContainers", "ephemeralContainers"}

// scope is where a walk is: the source so far, whether every image found is
// an extra (Pod YAML embedded in a ConfigMap), and the field path prefix.
type scope struct {
	src    Source
	extra  bool
	prefix string
	depth  int
}

func (s scope) field(f string) Source {
	src := s.src
	src.Field = s.prefix + f
	return src
}

// scanStream records the images of every document of a YAML stream.
func (c *collector) scanStream(data []byte, base Source) {
	for _, d := range splitDocuments(data) {
		src := base
		src.Doc = d.index
		if !hasContent(d.body) || !mayHoldImages(d.body) {
			continue
		}
		v, err := decode(d.body)
		if err != nil {
			c.warn(src, "document at line %d skipped: %v", d.line, err)
			continue
		}
		c.value(v, scope{src: src})
	}
}

// value walks a parsed document: an object, or a bare list of objects.
func (c *collector) value(v any, s scope) {
	switch v := v.(type) {
	case map[string]any:
		c.object(v, s)
	case []any:
		for i, it := range v {
			if m, ok := it.(map[string]any); ok {
				t := s
				t.prefix = fmt.Sprintf("%s[%d].", s.prefix, i)
				c.object(m, t)
			}
		}
	}
}

// object records the images of one Kubernetes object. Maps without a kind
// (values files, tools' configs) are not objects and are left alone.
func (c *collector) object(m map[string]any, s scope) {
	if s.depth > maxDepth {
		return
	}
	s.depth++
	kind, _ := m["kind"].(string)
	apiVersion, _ := m["apiVersion"].(string)
	if kind != "" {
		if s.src.Object == "" {
			s.src.Object = kind + "/" + objectName(m)
		} else {
			// An object inside another (Pod YAML in a ConfigMap): keep the
			// outer one as the object and name the inner one in the field.
			s.prefix += kind + "/" + objectName(m) + " "
		}
	}
	switch {
	case kind == "CustomResourceDefinition":
		// Schemas have "image" properties and prose about images: never a source.
		return
	case strings.HasSuffix(kind, "List") && isList(m["items"]):
		for i, it := range m["items"].([]any) {
			if item, ok := it.(map[string]any); ok {
				t := s
				t.src.Object = "" // each item names itself
				t.prefix = fmt.Sprintf("%sitems[%d].", s.prefix, i)
				c.object(item, t)
			}
		}
		return
	case kind == "ConfigMap" && isBuiltinGroup(apiVersion):
		c.configMap(m, s)
		return
	case kind == "Secret" && isBuiltinGroup(apiVersion):
		return
	}
	if path := podSpecPath(kind, apiVersion); path != nil {
		if spec, ok := lookup(m, path...).(map[string]any); ok {
			c.podSpec(spec, s)
			return
		}
	}
	if kind == "" {
		// Not a Kubernetes object (a values file, a tool's config): what
		// it names is pulled only if something uses it.
		return
	}
	// Any other kind: a list of containers in a pod-spec shape is a pod
	// spec (Knative Services, Argo Rollouts, OpenShift Templates).
	c.shaped(m, s, "")
	if spec, ok := m["spec"].(map[string]any); ok {
		t := s
		t.extra = true
		c.imageKeys(spec, t, "spec.")
	}
}

// podSpecPath is where a workload kind keeps its pod spec; nil for other
// kinds, and for same-named kinds of other API groups (volcano's Job).
func podSpecPath(kind, apiVersion string) []string {
	if !isBuiltinGroup(apiVersion) {
		return nil
	}
	switch kind {
	case "Pod":
		return []string{"spec"}
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job":
		return []string{"spec", "template", "spec"}
	case "CronJob":
		return []string{"spec", "jobTemplate", "spec", "template", "spec"}
	case "PodTemplate":
		return []string{"template", "spec"}
	}
	return nil
}

// isBuiltinGroup reports whether apiVersion names a Kubernetes group that
// holds workloads or core objects ("" when absent, as in embedded Pods).
func isBuiltinGroup(apiVersion string) bool {
	group, _, found := strings.Cut(apiVersion, "/")
	if !found {
		return true // "v1" or absent: the core group
	}
	switch group {
	case "apps", "batch", "extensions":
		return true
	}
	return false
}

// podSpec records the containers of a pod spec.
func (c *collector) podSpec(spec map[string]any, s scope) {
	for _, name := range containerLists {
		if list, ok := spec[name].([]any); ok {
			c.containers(list, name, s)
		}
	}
}

// shaped finds container lists anywhere in a kind-agnostic walk. A list
// counts when every item is a map with a string name or image (Knative
// allows one nameless container) and at least one has a string image, as in
// a pod spec.
func (c *collector) shaped(v any, s scope, path string) {
	if s.depth > maxDepth {
		return
	}
	s.depth++
	switch v := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(v) {
			if slices.Contains(containerLists[:], k) && isContainerList(v[k]) {
				t := s
				t.prefix = s.prefix + path
				c.containers(v[k].([]any), k, t)
				continue
			}
			c.shaped(v[k], s, path+k+".")
		}
	case []any:
		for i, it := range v {
			c.shaped(it, s, fmt.Sprintf("%s[%d].", strings.TrimSuffix(path, "."), i))
		}
	}
}

func isContainerList(v any) bool {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return false
	}
	withImage := false
	for _, it := range list {
		m, ok := it.(map[string]any)
		if !ok {
			return false
		}
		_, named := m["name"].(string)
		img, hasImage := m["image"].(string)
		if !named && !hasImage {
			return false
		}
		withImage = withImage || (hasImage && img != "")
	}
	return withImage
}

// containers records each container's image, and the extras in its args,
// command and env values.
func (c *collector) containers(list []any, listName string, s scope) {
	for i, it := range list {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		label, _ := m["name"].(string)
		if label == "" {
			label = strconv.Itoa(i)
		}
		field := fmt.Sprintf("%s[%s].", listName, label)
		switch img := m["image"].(type) {
		case string:
			c.record(s.extra, img, s.field(field+"image"))
		case nil:
		default:
			c.warn(s.field(field+"image"), "image is a %T, not a string: skipped", img)
		}
		for _, key := range [...]string{"command", "args"} {
			args, _ := m[key].([]any)
			c.scanArgs(args, s, field+key)
		}
		env, _ := m["env"].([]any)
		c.scanEnv(env, s, field+"env")
	}
}

// record adds a reference found in an image field. A value that is not a
// reference (an unrendered template, a typo) is a warning.
func (c *collector) record(extra bool, raw string, src Source) {
	src.Raw = raw
	ref, err := Normalize(raw)
	if err != nil {
		c.warn(src, "skipped: %v", err)
		return
	}
	c.add(extra, ref, src)
}

// configMap looks for images in data strings: Pod YAML (or custom
// resources) embedded there, and image-shaped tokens in other text (a
// containerd config's sandbox_image, an operator's *_IMAGE setting). They
// are pulled at run time, so they count as extras.
func (c *collector) configMap(m map[string]any, s scope) {
	data, _ := m["data"].(map[string]any)
	for _, key := range sortedKeys(data) {
		text, ok := data[key].(string)
		if !ok {
			continue
		}
		ctx := noContext
		if isImageName(key) {
			ctx = imageish
		}
		t := s
		t.extra = true
		c.scanText(dropComments(text), ctx, t, "data["+key+"]")
		if !strings.Contains(text, "image") {
			continue // no Pod YAML here: spare the YAML parser
		}
		for _, d := range splitDocuments([]byte(text)) {
			if !hasContent(d.body) {
				continue
			}
			v, err := decode(d.body)
			if err != nil {
				continue // most data strings are scripts or config, not YAML
			}
			t := s
			t.extra = true
			t.prefix = fmt.Sprintf("%sdata[%s]#%d:", s.prefix, key, d.index)
			c.value(v, t)
		}
	}
}

func objectName(m map[string]any) string {
	meta, _ := m["metadata"].(map[string]any)
	if n, _ := meta["name"].(string); n != "" {
		return n
	}
	n, _ := meta["generateName"].(string)
	return n
}

func lookup(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func isList(v any) bool {
	_, ok := v.([]any)
	return ok
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
