package discover

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/distribution/reference"
)

// Extras are guesses: strings that look like image references where software
// may pull them at run time. To keep decoys out (a controller class
// "k8s.io/ingress-nginx", a CIDR "10.244.0.0/16", "host:port"), a token counts
// only with a real image shape: a digest, or a path with a version-like tag
// ("quay.io/x/y:v1", "rancher/foo:1.2"). Where the context says "image" (a
// flag --helper-image, an env HELPER_IMAGE, a key sidecarImage), a tag or a
// path is enough; a key named exactly "image" takes any reference.

// strength is how much the context says that a string is an image.
type strength int

const (
	noContext  strength = iota // a plain string: image shape required
	imageish                   // the flag, env or key name says image
	imageField                 // a field named "image"
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
			if isContainerList(v[k]) {
				continue // already recorded as pod-spec images by the shape walk
			}
			if str, ok := v[k].(string); ok {
				ctx := noContext
				switch {
				case strings.EqualFold(k, "image"):
					ctx = imageField
				case isImageName(k):
					ctx = imageish
				default:
					continue
				}
				if ref, ok := candidate(str, ctx); ok {
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

// scanText records the image-shaped tokens of a free-text string (one arg, a
// shell script line, an env value).
func (c *collector) scanText(text string, ctx strength, s scope, field string) {
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

func isSeparator(r rune) bool {
	return unicode.IsSpace(r) || strings.ContainsRune("\"'`,;()[]{}<>|&", r)
}

// candidate returns the normalized reference when tok has an image shape
// strong enough for its context.
func candidate(tok string, ctx strength) (string, bool) {
	if tok == "" || strings.Contains(tok, "://") || strings.ContainsAny(tok, "$%*?\\!#^~+") ||
		strings.HasPrefix(tok, "/") || strings.HasPrefix(tok, "-") || strings.HasPrefix(tok, ".") {
		return "", false
	}
	named, err := reference.ParseNormalizedNamed(tok)
	if err != nil {
		return "", false
	}
	ref := reference.TagNameOnly(named).String()
	if _, ok := named.(reference.Digested); ok || ctx == imageField {
		return ref, true
	}
	name, _, _ := strings.Cut(tok, "@")
	hasPath := strings.Contains(name, "/")
	tagged, hasTag := named.(reference.Tagged)
	switch ctx {
	case imageish:
		return ref, hasTag || hasPath
	default:
		return ref, hasTag && hasPath && versionLike(tagged.Tag())
	}
}

// versionLike reports whether a tag looks like a version: label values such
// as "kubernetes.io/os:linux" do not.
func versionLike(tag string) bool {
	return tag == "latest" || strings.ContainsAny(tag, "0123456789")
}

// isImageName reports whether a flag, env or key name says that its value
// is an image reference, and not its pull policy, tag or registry.
func isImageName(name string) bool {
	n := strings.ToLower(strings.TrimLeft(name, "-"))
	if !strings.Contains(n, "image") {
		return false
	}
	for _, not := range [...]string{"pull", "policy", "secret", "tag", "repo", "registry", "version", "digest"} {
		if strings.Contains(n, not) {
			return false
		}
	}
	return true
}
