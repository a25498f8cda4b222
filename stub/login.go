package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/ssh"
	"github.com/sealpack/sealpack/internal/progress"
)

// loginPrompter reads a password without echo; tests replace it.
type loginPrompter func(prompt string) (string, error)

// askLogin fills the passwords that neither the Clusterfile nor the
// environment gives, as the wizard asks for them: the login password of
// hosts that have no key and no ssh-agent to log in with, and the sudo
// password of a user other than root who logs in without a password
// (empty when sudo asks for none). It asks only on a terminal; without one,
// a missing login is an error that names the variables.
func askLogin(c *clusterfile.Cluster, path string, ask loginPrompter) error {
	var noLogin, noSudo []string
	user := ""
	for _, h := range c.Hosts() {
		switch {
		case h.SSH.Passwd == "" && h.SSH.PK == "" && os.Getenv("SSH_AUTH_SOCK") == "":
			noLogin = append(noLogin, h.IP)
			user = h.SSH.User
		case h.SSH.User != "root" && h.SSH.Passwd == "" && h.SSH.SudoPasswd == "":
			noSudo = append(noSudo, h.IP)
			user = h.SSH.User
		}
	}
	if ask == nil {
		if len(noLogin) > 0 {
			return fmt.Errorf("no way to log in to %s as %s: %s holds no password (spec.ssh.passwd) or key (spec.ssh.pk), and no ssh-agent runs (SSH_AUTH_SOCK).\n"+
				"Set %s (and %s if sudo asks for another one), or run this on a terminal to be asked",
				strings.Join(noLogin, ", "), user, path, clusterfile.PasswordEnv, clusterfile.SudoPasswordEnv)
		}
		return nil // sudo may ask for nothing (NOPASSWD): see sudoAdvice
	}
	if len(noLogin) > 0 {
		pw, err := ask(fmt.Sprintf("Password of %s on %s (%s): ", user, strings.Join(noLogin, ", "), clusterfile.PasswordEnv))
		if err != nil {
			return err
		}
		if pw == "" {
			return fmt.Errorf("no password given: nothing was done")
		}
		c.SSH.Passwd = pw // the hosts without one of their own take it; sudo too
		return nil
	}
	if len(noSudo) > 0 {
		pw, err := ask(fmt.Sprintf("Sudo password of %s on %s (%s; empty if sudo asks for none): ", user, strings.Join(noSudo, ", "), clusterfile.SudoPasswordEnv))
		if err != nil {
			return err
		}
		c.SSH.SudoPasswd = pw
	}
	return nil
}

// terminalPrompter asks on the terminal, or is nil when stdin is none.
func terminalPrompter(stderr io.Writer) loginPrompter {
	if !progress.IsTerminal(os.Stdin) {
		return nil
	}
	return func(prompt string) (string, error) {
		fmt.Fprint(stderr, prompt)
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		return string(b), nil
	}
}

// sudoAdvice adds to an error that sudo refused for want of a password
// where the password goes (seen: "sudo: a password is required" with a key
// login, and nothing more).
func sudoAdvice(err error) error {
	var re *ssh.RunError
	if err == nil || !errors.As(err, &re) || re.Cmd != "sudo" || !strings.Contains(re.Stderr, "password is required") {
		return err
	}
	return fmt.Errorf("%w\n\nsudo on the hosts asks for a password: set %s (or spec.ssh.sudoPasswd in the Clusterfile), or run this on a terminal to be asked",
		err, clusterfile.SudoPasswordEnv)
}
