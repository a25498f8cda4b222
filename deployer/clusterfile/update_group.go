package clusterfile

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// hostGroupText is one group of spec.hosts as written, and what to change.
type hostGroupText struct {
	index        int
	node         *yaml.Node // the group's mapping
	ips          *yaml.Node // its ips list
	entries      []ipEntry
	plain        bool // overrides nothing
	add          []netip.Addr
	appendGroups []newGroupSpec // groups to write after this one (the last)
}

type ipEntry struct {
	node  *yaml.Node
	addrs []netip.Addr
	keep  []netip.Addr // what stays after removal
}

type newGroupSpec struct {
	role  string
	addrs []netip.Addr
}

func readGroupText(src *source, n *yaml.Node, g HostGroup, i int) (*hostGroupText, error) {
	where := fmt.Sprintf("spec.hosts[%d]", i)
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: %s is written through a YAML alias", errLayout, where)
	}
	ips := mapGet(n, "ips")
	if ips == nil || ips.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%w: %s.ips is written through a YAML alias", errLayout, where)
	}
	t := &hostGroupText{
		index: i, node: n, ips: ips,
		plain: g.SSH == (SSH{}) && len(g.Env) == 0 && len(g.Labels) == 0 && len(g.Taints) == 0,
	}
	for j, item := range ips.Content {
		if item.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%w: %s.ips[%d] is written through a YAML alias", errLayout, where, j)
		}
		addrs, err := expandIPs(item.Value)
		if err != nil {
			return nil, err
		}
		t.entries = append(t.entries, ipEntry{node: item, addrs: addrs, keep: addrs})
	}
	return t, nil
}

func (g *hostGroupText) drop(dropping map[netip.Addr]bool) {
	for i := range g.entries {
		g.entries[i].keep = slices.DeleteFunc(slices.Clone(g.entries[i].addrs), func(a netip.Addr) bool { return dropping[a] })
	}
}

func (g *hostGroupText) remaining() int {
	n := 0
	for _, e := range g.entries {
		n += len(e.keep)
	}
	return n
}

// formatEntry writes an ips entry; IPv6 addresses are quoted because their
// colons are YAML syntax in a [...] list.
func formatEntry(s string) string {
	if strings.Contains(s, ":") {
		return `"` + s + `"`
	}
	return s
}

func (g *hostGroupText) edits(src *source) ([]edit, error) {
	var edits []edit
	if g.remaining() == 0 && len(g.add) == 0 {
		start, end, err := g.span(src, true)
		if err != nil {
			return nil, err
		}
		edits = append(edits, edit{start: start, end: end})
	} else if g.ips.Style&yaml.FlowStyle != 0 {
		e, err := g.flowEdit(src)
		if err != nil {
			return nil, err
		}
		edits = append(edits, e...)
	} else {
		e, err := g.blockEdits(src)
		if err != nil {
			return nil, err
		}
		edits = append(edits, e...)
	}
	if len(g.appendGroups) > 0 {
		e, err := g.appendEdit(src)
		if err != nil {
			return nil, err
		}
		edits = append(edits, e)
	}
	return edits, nil
}

// changed reports whether the group's ips list needs rewriting.
func (g *hostGroupText) changed() bool {
	if len(g.add) > 0 {
		return true
	}
	for _, e := range g.entries {
		if len(e.keep) != len(e.addrs) {
			return true
		}
	}
	return false
}

// flowEdit rewrites an ips list written [a, b] in the same style.
func (g *hostGroupText) flowEdit(src *source) ([]edit, error) {
	if !g.changed() {
		return nil, nil
	}
	start := src.offset(g.ips.Line, g.ips.Column)
	end, ok := src.flowEnd(start)
	if !ok || src.data[start] != '[' {
		return nil, fmt.Errorf("%w: spec.hosts[%d].ips", errLayout, g.index)
	}
	orig := string(src.data[start:end])
	var items []string
	for _, e := range g.entries {
		if len(e.keep) == len(e.addrs) {
			items = append(items, g.originalText(src, e.node))
			continue
		}
		for _, s := range compressIPs(e.keep, 2) {
			items = append(items, formatEntry(s))
		}
	}
	for _, a := range g.add {
		items = append(items, formatEntry(a.String()))
	}
	sep := ", "
	if !strings.Contains(orig, ", ") && strings.Contains(orig, ",") {
		sep = ","
	}
	open, closing := "[", "]"
	if strings.HasPrefix(orig, "[ ") {
		open, closing = "[ ", " ]"
	}
	return []edit{{start: start, end: end, text: open + strings.Join(items, sep) + closing}}, nil
}

// originalText is an unchanged entry exactly as written.
func (g *hostGroupText) originalText(src *source, n *yaml.Node) string {
	off := src.offset(n.Line, n.Column)
	if end, ok := src.tokenEnd(off, n.Value); ok {
		return string(src.data[off:end])
	}
	return formatEntry(n.Value)
}

