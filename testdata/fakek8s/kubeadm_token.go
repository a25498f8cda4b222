package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"os"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

const tokenChars = "0123456789abcdefghijklmnopqrstuvwxyz"

var regexpTokenID = regexp.MustCompile(`^[a-z0-9]{6}$`)

func randomString(n int) (string, error) {
	b := make([]byte, n)
	for i := range b {
		x, err := rand.Int(rand.Reader, big.NewInt(int64(len(tokenChars))))
		if err != nil {
			return "", err
		}
		b[i] = tokenChars[x.Int64()]
	}
	return string(b), nil
}

// newBootstrapToken makes a token of kubeadm's form [a-z0-9]{6}.[a-z0-9]{16}.
func newBootstrapToken() (string, error) {
	id, err := randomString(6)
	if err != nil {
		return "", err
	}
	secret, err := randomString(16)
	if err != nil {
		return "", err
	}
	return id + "." + secret, nil
}

// createToken stores a bootstrap token Secret; ttl 0 never expires.
func createToken(ctx context.Context, c *apiClient, token string, ttl time.Duration, description string, usages, groups []string) error {
	m := tokenRE.FindStringSubmatch(token)
	if m == nil {
		return fmt.Errorf("the bootstrap token %q was not of the form %q", token, tokenRE.String())
	}
	data := map[string]any{"token-id": m[1], "token-secret": m[2]}
	if ttl > 0 {
		data["expiration"] = time.Now().Add(ttl).UTC().Format(time.RFC3339)
	}
	if description != "" {
		data["description"] = description
	}
	for _, u := range usages {
		data["usage-bootstrap-"+u] = "true"
	}
	if len(groups) > 0 {
		data["auth-extra-groups"] = strings.Join(groups, ",")
	}
	enc := map[string]any{}
	for k, v := range data {
		enc[k] = base64.StdEncoding.EncodeToString([]byte(v.(string)))
	}
	sec := map[string]any{"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
		"metadata": map[string]any{"name": "bootstrap-token-" + m[1], "namespace": "kube-system"}, "data": enc}
	err := c.do(ctx, "POST", "/api/v1/namespaces/kube-system/secrets", sec, nil)
	var se *statusError
	if errors.As(err, &se) && se.Reason == "AlreadyExists" {
		return fmt.Errorf("a token with id %q already exists", m[1])
	}
	if err != nil {
		return fmt.Errorf("failed to create or update bootstrap token with name bootstrap-token-%s: %w", m[1], err)
	}
	return nil
}

// adminClient is how kubeadm subcommands reach the cluster: --kubeconfig,
// by default /etc/kubernetes/admin.conf.
func (p *program) adminClient(kubeconfigFlag string) (*apiClient, *restConfig, error) {
	path := kubeconfigFlag
	if path == "" || path == "/etc/kubernetes/admin.conf" {
		path = p.env.path("/etc/kubernetes/admin.conf")
	}
	return clientFromKubeconfig(p.env, path, 30*time.Second)
}

