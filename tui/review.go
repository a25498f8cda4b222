package tui

import (
	"fmt"
	"os"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/sealpack/sealpack/deployer/clusterfile"
)

// reviewScreen shows the Clusterfile the install will use, secrets masked,
// and where it will be saved.
type reviewScreen struct {
	e       *env
	c       *clusterfile.Cluster
	doc     viewport.Model
	text    string
	exists  bool  // SavePath holds a file that saving replaces
	err     error // the Clusterfile could not be rendered
	saveErr error
}

func newReviewScreen(e *env, c *clusterfile.Cluster) *reviewScreen {
	r := &reviewScreen{e: e, c: c, doc: viewport.New(76, 10)}
	r.doc.KeyMap = viewportKeys(e.keys)
	text, err := redactedYAML(c)
	if err != nil {
		r.err = err
	}
	r.text = strings.TrimRight(text, "\n")
	r.doc.Width = 0 // set with the first frame
	if _, err := os.Stat(e.opts.SavePath); err == nil {
		r.exists = true
	}
	return r
}

func (r *reviewScreen) update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	k := r.e.keys
	switch {
	case key.Matches(km, k.Next):
		if r.err == nil {
			r.saveErr = nil
			return goTo(stateInstall)
		}
	case key.Matches(km, k.Back):
		return goTo(statePreflight)
	}
	var cmd tea.Cmd
	r.doc, cmd = r.doc.Update(km)
	return cmd
}

func (r *reviewScreen) title() (string, string) { return "Review", "" }

func (r *reviewScreen) help() []helpItem {
	k := r.e.keys
	var items []helpItem
	if r.err == nil {
		items = append(items, helpItem{"enter", "save and install"})
	}
	return append(items, helpItem{"↑/↓ pgup/pgdn", "scroll"}, hk(k.Back, "back"), hk(k.Quit, "quit"))
}

func (r *reviewScreen) view(width, height int) string {
	st := r.e.st
	var b strings.Builder
	hosts := r.c.Hosts()
	masters := len(r.c.Masters())
	fmt.Fprintf(&b, "\n Install %s on %s (%s, %s).\n", st.brand.Render(productName(r.e.opts.Info)),
		plural(len(hosts), "host", "hosts"), plural(masters, "master", "masters"), plural(len(hosts)-masters, "node", "nodes"))
	save := " This Clusterfile is saved to " + st.selected.Render(r.e.opts.SavePath)
	if r.exists {
		save += " (replacing the file there)"
	}
	b.WriteString(save + ";\n passwords are masked here and left out of the file.\n")
	tail := 2
	if src := r.e.opts.InitialPath; src != "" && src != r.e.opts.SavePath {
		b.WriteString(" " + src + " stays as you wrote it.\n")
		tail++
	}
	if r.err != nil || r.saveErr != nil {
		tail++
	}
	if w := max(width-4, 10); w != r.doc.Width {
		// Long lines wrap rather than hide their end.
		r.doc.Width = w
		r.doc.SetContent(wrapYAML(r.text, w))
	}
	r.doc.Height = max(height-5-tail, 3)
	b.WriteString(" " + st.ruleWith("Clusterfile", width-2) + "\n")
	for _, l := range strings.Split(r.doc.View(), "\n") {
		b.WriteString("   " + l + "\n")
	}
	more := ""
	if total := r.doc.TotalLineCount(); total > r.doc.Height {
		first := r.doc.YOffset + 1
		more = fmt.Sprintf("lines %d-%d of %d", first, min(first+r.doc.Height-1, total), total)
	}
	b.WriteString(" " + st.ruleWith(more, width-2) + "\n")
	switch {
	case r.err != nil:
		b.WriteString(" " + st.fail.Render(symFail+" "+r.err.Error()) + "\n")
	case r.saveErr != nil:
		b.WriteString(" " + st.fail.Render(symFail+" "+r.saveErr.Error()) + "\n")
	}
	b.WriteString(" Enter saves it and starts the install; no host was changed so far.\n")
	return b.String()
}

// wrapYAML wraps long lines of a YAML text so that they still read as YAML:
// a comment continues as a comment, a value under its key's indentation.
func wrapYAML(text string, width int) string {
	var b strings.Builder
	for i, line := range strings.Split(text, "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		if ansi.StringWidth(line) <= width {
			b.WriteString(line)
			continue
		}
		body := strings.TrimLeft(line, " ")
		prefix := line[:len(line)-len(body)]
		cont := prefix + "  "
		if strings.HasPrefix(body, "#") {
			cont = prefix + "# "
		}
		parts := strings.Split(ansi.Wrap(line, width, " "), "\n")
		b.WriteString(parts[0])
		rest := strings.Join(parts[1:], " ")
		for _, l := range strings.Split(ansi.Wrap(rest, max(width-len(cont), 10), " "), "\n") {
			b.WriteString("\n" + cont + l)
		}
	}
	return b.String()
}
