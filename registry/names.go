package registry

import (
	"fmt"
	"strings"
)

// dockerHub is the registry host that short names belong to.
const dockerHub = "docker.io"

// ambiguousError says that a repository path is carried from several
// registries and the request did not say which.
type ambiguousError struct {
	path  string
	hosts []string
}

func (e *ambiguousError) Error() string {
	return fmt.Sprintf("%s is carried from %s: add ?ns=<registry> or ask for the full name (/v2/%s/%s/...)",
		e.path, strings.Join(e.hosts, " and "), e.hosts[0], e.path)
}

// resolve maps the repository name of a request to the full name the image
// is carried under (registry host included).
//
// containerd names the upstream registry in ?ns= when it uses this registry
// as a mirror; then only that registry's copy may answer, so two registries'
// foo/bar never collide, and a miss is a miss (containerd falls back).
// Without ns: the full name, then docker.io (the default registry of every
// client), then the only registry that carries the path. A name that matches
// nothing is returned unchanged, so distribution answers with its own
// NAME_UNKNOWN / MANIFEST_UNKNOWN / BLOB_UNKNOWN.
func (c *catalog) resolve(name, ns, self string) (string, error) {
	if ns != "" {
		full := ns + "/" + name
		if ns == dockerHub && !strings.Contains(name, "/") {
			full = ns + "/library/" + name
		}
		if c.repos[full] != nil || ns != self {
			return full, nil
		}
		// ns names this registry itself: the client pulls from it directly.
	}
	if c.repos[name] != nil {
		return name, nil
	}
	if full := dockerHub + "/" + name; c.repos[full] != nil {
		return full, nil
	}
	if full := dockerHub + "/library/" + name; !strings.Contains(name, "/") && c.repos[full] != nil {
		return full, nil
	}
	switch hosts := c.domains[name]; len(hosts) {
	case 0:
		return name, nil
	case 1:
		return hosts[0] + "/" + name, nil
	default:
		return "", &ambiguousError{path: name, hosts: hosts}
	}
}