func (p *program) newTokenCmd() *cobra.Command {
	var kubeconfigPath string
	tok := &cobra.Command{Use: "token", Short: "Manage bootstrap tokens"}
	tok.PersistentFlags().StringVar(&kubeconfigPath, "kubeconfig", "/etc/kubernetes/admin.conf", "The kubeconfig file to use when talking to the cluster.")
	tok.PersistentFlags().Bool("dry-run", false, "Whether to enable dry-run mode or not")

	var (
		printJoin   bool
		ttl         time.Duration
		description string
		usages      []string
		groups      []string
		certKey     string
		cfgPath     string
	)
	create := &cobra.Command{
		Use:   "create [token]",
		Short: "Create bootstrap tokens on the server",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := mixedArgs(cmd.Flags()); err != nil {
				return err
			}
			token := ""
			if len(args) == 1 {
				token = args[0]
				if !tokenRE.MatchString(token) {
					return fmt.Errorf("the bootstrap token %q was not of the form %q", token, tokenRE.String())
				}
			}
			if cfgPath != "" {
				data, err := os.ReadFile(cfgPath)
				if err != nil {
					return fmt.Errorf("unable to read config from %q : %w", cfgPath, err)
				}
				docs, err := parseKubeadmConfig(data, cfgPath)
				if err != nil {
					return err
				}
				if docs.init != nil && len(docs.init.BootstrapTokens) > 0 {
					bt := docs.init.BootstrapTokens[0]
					token = bt.Token
					if bt.TTL != "" {
						if ttl, err = time.ParseDuration(bt.TTL); err != nil {
							return err
						}
					}
					if len(bt.Usages) > 0 {
						usages = bt.Usages
					}
					if len(bt.Groups) > 0 {
						groups = bt.Groups
					}
				}
			}
			if token == "" {
				var err error
				if token, err = newBootstrapToken(); err != nil {
					return err
				}
			}
			c, rc, err := p.adminClient(kubeconfigPath)
			if err != nil {
				return err
			}
			if err := createToken(context.Background(), c, token, ttl, description, usages, groups); err != nil {
				return err
			}
			if !printJoin {
				p.outf("%s\n", token)
				return nil
			}
			ca, err := parseCertPEM(rc.caPEM)
			if err != nil {
				return fmt.Errorf("failed to parse CA certificate from kubeconfig: %w", err)
			}
			cmdline, err := joinCommand(joinCommandData{Endpoint: serverHostPort(rc.server), Token: token,
				Hashes: []string{pubKeyPin(ca)}, ControlPlane: certKey != "", CertificateKey: certKey})
			if err != nil {
				return err
			}
			cmdline = strings.ReplaceAll(strings.ReplaceAll(cmdline, "\\\n", ""), "\t", "")
			p.outf("%s\n", cmdline)
			return nil
		},
	}
	create.Flags().BoolVar(&printJoin, "print-join-command", false, "Instead of printing only the token, print the full 'kubeadm join' flag needed to join the cluster using the token.")
	create.Flags().DurationVar(&ttl, "ttl", 24*time.Hour, "The duration before the token is automatically deleted (e.g. 1s, 2m3s, 4h). If set to '0', the token will never expire")
	create.Flags().StringVar(&description, "description", "", "A human friendly description of how this token is used.")
	create.Flags().StringSliceVar(&usages, "usages", []string{"signing", "authentication"}, "Describes the ways in which this token can be used.")
	create.Flags().StringSliceVar(&groups, "groups", []string{"system:bootstrappers:kubeadm:default-node-token"}, "Extra groups that this token will authenticate as when used for authentication.")
	create.Flags().StringVar(&certKey, "certificate-key", "", "When used together with '--print-join-command', print the full 'kubeadm join' flag needed to join the cluster as a control-plane.")
	create.Flags().StringVar(&cfgPath, "config", "", "Path to a kubeadm configuration file.")

	listCmd := &cobra.Command{
		Use:   "list",
		Short: "List bootstrap tokens on the server",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			c, _, err := p.adminClient(kubeconfigPath)
			if err != nil {
				return err
			}
			var secrets struct{ Items []map[string]any }
			if err := c.do(context.Background(), "GET", "/api/v1/namespaces/kube-system/secrets", nil, &secrets); err != nil {
				return fmt.Errorf("failed to list bootstrap tokens: %w", err)
			}
			tw := tabwriter.NewWriter(p.stdout, 10, 4, 3, ' ', 0)
			fmt.Fprintln(tw, "TOKEN\tTTL\tEXPIRES\tUSAGES\tDESCRIPTION\tEXTRA GROUPS")
			for _, s := range secrets.Items {
				if str(s, "type") != "bootstrap.kubernetes.io/token" {
					continue
				}
				d := secretData(s)
				ttlStr, expires := "<forever>", "<never>"
				if exp, err := time.Parse(time.RFC3339, d["expiration"]); err == nil {
					expires = d["expiration"]
					ttlStr = "<invalid>"
					if left := time.Until(exp); left > 0 {
						ttlStr = humanDuration(left)
					}
				}
				var us []string
				for _, u := range []string{"authentication", "signing"} {
					if d["usage-bootstrap-"+u] == "true" {
						us = append(us, u)
					}
				}
				desc := firstNonEmpty(d["description"], "<none>")
				fmt.Fprintf(tw, "%s.%s\t%s\t%s\t%s\t%s\t%s\n", d["token-id"], d["token-secret"], ttlStr, expires, strings.Join(us, ","), desc, d["auth-extra-groups"])
			}
			return tw.Flush()
		},
	}
	del := &cobra.Command{
		Use:   "delete [token-value] ...",
		Short: "Delete bootstrap tokens on the server",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			c, _, err := p.adminClient(kubeconfigPath)
			if err != nil {
				return err
			}
			for _, a := range args {
				id := a
				if m := tokenRE.FindStringSubmatch(a); m != nil {
					id = m[1]
				} else if !regexpTokenID.MatchString(a) {
					return fmt.Errorf("given token didn't match pattern %q or %q", "^([a-z0-9]{6})$", tokenRE.String())
				}
				if err := c.do(context.Background(), "DELETE", "/api/v1/namespaces/kube-system/secrets/bootstrap-token-"+id, nil, nil); err != nil {
					return fmt.Errorf("failed to delete bootstrap token %q: %w", id, err)
				}
				p.outf("bootstrap token %q deleted\n", id)
			}
			return nil
		},
	}
	gen := &cobra.Command{
		Use:   "generate",
		Short: "Generate and print a bootstrap token, but do not create it on the server",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			t, err := newBootstrapToken()
			if err != nil {
				return err
			}
			p.outf("%s\n", t)
			return nil
		},
	}
	tok.AddCommand(create, listCmd, del, gen)
	return tok
}

