package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sealpack/sealpack/deployer/clusterfile"
)

// hostRow is one machine. Rows keep masters before nodes, in the order
// added: the first master is master0, where kubeadm init runs.
type hostRow struct {
	ip     string
	master bool
	group  int // index of its group in the Clusterfile given with -f, or -1
}

// hostsScreen lists the machines and adds, edits and deletes them.
type hostsScreen struct {
	e         *env
	rows      []hostRow
	input     textinput.Model
	addMaster bool // the role of what the input adds
	inList    bool // the list has the focus, not the input
	sel       int  // selected row when inList
	editing   int  // row being edited in the input, or -1
	err       string
}

func newHostsScreen(e *env, initial *clusterfile.Cluster) *hostsScreen {
	h := &hostsScreen{e: e, editing: -1}
	if initial != nil {
		for gi, g := range initial.Groups {
			master := slices.Contains(g.Roles, clusterfile.RoleMaster)
			for _, ip := range g.IPs {
				h.insert(hostRow{ip: ip, master: master, group: gi})
			}
		}
	}
	h.addMaster = h.masters() == 0
	h.input = newInput(e.st, "", "(e.g. 10.0.0.11 or 10.0.0.21-10.0.0.29)", false)
	h.input.Focus()
	return h
}

// enter is called when the screen is shown; edit names a row to fix (from
// the preflight screen).
func (h *hostsScreen) enter(edit string) tea.Cmd {
	h.err = ""
	for i, r := range h.rows {
		if edit != "" && r.ip == edit {
			h.startEdit(i)
			return nil
		}
	}
	h.focusInput()
	return nil
}

func (h *hostsScreen) masters() int {
	n := 0
	for _, r := range h.rows {
		if r.master {
			n++
		}
	}
	return n
}

// insert keeps masters first.
func (h *hostsScreen) insert(r hostRow) int {
	if !r.master {
		h.rows = append(h.rows, r)
		return len(h.rows) - 1
	}
	i := h.masters()
	h.rows = slices.Insert(h.rows, i, r)
	return i
}

func (h *hostsScreen) find(ip string) int {
	for i, r := range h.rows {
		if r.ip == ip {
			return i
		}
	}
	return -1
}

func (h *hostsScreen) focusInput() {
	h.inList = false
	h.input.Focus()
}

func (h *hostsScreen) startEdit(i int) {
	h.editing = i
	h.sel = i
	h.input.SetValue(h.rows[i].ip)
	h.input.CursorEnd()
	h.focusInput()
}

func (h *hostsScreen) update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	if h.inList {
		return h.listKey(km)
	}
	return h.inputKey(km)
}

func (h *hostsScreen) inputKey(msg tea.KeyMsg) tea.Cmd {
	k := h.e.keys
	switch {
	case key.Matches(msg, k.Next):
		if strings.TrimSpace(h.input.Value()) == "" {
			if h.editing >= 0 {
				h.err = "type the new address, or press esc to keep it"
				return nil
			}
			return h.next()
		}
		h.submit()
		return nil
	case key.Matches(msg, k.Tab), key.Matches(msg, k.BackTab):
		h.addMaster = !h.addMaster
		return nil
	case key.Matches(msg, k.Up):
		if len(h.rows) > 0 && h.editing < 0 {
			h.inList, h.err = true, ""
			h.sel = len(h.rows) - 1
			h.input.Blur()
		}
		return nil
	case key.Matches(msg, k.Back):
		if h.editing >= 0 {
			h.editing = -1
			h.err = ""
			h.input.SetValue("")
			return nil
		}
		return goTo(stateWelcome)
	}
	h.err = ""
	var cmd tea.Cmd
	h.input, cmd = h.input.Update(msg)
	return cmd
}

func (h *hostsScreen) listKey(msg tea.KeyMsg) tea.Cmd {
	k := h.e.keys
	switch {
	case key.Matches(msg, k.Up):
		h.sel = max(h.sel-1, 0)
	case key.Matches(msg, k.Down):
		if h.sel++; h.sel >= len(h.rows) {
			h.focusInput()
		}
	case key.Matches(msg, k.Edit):
		h.startEdit(h.sel)
	case key.Matches(msg, k.Delete):
		h.rows = slices.Delete(h.rows, h.sel, h.sel+1)
		if len(h.rows) == 0 {
			h.focusInput()
		}
		h.sel = min(h.sel, len(h.rows)-1)
	case key.Matches(msg, k.Role):
		r := h.rows[h.sel]
		h.rows = slices.Delete(h.rows, h.sel, h.sel+1)
		r.master = !r.master
		h.sel = h.insert(r)
	case key.Matches(msg, k.Back), key.Matches(msg, k.Tab):
		h.focusInput()
	case msg.Type == tea.KeyRunes && len(msg.Runes) > 0 && (isDigits(string(msg.Runes)) || msg.Runes[0] == ':'):
		// Typing an address while on the list goes to the input.
		h.focusInput()
		return h.inputKey(msg)
	}
	return nil
}

