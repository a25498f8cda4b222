package discover

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// Extras are guesses: strings that look like image references where software
// may pull them at run time. To keep decoys out (a controller class
// "k8s.io/ingress-nginx", a CIDR "10.244.0.0/16", "host:port", a tcp-services
// entry "default/svc:8080", a label "kubernetes.io/arch:amd64"), a token counts
// only with a real image shape: a digest, or a path with a version-like tag
// ("quay.io/x/y:v1", "rancher/foo:1.2"). Where the context says "image" (a
// flag --helper-image, an env HELPER_IMAGE, a key sidecarImage), a tag or a
// path is enough; the image of a container-like map (a Tekton step, an Argo
// container) takes any reference. The shapes are in refshape.go.

// strength is how much the context says that a string is an image.
type strength int

const (
	noContext  strength = iota // a plain string: image shape required
	imageish                   // the flag, env or key name says image
	imageField                 // the image of a container-like map
)

// scanArgs records references in command or args items.
func (c *collector) scanArgs(args []any, s scope, field string) {
	prevFlag := ""
	for i, a := range args {
		str, ok := a.(string)
		if !ok {
			prevFlag = ""
			continue
		}
		ctx := noContext
		if isImageName(prevFlag) {
			ctx = imageish // "--image" "busybox:1.36"
		}
		c.scanText(str, ctx, s, fmt.Sprintf("%s[%d]", field, i))
		prevFlag = ""
		if strings.HasPrefix(str, "-") && !strings.ContainsAny(str, "= ") {
			prevFlag = str
		}
	}
}

// scanEnv records references in env[].value strings.
func (c *collector) scanEnv(env []any, s scope, field string) {
	for _, e := range env {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		name, _ := m["name"].(string)
		value, ok := m["value"].(string)
		if !ok {
			continue
		}
		ctx := noContext
		if isImageName(name) {
			ctx = imageish
		}
		c.scanText(value, ctx, s, fmt.Sprintf("%s[%s]", field, name))
	}
}

// imageKeys records string values of image-named keys under a custom
// resource's spec (spec.image, spec.sidecarImage, ...).
func (c *collector) imageKeys(v any, s scope, path string) {
	if s.depth > maxDepth {
		return
	}
	s.depth++
	switch v := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(v) {
			if slices.Contains(containerLists[:], k) && isContainerList(v[k]) {
				continue // already recorded as pod-spec images by the shape walk
			}
			if str, ok := v[k].(string); ok {
				if ref, ok := settingRef(k, str, v); ok {
					src := s.field(path + k)
					src.Raw = str
					c.add(true, ref, src)
				}
				continue
			}
			c.imageKeys(v[k], s, path+k+".")
		}
	case []any:
		for i, it := range v {
			c.imageKeys(it, s, fmt.Sprintf("%s[%d].", strings.TrimSuffix(path, "."), i))
		}
	}
}

// settingRef returns the reference that the string value of key in m (a map
// of a custom resource's spec) names, if the key says image. Outside a
// container-like map the value must carry a tag or a path (a bare "proxyv2"
// is a component that Istio prefixes with its hub), and an untagged one is
// left to the operator when a tag or version sits beside it.
func settingRef(key, value string, m map[string]any) (string, bool) {
	if strings.EqualFold(key, "image") && containerLike(m) {
		return candidate(value, imageField)
	}
	if !isImageName(key) {
		return "", false
	}
	ref, ok := candidate(value, imageish)
	if ok && untagged(value) && completesName(m) {
		return "", false
	}
	return ref, ok
}

// scanText records the image-shaped tokens of a free-text string (one arg, a
// shell script line, an env value).
func (c *collector) scanText(text string, ctx strength, s scope, field string) {
	if ctx == imageish && len(strings.Fields(text)) > 1 {
		// The name says what one value is; in a script or a document it
		// says nothing of each word ("images.yaml" holding apps/v1).
		ctx = noContext
	}
	for _, tok := range strings.FieldsFunc(text, isSeparator) {
		tctx := ctx
		if i := strings.LastIndexByte(tok, '='); i >= 0 {
			// --helper-image=busybox:1.36, IMAGE=foo/bar:1
			if isImageName(tok[:i]) {
				tctx = max(tctx, imageish)
			}
			tok = tok[i+1:]
		}
		tok = strings.TrimRight(tok, ".:")
		if ref, ok := candidate(tok, tctx); ok {
			src := s.field(field)
			src.Raw = tok
			c.add(true, ref, src)
		}
	}
}

// dropComments blanks the comments of a config file or script kept in a
// ConfigMap: a line starting with "#" or "//", and the rest of a line from a
// "#" after a blank. A commented-out setting is not pulled, and Knative's
// _example blocks quote whole configurations.
func dropComments(text string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "//") {
			lines[i] = ""
			continue
		}
		for j := 0; j < len(l); j++ {
			if l[j] == '#' && (j == 0 || l[j-1] == ' ' || l[j-1] == '\t') {
				lines[i] = l[:j]
				break
			}
		}
	}
	return strings.Join(lines, "\n")
}

func isSeparator(r rune) bool {
	return unicode.IsSpace(r) || strings.ContainsRune("\"'`,;()[]{}<>|&", r)
}