// newUploadCertsPhaseCmd is `kubeadm init phase upload-certs`.
func (p *program) newUploadCertsPhaseCmd() *cobra.Command {
	var (
		upload, skipPrint         bool
		certKey, cfgPath, kubecfg string
	)
	cmd := &cobra.Command{
		Use:   "upload-certs",
		Short: "Upload certificates to kubeadm-certs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := mixedArgs(cmd.Flags()); err != nil {
				return err
			}
			if !upload {
				p.outf("[upload-certs] Skipping phase. Please see --upload-certs\n")
				return nil
			}
			certDir := "/etc/kubernetes/pki"
			if cfgPath != "" {
				data, err := os.ReadFile(cfgPath)
				if err != nil {
					return fmt.Errorf("unable to read config from %q : %w", cfgPath, err)
				}
				docs, err := parseKubeadmConfig(data, cfgPath)
				if err != nil {
					return err
				}
				if docs.init != nil {
					certKey = docs.init.CertificateKey
				}
				if docs.cluster != nil && docs.cluster.CertificatesDir != "" {
					certDir = docs.cluster.CertificatesDir
				}
			}
			if certKey != "" {
				if _, err := decodeCertificateKey(certKey); err != nil {
					return validationError{fmt.Errorf("certificateKey: Invalid value: %q: %v", certKey, err)}
				}
			}
			c, _, err := p.adminClient(kubecfg)
			if err != nil {
				return err
			}
			if _, err := uploadCerts(context.Background(), p, c, certDir, certKey, skipPrint); err != nil {
				return fmt.Errorf("error execution phase upload-certs: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&upload, "upload-certs", false, "Upload control-plane certificates to the kubeadm-certs Secret.")
	cmd.Flags().StringVar(&certKey, "certificate-key", "", "Key used to encrypt the control-plane certificates in the kubeadm-certs Secret.")
	cmd.Flags().BoolVar(&skipPrint, "skip-certificate-key-print", false, "Don't print the key used to encrypt the control-plane certificates.")
	cmd.Flags().StringVar(&cfgPath, "config", "", "Path to a kubeadm configuration file.")
	cmd.Flags().StringVar(&kubecfg, "kubeconfig", "/etc/kubernetes/admin.conf", "The kubeconfig file to use when talking to the cluster.")
	return cmd
}