// submit adds what the input holds, or replaces the row being edited. A
// bad address or a duplicate refuses the whole line, so nothing is half
// added and the user fixes the text in place.
func (h *hostsScreen) submit() {
	ips, err := parseIPList(h.input.Value())
	if err != nil {
		h.err = err.Error()
		return
	}
	if h.editing >= 0 {
		if len(ips) != 1 {
			h.err = "an edited row takes one address"
			return
		}
		if j := h.find(ips[0]); j >= 0 && j != h.editing {
			h.err = fmt.Sprintf("%s is already in the list (row %d)", ips[0], j+1)
			return
		}
		h.rows[h.editing].ip = ips[0]
		h.sel = h.editing
		h.editing = -1
		h.input.SetValue("")
		return
	}
	for _, ip := range ips {
		if j := h.find(ip); j >= 0 {
			h.err = fmt.Sprintf("%s is already in the list (row %d, %s)", ip, j+1, h.roleName(j))
			return
		}
	}
	for _, ip := range ips {
		h.sel = h.insert(hostRow{ip: ip, master: h.addMaster, group: -1})
	}
	// After the first master, what comes next is usually nodes.
	if h.addMaster && len(ips) == 1 && h.masters() == 1 {
		h.addMaster = false
	}
	h.input.SetValue("")
}

func (h *hostsScreen) next() tea.Cmd {
	if h.masters() == 0 {
		h.err = "add at least one master (tab switches between master and node)"
		return nil
	}
	return goTo(stateSSH)
}

func (h *hostsScreen) roleName(i int) string {
	switch {
	case i == 0 && h.rows[i].master:
		return "master0"
	case h.rows[i].master:
		return "master"
	}
	return "node"
}

func (h *hostsScreen) title() (string, string) { return "Machines", "" }

func (h *hostsScreen) help() []helpItem {
	k := h.e.keys
	if h.inList {
		return []helpItem{{"↑/↓", "select"}, hk(k.Edit, "edit"), hk(k.Delete, "delete"), hk(k.Role, "master/node"), hk(k.Back, "add more"), hk(k.Quit, "quit")}
	}
	if h.editing >= 0 {
		return []helpItem{{"enter", "save"}, hk(k.Back, "cancel"), hk(k.Quit, "quit")}
	}
	items := []helpItem{{"enter", "add"}, {"tab", "master/node"}}
	if len(h.rows) > 0 {
		items = []helpItem{{"enter", "add/next"}, {"tab", "master/node"}, {"↑", "rows"}}
	}
	return append(items, hk(k.Back, "back"), hk(k.Quit, "quit"))
}

func (h *hostsScreen) view(width, height int) string {
	st := h.e.st
	var b strings.Builder
	b.WriteString("\n Add the machines by IP address: one, a list (10.0.0.11,10.0.0.12) or a\n")
	b.WriteString(" range (10.0.0.21-10.0.0.29). Masters run Kubernetes itself, nodes the apps.\n\n")
	const fixed = 9 // the lines around the list
	listH := max(height-fixed, 3)
	if len(h.rows) == 0 {
		b.WriteString(st.dim.Render("     no machines yet") + "\n")
	} else {
		b.WriteString(st.dim.Render("      #  role     address") + "\n")
		if listH--; len(h.rows) > listH {
			listH-- // room for the "more" line
		}
		sel := h.sel
		if !h.inList {
			sel = len(h.rows) - 1
			if h.editing >= 0 {
				sel = h.editing
			}
		}
		start := window(sel, len(h.rows), listH)
		end := min(start+listH, len(h.rows))
		for i := start; i < end; i++ {
			mark, style := "   ", st.label
			if h.inList && i == h.sel {
				mark, style = " "+symCursor+" ", st.selected
			}
			if i == h.editing {
				mark = " " + symCursor + " "
			}
			line := fmt.Sprintf("%s%3d  %-8s %s", mark, i+1, h.roleName(i), h.rows[i].ip)
			if i == h.editing {
				line += st.dim.Render("  (editing)")
			}
			b.WriteString(" " + style.Render(line) + "\n")
		}
		if hidden := len(h.rows) - (end - start); hidden > 0 {
			b.WriteString(st.dim.Render(fmt.Sprintf("     … %d more (↑/↓ to scroll)", hidden)) + "\n")
		}
	}
	b.WriteString("\n")
	label := "Add node   "
	switch {
	case h.editing >= 0:
		label = "Edit row " + fmt.Sprint(h.editing+1)
	case h.addMaster:
		label = "Add master "
	}
	ls := st.label
	if !h.inList {
		ls = st.focused
	}
	h.input.Width = max(width-len(label)-8, 10)
	b.WriteString(" " + ls.Render(label+" "+symCursor) + " " + h.input.View() + "\n")
	if h.err != "" {
		b.WriteString(" " + st.fail.Render(symFail+" "+h.err) + "\n")
	} else {
		b.WriteString("\n")
	}
	b.WriteString(" " + st.dim.Render(h.summaryLine()) + "\n")
	return b.String()
}

func (h *hostsScreen) summaryLine() string {
	m := h.masters()
	s := plural(m, "master", "masters") + ", " + plural(len(h.rows)-m, "node", "nodes")
	switch {
	case m == 2:
		s += " · 2 masters survive no more failures than 1: use 1, 3 or 5"
	case m > 0 && m%2 == 0:
		s += " · an odd number of masters keeps etcd's quorum"
	case m == 0:
		s += " · the first master becomes master0"
	default:
		s += " · enter on an empty line goes on"
	}
	return s
}
