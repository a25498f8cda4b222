package clusterfile

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	yaml "go.yaml.in/yaml/v3"
)

// errLayout is returned when the hosts are written in a way UpdateHosts
// cannot edit without rewriting the user's text.
var errLayout = errors.New("cannot edit spec.hosts as written")

// UpdateHosts edits the host list of a Clusterfile for join and delete: it
// adds masters and nodes and removes hosts, and leaves every other byte as
// the user wrote it (comments, order, quoting, other documents, secrets).
// Each argument may be an address, a range FIRST-LAST, or a comma-separated
// list of them.
//
// A host is added to the first group whose roles are exactly [master] (or
// [node]) and that overrides nothing (ssh, env, labels, taints), so it gets
// the cluster's defaults; without such a group a new group is appended.
// Removing one address of a range splits the range; a group left without
// addresses is removed. The result is parsed again before it is returned.
func UpdateHosts(data []byte, addMasters, addNodes, remove []string) ([]byte, error) {
	c, _, err := Parse("Clusterfile", data)
	if err != nil {
		return nil, fmt.Errorf("reading the Clusterfile: %w", err)
	}
	masters, err := parseIPArgs(addMasters)
	if err != nil {
		return nil, fmt.Errorf("masters to add: %w", err)
	}
	nodes, err := parseIPArgs(addNodes)
	if err != nil {
		return nil, fmt.Errorf("nodes to add: %w", err)
	}
	removed, err := parseIPArgs(remove)
	if err != nil {
		return nil, fmt.Errorf("hosts to remove: %w", err)
	}
	present := map[netip.Addr]bool{}
	for _, h := range c.Hosts() {
		present[netip.MustParseAddr(h.IP)] = true
	}
	adding := map[netip.Addr]string{}
	for _, a := range masters {
		adding[a] = RoleMaster
	}
	for _, a := range nodes {
		if adding[a] != "" {
			return nil, fmt.Errorf("%s is given both as a master and as a node", a)
		}
		adding[a] = RoleNode
	}
	for a := range adding {
		if present[a] {
			return nil, fmt.Errorf("%s is already a host of the cluster", a)
		}
	}
	dropping := map[netip.Addr]bool{}
	for _, a := range removed {
		if !present[a] {
			return nil, fmt.Errorf("%s is not a host of the cluster", a)
		}
		dropping[a] = true
	}
	if len(adding) == 0 && len(dropping) == 0 {
		return data, nil
	}

	src := newSource(data)
	hosts, err := findHosts(data)
	if err != nil {
		return nil, err
	}
	if len(hosts.Content) != len(c.Groups) {
		return nil, fmt.Errorf("%w: spec.hosts holds %d groups, parsed %d", errLayout, len(hosts.Content), len(c.Groups))
	}
	var edits []edit
	groups := make([]*hostGroupText, len(hosts.Content))
	for i, n := range hosts.Content {
		g, err := readGroupText(src, n, c.Groups[i], i)
		if err != nil {
			return nil, err
		}
		g.drop(dropping)
		groups[i] = g
	}
	for _, role := range []string{RoleMaster, RoleNode} {
		var add []netip.Addr
		for _, a := range slices.Concat(masters, nodes) {
			if adding[a] == role {
				add = append(add, a)
			}
		}
		if len(add) == 0 {
			continue
		}
		target := -1
		for i, g := range groups {
			if g.plain && slices.Equal(c.Groups[i].Roles, []string{role}) && g.remaining() > 0 {
				target = i
				break
			}
		}
		if target >= 0 {
			groups[target].add = append(groups[target].add, add...)
			continue
		}
		groups[len(groups)-1].appendGroups = append(groups[len(groups)-1].appendGroups, newGroupSpec{role: role, addrs: add})
	}
	for _, g := range groups {
		e, err := g.edits(src)
		if err != nil {
			return nil, err
		}
		edits = append(edits, e...)
	}
	out, err := src.apply(edits)
	if err != nil {
		return nil, fmt.Errorf("editing the Clusterfile: %w", err)
	}
	return out, checkUpdated(out, present, adding, dropping)
}

// checkUpdated parses the edited file and checks that it holds exactly the
// hosts it should, with the roles asked for.
func checkUpdated(out []byte, present map[netip.Addr]bool, adding map[netip.Addr]string, dropping map[netip.Addr]bool) error {
	c, _, err := Parse("Clusterfile", out)
	if err != nil {
		return fmt.Errorf("the edited Clusterfile would be invalid: %w", err)
	}
	want := map[netip.Addr]bool{}
	for a := range present {
		if !dropping[a] {
			want[a] = true
		}
	}
	for a := range adding {
		want[a] = true
	}
	got := c.Hosts()
	if len(got) != len(want) {
		return fmt.Errorf("editing the Clusterfile: %d hosts after the edit, want %d", len(got), len(want))
	}
	for _, h := range got {
		a := netip.MustParseAddr(h.IP)
		if !want[a] || (adding[a] != "" && !h.HasRole(adding[a])) {
			return fmt.Errorf("editing the Clusterfile: host %s came out wrong", h.IP)
		}
	}
	return nil
}

// findHosts returns the spec.hosts node of the Cluster document.
func findHosts(data []byte) (*yaml.Node, error) {
	roots, err := decodeDocs("Clusterfile", data)
	if err != nil {
		return nil, err
	}
	for _, root := range roots {
		if kind, _ := topField(root, "kind"); kind != KindCluster {
			continue
		}
		spec := mapGet(root, "spec")
		hosts := mapGet(spec, "hosts")
		switch {
		case spec == nil || spec.Kind != yaml.MappingNode || hosts == nil:
			return nil, fmt.Errorf("%w: spec or spec.hosts is written through a YAML alias", errLayout)
		case hosts.Kind != yaml.SequenceNode || hosts.Style&yaml.FlowStyle != 0:
			return nil, fmt.Errorf("%w: spec.hosts is on one line ([...]); write it as a list of '- ips: ...' entries", errLayout)
		}
		return hosts, nil
	}
	return nil, fmt.Errorf("%w: no Cluster document", errLayout)
}
