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
	ch, err := planHosts(c, addMasters, addNodes, remove)
	if err != nil {
		return nil, err
	}
	if len(ch.adding) == 0 && len(ch.dropping) == 0 {
		return data, nil
	}
	src := newSource(data)
	groups, err := readGroups(src, data, c, ch.dropping)
	if err != nil {
		return nil, err
	}
	for _, role := range []string{RoleMaster, RoleNode} {
		placeHosts(groups, c.Groups, role, ch.added(role))
	}
	var edits []edit
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
	return out, checkUpdated(out, ch.present, ch.adding, ch.dropping)
}

// hostChanges is what UpdateHosts was asked to do, checked against the
// hosts the cluster has.
type hostChanges struct {
	order    []netip.Addr          // the hosts to add, masters first, as given
	present  map[netip.Addr]bool   // the cluster's hosts
	adding   map[netip.Addr]string // host to add -> its role
	dropping map[netip.Addr]bool
}

func planHosts(c *Cluster, addMasters, addNodes, remove []string) (*hostChanges, error) {
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
	ch := &hostChanges{order: slices.Concat(masters, nodes), present: map[netip.Addr]bool{},
		adding: map[netip.Addr]string{}, dropping: map[netip.Addr]bool{}}
	for _, h := range c.Hosts() {
		ch.present[netip.MustParseAddr(h.IP)] = true
	}
	for _, a := range masters {
		ch.adding[a] = RoleMaster
	}
	for _, a := range nodes {
		if ch.adding[a] != "" {
			return nil, fmt.Errorf("%s is given both as a master and as a node", a)
		}
		ch.adding[a] = RoleNode
	}
	for a := range ch.adding {
		if ch.present[a] {
			return nil, fmt.Errorf("%s is already a host of the cluster", a)
		}
	}
	for _, a := range removed {
		if !ch.present[a] {
			return nil, fmt.Errorf("%s is not a host of the cluster", a)
		}
		ch.dropping[a] = true
	}
	return ch, nil
}

// added lists the hosts to add with role, in the order given.
func (ch *hostChanges) added(role string) []netip.Addr {
	var out []netip.Addr
	for _, a := range ch.order {
		if ch.adding[a] == role {
			out = append(out, a)
		}
	}
	return out
}

// readGroups reads the groups of spec.hosts as written, with the hosts
// dropping takes out of them.
func readGroups(src *source, data []byte, c *Cluster, dropping map[netip.Addr]bool) ([]*hostGroupText, error) {
	hosts, err := findHosts(data)
	if err != nil {
		return nil, err
	}
	if len(hosts.Content) != len(c.Groups) {
		return nil, fmt.Errorf("%w: spec.hosts holds %d groups, parsed %d", errLayout, len(hosts.Content), len(c.Groups))
	}
	groups := make([]*hostGroupText, len(hosts.Content))
	for i, n := range hosts.Content {
		g, err := readGroupText(src, n, c.Groups[i], i)
		if err != nil {
			return nil, err
		}
		g.drop(dropping)
		groups[i] = g
	}
	return groups, nil
}

// placeHosts adds hosts of role to the first plain group of exactly that
// role that keeps a host, or else to a new group after the last.
func placeHosts(groups []*hostGroupText, parsed []HostGroup, role string, add []netip.Addr) {
	if len(add) == 0 {
		return
	}
	for i, g := range groups {
		if g.plain && slices.Equal(parsed[i].Roles, []string{role}) && g.remaining() > 0 {
			g.add = append(g.add, add...)
			return
		}
	}
	last := groups[len(groups)-1]
	last.appendGroups = append(last.appendGroups, newGroupSpec{role: role, addrs: add})
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
