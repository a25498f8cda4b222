package tui

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sealpack/sealpack/deployer/clusterfile"
)

// authMethod is how the wizard logs in to the hosts.
type authMethod int

const (
	authPassword authMethod = iota
	authKey
	authAgent
)

var authNames = []string{"password", "key file", "ssh-agent"}

// The SSH form's fields, in screen order.
const (
	fUser = iota
	fAuth // a choice, not a text input
	fPassword
	fKey
	fPassphrase
	fPort
	fSudo
	fBastion
	fBastionUser
	fBastionPort
	fieldCount
)

// sshValues is what the SSH screen gathered.
type sshValues struct {
	user, passwd, pk, pkPasswd, sudo string
	method                           authMethod
	port                             int
	bastion, bastionUser             string
	bastionPort                      int
}

// sshScreen asks how to log in to the hosts.
type sshScreen struct {
	e      *env
	fields [fieldCount]field
	method authMethod
	focus  int
}

func newSSHScreen(e *env, initial *clusterfile.Cluster) *sshScreen {
	var s clusterfile.SSH
	if initial != nil {
		s = initial.SSH
	}
	user := s.User
	if user == "" {
		user = clusterfile.DefaultSSHUser
	}
	port := clusterfile.DefaultSSHPort
	if s.Port != 0 {
		port = s.Port
	}
	sc := &sshScreen{e: e}
	// A Clusterfile the wizard saved has no password: asking for it again
	// is the likely need, so only a key file changes the default.
	if s.PK != "" {
		sc.method = authKey
	}
	var b clusterfile.Bastion
	if s.Bastion != nil {
		b = *s.Bastion
	}
	bport := ""
	if b.Port != 0 {
		bport = strconv.Itoa(b.Port)
	}
	st := e.st
	mk := func(label, hint, value, placeholder string, masked bool) field {
		return field{label: label, hint: hint, in: newInput(st, value, placeholder, masked)}
	}
	sc.fields = [fieldCount]field{
		fUser:        mk("User", "the login on every host; another user than root runs commands through sudo", user, "(root)", false),
		fAuth:        mk("Log in with", "←/→ chooses: a password, a private key file, or the keys of a running ssh-agent", "", "", false),
		fPassword:    mk("Password", "kept in memory for this run only, never written to a file", s.Passwd, "", true),
		fKey:         mk("Key file", "a private key on this computer, e.g. ~/.ssh/id_ed25519", s.PK, "(path, e.g. ~/.ssh/id_ed25519)", false),
		fPassphrase:  mk("Passphrase", "only for a key protected by a passphrase", s.PKPasswd, "(none)", true),
		fPort:        mk("Port", "the SSH port of the hosts", strconv.Itoa(port), "(22)", false),
		fSudo:        mk("Sudo password", "only when sudo asks for a password other than the login's", s.SudoPasswd, "(same as the login's)", true),
		fBastion:     mk("Bastion host", "a jump host that reaches the cluster's hosts; empty for none", b.Host, "(none)", false),
		fBastionUser: mk("Bastion user", "the login on the bastion (it uses the same password or key)", b.User, "(same as User)", false),
		fBastionPort: mk("Bastion port", "the bastion's SSH port", bport, "(22)", false),
	}
	sc.fields[fUser].in.Focus()
	return sc
}

func (s *sshScreen) enter() tea.Cmd {
	s.setFocus(s.focus)
	return nil
}

// visible reports whether field i is shown for the current choices.
func (s *sshScreen) visible(i int) bool {
	switch i {
	case fPassword:
		return s.method == authPassword
	case fKey, fPassphrase:
		return s.method == authKey
	case fSudo:
		return strings.TrimSpace(s.fields[fUser].in.Value()) != "root"
	case fBastionUser, fBastionPort:
		return strings.TrimSpace(s.fields[fBastion].in.Value()) != ""
	}
	return true
}

func (s *sshScreen) setFocus(i int) {
	s.fields[s.focus].in.Blur()
	s.focus = i
	s.fields[i].in.Focus()
}

// move goes to the next (or previous) visible field; it reports false at
// either end.
func (s *sshScreen) move(step int) bool {
	for i := s.focus + step; i >= 0 && i < fieldCount; i += step {
		if s.visible(i) {
			s.setFocus(i)
			return true
		}
	}
	return false
}

func (s *sshScreen) update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	k := s.e.keys
	switch {
	case key.Matches(km, k.Back):
		return goTo(stateHosts)
	case key.Matches(km, k.Next):
		if !s.move(1) {
			return s.submit()
		}
		return nil
	case key.Matches(km, k.Tab), key.Matches(km, k.Down):
		s.move(1)
		return nil
	case key.Matches(km, k.BackTab), key.Matches(km, k.Up):
		s.move(-1)
		return nil
	}
	if s.focus == fAuth {
		switch {
		case key.Matches(km, k.Left):
			s.method = (s.method + 2) % 3
		case key.Matches(km, k.Right), km.String() == " ":
			s.method = (s.method + 1) % 3
		}
		return nil
	}
	s.fields[s.focus].err = ""
	return s.fields[s.focus].update(km)
}

// submit checks every visible field; the first bad one takes the focus.
func (s *sshScreen) submit() tea.Cmd {
	first := -1
	for i := range s.fields {
		s.fields[i].err = ""
		if !s.visible(i) {
			continue
		}
		if err := s.validate(i); err != "" {
			s.fields[i].err = err
			if first < 0 {
				first = i
			}
		}
	}
	if first >= 0 {
		s.setFocus(first)
		return nil
	}
	return goTo(statePreflight)
}