// blockEdits rewrites an ips list written one "- address" per line.
func (g *hostGroupText) blockEdits(src *source) ([]edit, error) {
	var edits []edit
	var prefix string
	lastEnd := 0
	for j, e := range g.entries {
		n := e.node
		off := src.offset(n.Line, n.Column)
		lineStart := src.lineStart(n.Line)
		p := string(src.data[lineStart:off])
		if strings.TrimSpace(p) != "-" {
			return nil, fmt.Errorf("%w: spec.hosts[%d].ips[%d] is not on its own '- ' line", errLayout, g.index, j)
		}
		prefix = p
		lastEnd = src.lineEnd(n.Line)
		if len(e.keep) == len(e.addrs) {
			continue
		}
		if len(e.keep) == 0 {
			start := lineStart
			if n.HeadComment != "" {
				for l := n.Line - 1; l >= 1 && src.comment(l) && src.indent(l) >= len(p)-len(strings.TrimLeft(p, " ")); l-- {
					start = src.lineStart(l)
				}
			}
			edits = append(edits, edit{start: start, end: lastEnd})
			continue
		}
		end, ok := src.tokenEnd(off, n.Value)
		if !ok {
			return nil, fmt.Errorf("%w: spec.hosts[%d].ips[%d]", errLayout, g.index, j)
		}
		pieces := compressIPs(e.keep, 2)
		edits = append(edits, edit{start: off, end: end, text: formatEntry(pieces[0])})
		var more strings.Builder
		for _, s := range pieces[1:] {
			more.WriteString(prefix + formatEntry(s) + src.nl)
		}
		if more.Len() > 0 {
			edits = append(edits, edit{start: lastEnd, end: lastEnd, text: lineBreakBefore(src, lastEnd) + more.String()})
		}
	}
	if len(g.add) > 0 {
		var more strings.Builder
		for _, a := range g.add {
			more.WriteString(prefix + formatEntry(a.String()) + src.nl)
		}
		edits = append(edits, edit{start: lastEnd, end: lastEnd, text: lineBreakBefore(src, lastEnd) + more.String()})
	}
	return edits, nil
}

// lineBreakBefore is a newline to insert before text added at off when the
// file's last line has none.
func lineBreakBefore(src *source, off int) string {
	if off == len(src.data) && off > 0 && src.data[off-1] != '\n' {
		return src.nl
	}
	return ""
}

// span returns the byte range of the whole group: from its "- " line
// (with the comment lines just above it, when removing) to the last line
// indented under it.
func (g *hostGroupText) span(src *source, withComments bool) (start, end int, err error) {
	first := g.node.Content[0]
	dashLine := first.Line
	dashText := string(src.line(dashLine))
	col := src.offset(dashLine, first.Column) - src.lineStart(dashLine)
	if col > len(dashText) || strings.TrimSpace(dashText[:col]) != "-" {
		return 0, 0, fmt.Errorf("%w: spec.hosts[%d] does not start with '- key:' on one line", errLayout, g.index)
	}
	dashIndent := src.indent(dashLine)
	start = src.lineStart(dashLine)
	if withComments && (g.node.HeadComment != "" || first.HeadComment != "") {
		for l := dashLine - 1; l >= 1 && src.comment(l) && src.indent(l) == dashIndent; l-- {
			start = src.lineStart(l)
		}
	}
	last := dashLine
	for l := dashLine + 1; l <= src.lines(); l++ {
		if src.blank(l) || src.comment(l) {
			continue
		}
		if src.indent(l) <= dashIndent {
			break
		}
		last = l
	}
	// Comment lines indented under the group belong to it.
	for l := last + 1; l <= src.lines() && src.comment(l) && src.indent(l) > dashIndent; l++ {
		last = l
	}
	return start, src.lineEnd(last), nil
}

// appendEdit writes new groups after this group (the last of spec.hosts),
// in the style of this group.
func (g *hostGroupText) appendEdit(src *source) (edit, error) {
	_, end, err := g.span(src, false)
	if err != nil {
		return edit{}, err
	}
	first := g.node.Content[0]
	line := string(src.line(first.Line))
	keyCol := src.offset(first.Line, first.Column) - src.lineStart(first.Line)
	dashPrefix := line[:keyCol]
	keyIndent := strings.Repeat(" ", keyCol)
	itemPrefix := keyIndent + "  - "
	if g.ips.Style&yaml.FlowStyle == 0 && len(g.ips.Content) > 0 {
		e := g.ips.Content[0]
		itemPrefix = string(src.data[src.lineStart(e.Line):src.offset(e.Line, e.Column)])
	}
	// Brackets padded like the group's own: [ a ] or [a].
	open, closing := "[", "]"
	if g.ips.Style&yaml.FlowStyle != 0 && strings.HasPrefix(string(src.data[src.offset(g.ips.Line, g.ips.Column):]), "[ ") {
		open, closing = "[ ", " ]"
	}
	var b strings.Builder
	b.WriteString(lineBreakBefore(src, end))
	for _, ng := range g.appendGroups {
		entries := make([]string, len(ng.addrs))
		for i, a := range ng.addrs {
			entries[i] = formatEntry(a.String())
		}
		if g.ips.Style&yaml.FlowStyle != 0 {
			b.WriteString(dashPrefix + "ips: " + open + strings.Join(entries, ", ") + closing + src.nl)
		} else {
			b.WriteString(dashPrefix + "ips:" + src.nl)
			for _, e := range entries {
				b.WriteString(itemPrefix + e + src.nl)
			}
		}
		b.WriteString(keyIndent + "roles: " + open + ng.role + closing + src.nl)
	}
	return edit{start: end, end: end, text: b.String()}, nil
}
