package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sealpack/sealpack/internal/signature"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func newKeygenCmd() *cobra.Command {
	var (
		name   string
		typ    string
		noPass bool
	)
	types := make([]string, len(signature.KeyTypes))
	for i, t := range signature.KeyTypes {
		types[i] = string(t)
	}
	cmd := &cobra.Command{
		Use:   "keygen [-o NAME] [--type " + strings.Join(types, "|") + "] [--no-passphrase]",
		Short: "Make a key pair to sign installers with: NAME.key (private) and NAME.pub (to publish)",
		Long: `keygen writes NAME.key, the private key that build --sign-key and sign use,
encrypted with a passphrase (asked twice on the terminal, or taken from
` + signature.PassphraseEnv + `), and NAME.pub, the public key that sites check
installers with (verify --key NAME.pub, --require-signature NAME.pub).

The private key is cosign's format ("ENCRYPTED SIGSTORE PRIVATE KEY": PKCS#8,
scrypt and NaCl secretbox), so cosign reads it too; the public key is PKIX
PEM, as openssl writes it. NAME is also the signer's name that installers show
(build --signer changes it).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var pass []byte
			if !noPass {
				var err error
				if pass, err = passphrase(cmd, "Passphrase for the new key "+name+".key", true); err != nil {
					return err
				}
			}
			k, err := signature.Generate(signature.KeyType(typ))
			if err != nil {
				return err
			}
			priv, err := signature.MarshalPrivateKey(k, pass)
			if err != nil {
				return err
			}
			if err := writeNew(name+".key", priv, 0o600); err != nil {
				return err
			}
			if err := writeNew(name+".pub", signature.MarshalPublicKey(k.Public()), 0o644); err != nil {
				os.Remove(name + ".key")
				return err
			}
			state := "encrypted"
			if noPass {
				state = "NOT encrypted"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s.key: %s private key, %s: keep it secret, sign with it (build --sign-key %s.key)\n"+
				"%s.pub: its public key: publish it to the sites (verify --key %s.pub)\nkey id %s\n",
				name, k.Public().Type(), state, name, name, name, k.Public().ID())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&name, "output", "o", "vendor", "NAME of the pair: writes NAME.key and NAME.pub; the signer's name installers show")
	f.StringVar(&typ, "type", string(signature.Ed25519), "key type: "+strings.Join(types, " or "))
	f.BoolVar(&noPass, "no-passphrase", false, "write the private key unencrypted (for keys kept in a secret store)")
	return cmd
}

// writeNew writes a file that must not exist yet: a key overwritten is a
// key lost.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists: keygen does not overwrite a key (choose another -o NAME)", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// passphrase is the passphrase of a signing key: SEALPACK_SIGN_PASSPHRASE,
// else asked on the terminal without echo (twice, for a new key). It is
// never printed or logged.
func passphrase(cmd *cobra.Command, prompt string, confirm bool) ([]byte, error) {
	if p := os.Getenv(signature.PassphraseEnv); p != "" {
		return []byte(p), nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		hint := ""
		if confirm {
			hint = ", or give --no-passphrase for an unencrypted key"
		}
		return nil, fmt.Errorf("no terminal to ask for the passphrase on: set %s%s", signature.PassphraseEnv, hint)
	}
	ask := func(p string) ([]byte, error) {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s: ", p)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(cmd.ErrOrStderr())
		return b, err
	}
	p, err := ask(prompt)
	if err != nil {
		return nil, err
	}
	if !confirm {
		return p, nil
	}
	if len(p) == 0 {
		return nil, errors.New("an empty passphrase: give --no-passphrase for an unencrypted key")
	}
	again, err := ask("The same again")
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(p, again) {
		return nil, errors.New("the two passphrases differ; nothing was written")
	}
	return p, nil
}
