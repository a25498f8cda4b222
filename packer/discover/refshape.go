package discover

import (
	"slices"
	"strings"

	"github.com/distribution/reference"
)

// Extras are carried by default, so a decoy taken for an image is a pull
// that fails the build: these rules would rather miss a guess than invent one.

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
	if reference.Domain(named) == "docker.io" && strings.Count(reference.Path(named), "/") > 1 {
		// Docker Hub names are namespace/name: a longer path without a
		// registry is a file path or a cloud's VM image
		// (projects/ubuntu-os-cloud/global/images/...).
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
		return ref, hasTag && hasPath && versionLike(tagged.Tag(), hasRegistry(name))
	}
}

// versionLike reports whether a tag looks like a version when nothing around
// it says image. Label values ("kubernetes.io/os:linux",
// "kubernetes.io/arch:amd64") are not; nor is a bare number after a name
// without registry, which is far more often a port ("default/example-go:8080"
// in ingress-nginx's tcp-services) than a tag.
func versionLike(tag string, registry bool) bool {
	switch {
	case tag == "latest":
		return true
	case !strings.ContainsAny(tag, "0123456789"), slices.Contains(platformWords, tag):
		return false
	case strings.Trim(tag, "0123456789") == "":
		return registry
	}
	return true
}

// platformWords are architectures that label values name; with digits in
// them they would pass for tags.
var platformWords = []string{"386", "amd64", "arm64", "ppc64le", "s390x", "riscv64", "mips64le", "loong64"}

// hasRegistry reports whether the written name (before any tag) starts with
// a registry host, as the reference grammar decides it: a first component
// with a dot or a port, or localhost.
func hasRegistry(name string) bool {
	first, _, found := strings.Cut(name, "/")
	if !found {
		return false
	}
	first, _, _ = strings.Cut(first, "@")
	return strings.ContainsAny(first, ".:") || first == "localhost"
}

// isImageName reports whether a flag, env or key name says that its value
// is an image reference, and not its pull policy, tag, registry or a file.
func isImageName(name string) bool {
	n := strings.ToLower(strings.TrimLeft(name, "-"))
	if !strings.Contains(n, "image") {
		return false
	}
	for _, not := range [...]string{"pull", "policy", "secret", "tag", "repo", "registry", "version", "digest", "path", "dir", "file"} {
		if strings.Contains(n, not) {
			return false
		}
	}
	return true
}

// completesName reports whether a map names a tag or version beside its
// image (hub/image/tag, baseImage+version, {image, tag}): the operator
// builds the reference, and an untagged image there is only a repository.
func completesName(m map[string]any) bool {
	for k := range m {
		k = strings.ToLower(k)
		if k == "sha" || strings.HasSuffix(k, "tag") || strings.HasSuffix(k, "version") || strings.HasSuffix(k, "digest") {
			return true
		}
	}
	return false
}

// containerLike reports whether a map of a custom resource is a container
// in all but name (Tekton steps and sidecars, Argo's container and script):
// its image is pulled as written, a bare "busybox" included.
func containerLike(m map[string]any) bool {
	if _, ok := m["image"].(string); !ok {
		return false
	}
	for _, k := range [...]string{"name", "command", "args", "script", "env", "envFrom", "workingDir", "volumeMounts"} {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// untagged reports whether a normalized reference got its tag from
// normalization only (no tag and no digest as written).
func untagged(raw string) bool {
	named, err := reference.ParseNormalizedNamed(raw)
	if err != nil {
		return false
	}
	_, tagged := named.(reference.Tagged)
	_, digested := named.(reference.Digested)
	return !tagged && !digested
}