func (s *sshScreen) validate(i int) string {
	v := strings.TrimSpace(s.fields[i].in.Value())
	switch i {
	case fUser:
		if v == "" || strings.ContainsAny(v, " \t@:") {
			return "type a user name, such as root"
		}
	case fPassword:
		if s.fields[i].in.Value() == "" {
			return "type the password, or choose another way to log in"
		}
	case fKey:
		if v == "" {
			return "type the path of a private key file"
		}
		fi, err := os.Stat(expandHome(v))
		if err != nil {
			return fmt.Sprintf("cannot read %s: %v", v, errText(err))
		}
		if fi.IsDir() {
			return v + " is a directory, not a key file"
		}
	case fPort, fBastionPort:
		if v == "" && i == fBastionPort {
			return ""
		}
		if p, err := strconv.Atoi(v); err != nil || p < 1 || p > 65535 {
			return "a port is a number from 1 to 65535"
		}
	case fBastion:
		if strings.ContainsAny(v, " \t/") {
			return "type the bastion's address or host name"
		}
	case fBastionUser:
		if strings.ContainsAny(v, " \t@:") {
			return "type a user name"
		}
	}
	return ""
}

// errText drops the "stat PATH:" prefix the path already says.
func errText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, strings.TrimPrefix(p, "~"))
		}
	}
	return p
}

func (s *sshScreen) values() sshValues {
	v := func(i int) string { return strings.TrimSpace(s.fields[i].in.Value()) }
	out := sshValues{user: v(fUser), method: s.method, bastion: v(fBastion)}
	out.port, _ = strconv.Atoi(v(fPort))
	switch s.method {
	case authPassword:
		out.passwd = s.fields[fPassword].in.Value()
	case authKey:
		out.pk = expandHome(v(fKey))
		out.pkPasswd = s.fields[fPassphrase].in.Value()
	}
	if s.visible(fSudo) {
		out.sudo = s.fields[fSudo].in.Value()
	}
	if out.bastion != "" {
		out.bastionUser = v(fBastionUser)
		if out.bastionUser == "" {
			out.bastionUser = out.user
		}
		out.bastionPort, _ = strconv.Atoi(v(fBastionPort))
	}
	return out
}

func (s *sshScreen) title() (string, string) { return "SSH login", "" }

func (s *sshScreen) help() []helpItem {
	k := s.e.keys
	items := []helpItem{{"enter", "next"}, {"↑/↓ tab", "move"}}
	if s.focus == fAuth {
		items = append(items, helpItem{"←/→", "choose"})
	}
	return append(items, hk(k.Back, "back"), hk(k.Quit, "quit"))
}

func (s *sshScreen) view(width, height int) string {
	st := s.e.st
	s.sudoTexts()
	var b strings.Builder
	b.WriteString("\n How this computer logs in to the machines (the same for all of them).\n\n")
	const labelW = 15
	for i := range s.fields {
		if !s.visible(i) {
			continue
		}
		f := &s.fields[i]
		mark, ls := "   ", st.label
		if i == s.focus {
			mark, ls = " "+symCursor+" ", st.focused
		}
		var value string
		if i == fAuth {
			value = s.choiceView(i == s.focus)
		} else {
			f.in.Width = max(width-labelW-8, 10)
			value = f.in.View()
		}
		b.WriteString(mark + ls.Render(pad(f.label, labelW)) + " " + value + "\n")
		if f.err != "" {
			b.WriteString(styleLines(st.fail, wrap(symFail+" "+f.err, width, pad("", labelW+4))))
		}
	}
	b.WriteString("\n " + st.dim.Render(s.fields[s.focus].hint) + "\n\n")
	v := s.values()
	vars := secretVars(clusterfile.SSH{Passwd: v.passwd, PKPasswd: v.pkPasswd, SudoPasswd: v.sudo})
	if s.method == authPassword && v.passwd == "" {
		vars = append([]string{clusterfile.PasswordEnv}, vars...) // not typed yet
	}
	if len(vars) == 0 {
		b.WriteString(" Passwords stay in this program's memory: the Clusterfile it saves has none.\n")
	} else {
		b.WriteString(" Passwords stay in this program's memory: the Clusterfile it saves has none,\n")
		b.WriteString(" and a re-run reads " + strings.Join(vars, " and ") + " or asks again.\n")
	}
	return b.String()
}

// sudoTexts fit the sudo password's placeholder and hint to the login: with
// a password, sudo is answered with it unless another is given; with a key
// or an agent there is no login password to fall back on.
func (s *sshScreen) sudoTexts() {
	f := &s.fields[fSudo]
	if s.method == authPassword {
		f.in.Placeholder, f.hint = "(same as the login's)", "only when sudo asks for a password other than the login's"
		return
	}
	f.in.Placeholder, f.hint = "(none)", "the password sudo asks for on the hosts; empty when sudo asks for none (NOPASSWD)"
}

func (s *sshScreen) choiceView(focused bool) string {
	st := s.e.st
	parts := make([]string, len(authNames))
	for i, n := range authNames {
		if authMethod(i) == s.method {
			if focused {
				parts[i] = st.cursor.Render("(•) " + n)
			} else {
				parts[i] = st.selected.Render("(•) " + n)
			}
		} else {
			parts[i] = st.dim.Render("( ) " + n)
		}
	}
	return strings.Join(parts, "  ")
}
