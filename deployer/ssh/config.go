package ssh

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Config says how to reach and log in to one host.
type Config struct {
	Host string // address or name
	Port int    // 22 when 0
	User string // root when empty; other users run commands through sudo

	// Password logs in, and answers sudo unless SudoPassword is set.
	Password string
	// PrivateKey (PEM) or PrivateKeyFile logs in by key; Passphrase
	// decrypts an encrypted key.
	PrivateKey     []byte
	PrivateKeyFile string
	Passphrase     string
	// AgentSocket is an ssh-agent's socket (SSH_AUTH_SOCK) whose keys are
	// offered too.
	AgentSocket string
	// SudoPassword is the sudo password when it differs from Password or
	// when login is by key. With neither, sudo must not ask (sudo -n).
	SudoPassword string

	// Bastion is a jump host the connection goes through.
	Bastion *Config
}

func (c Config) port() int {
	if c.Port == 0 {
		return 22
	}
	return c.Port
}

func (c Config) user() string {
	if c.User == "" {
		return "root"
	}
	return c.User
}

// addr is "host:port" as dialed (and as known_hosts names it).
func (c Config) addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.port())) }

func (c Config) sudoPassword() string {
	if c.SudoPassword != "" {
		return c.SudoPassword
	}
	return c.Password
}

func (c Config) sudoMode() sudoMode {
	switch {
	case c.user() == "root":
		return noSudo
	case c.sudoPassword() != "":
		return sudoPassword
	}
	return sudoNoPrompt
}

func (c Config) validate() error {
	if strings.TrimSpace(c.Host) == "" {
		return errors.New("no host address")
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("port %d out of range", c.Port)
	}
	if c.Password == "" && len(c.PrivateKey) == 0 && c.PrivateKeyFile == "" && c.AgentSocket == "" {
		return fmt.Errorf("no way to log in as %s: give a password, a private key or an ssh-agent (SSH_AUTH_SOCK)", c.user())
	}
	return nil
}

// authMethods builds the login methods: keys first, then the password
// (also through keyboard-interactive, which some servers use for it).
// The returned closer releases the agent connection after the handshake.
func (c Config) authMethods() ([]gossh.AuthMethod, func(), []string, error) {
	var methods []gossh.AuthMethod
	var names []string
	closer := func() {}
	var signers []gossh.Signer
	if len(c.PrivateKey) > 0 || c.PrivateKeyFile != "" {
		s, err := c.signer()
		if err != nil {
			return nil, closer, nil, err
		}
		signers = append(signers, s)
		names = append(names, "key")
	}
	if len(signers) > 0 {
		methods = append(methods, gossh.PublicKeys(signers...))
	}
	if c.AgentSocket != "" {
		conn, err := net.Dial("unix", c.AgentSocket)
		if err != nil {
			return nil, closer, nil, fmt.Errorf("ssh-agent at %s: %w", c.AgentSocket, err)
		}
		closer = func() { conn.Close() }
		methods = append(methods, gossh.PublicKeysCallback(agent.NewClient(conn).Signers))
		names = append(names, "ssh-agent")
	}
	if c.Password != "" {
		pw := c.Password
		methods = append(methods, gossh.Password(pw),
			gossh.KeyboardInteractive(func(_, _ string, questions []string, echos []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range questions {
					if !echos[i] {
						answers[i] = pw
					}
				}
				return answers, nil
			}))
		names = append(names, "password")
	}
	return methods, closer, names, nil
}

func (c Config) signer() (gossh.Signer, error) {
	pem, what := c.PrivateKey, "private key"
	if len(pem) == 0 {
		var err error
		what = "private key " + c.PrivateKeyFile
		pem, err = os.ReadFile(c.PrivateKeyFile)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", what, err)
		}
	}
	s, err := gossh.ParsePrivateKey(pem)
	var missing *gossh.PassphraseMissingError
	switch {
	case err == nil:
		return s, nil
	case !errors.As(err, &missing):
		return nil, fmt.Errorf("%s: %w", what, err)
	case c.Passphrase == "":
		return nil, fmt.Errorf("%s is encrypted: give its passphrase (pkPasswd)", what)
	}
	s, err = gossh.ParsePrivateKeyWithPassphrase(pem, []byte(c.Passphrase))
	if err != nil {
		return nil, fmt.Errorf("%s: cannot decrypt with the passphrase given: %w", what, err)
	}
	return s, nil
}
