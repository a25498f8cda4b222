package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/sealpack/sealpack/deployer"
	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/payload"
	"github.com/sealpack/sealpack/registry"
	"github.com/spf13/cobra"
)

// defaultRegistryPort is where an install serves its images to the hosts.
const defaultRegistryPort = 5050

func newRegistryCmd() *cobra.Command {
	var addr, certFile, keyFile, layout, htpasswd string
	cmd := &cobra.Command{
		Use:   "registry [--addr 127.0.0.1:5000] [--tls-cert FILE --tls-key FILE] [--layout DIR]",
		Short: "Serve the carried images over the registry API, read-only, until interrupted",
		Long: `Serves every carried image straight out of this file (nothing is extracted),
or, with --layout, the OCI image layout in DIR (what an install seeds on every
master, under /var/lib/sealpack/registry/layout).
Images are served under their repository path without the registry host:
docker.io/library/nginx:1.27 is 127.0.0.1:5000/library/nginx:1.27. Clients that
send containerd's ?ns=<registry> query get that registry's copy.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, images, closeStore, err := registryStore(layout)
			if err != nil {
				return err
			}
			defer closeStore()
			opts := []registry.Option{registry.WithLog(cmd.ErrOrStderr())}
			scheme := "http"
			if certFile != "" || keyFile != "" {
				pair, err := tls.LoadX509KeyPair(certFile, keyFile)
				if err != nil {
					return fmt.Errorf("--tls-cert %s --tls-key %s: %w", certFile, keyFile, err)
				}
				opts = append(opts, registry.WithTLS(&tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}))
				scheme = "https"
			}
			if htpasswd != "" {
				opts = append(opts, registry.WithHtpasswd(htpasswd))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			actual, wait, err := registry.Serve(ctx, store, addr, opts...)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "serving %s on %s://%s (read-only); Ctrl+C stops\n", images, scheme, actual)
			return wait()
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:5000", "address to listen on")
	cmd.Flags().StringVar(&certFile, "tls-cert", "", "serve HTTPS with this certificate (PEM; with --tls-key)")
	cmd.Flags().StringVar(&keyFile, "tls-key", "", "the certificate's private key (PEM)")
	cmd.Flags().StringVar(&layout, "layout", "", "serve the OCI image layout in this directory instead of the carried images")
	cmd.Flags().StringVar(&htpasswd, "htpasswd", "", "require the credentials of this htpasswd file (bcrypt) for pulls")
	return cmd
}

// registryStore is what the registry command serves: the OCI layout in dir,
// else this installer's payload. The bare installer program serves a layout
// without any payload of its own.
func registryStore(dir string) (registry.Store, string, func(), error) {
	if dir != "" {
		s, err := registry.OpenLayout(dir)
		return s, "the images of " + dir, func() {}, err
	}
	p, err := openSelf()
	if err != nil {
		return nil, "", nil, err
	}
	return registry.PayloadStore(p), fmt.Sprintf("%d images", len(p.Index().Images)), func() { p.Close() }, nil
}

func newPushCmd() *cobra.Command {
	var opts registry.PushOptions
	var caFile string
	cmd := &cobra.Command{
		Use:   "push REGISTRY",
		Short: "Copy every carried image into an existing registry (a Harbor of the site), keeping digests",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := openSelf()
			if err != nil {
				return err
			}
			defer p.Close()
			if opts.Password == "" {
				opts.Password = os.Getenv(clusterfile.RegistryPasswordEnv)
			}
			if caFile != "" {
				if opts.RootCAs, err = loadCAs(caFile); err != nil {
					return err
				}
			}
			opts.Out = cmd.OutOrStdout()
			return registry.Push(cmd.Context(), registry.PayloadStore(p), args[0], opts)
		},
	}
	cmd.Flags().StringVar(&opts.Username, "username", "", "registry user (else the docker config's credentials)")
	cmd.Flags().StringVar(&opts.Password, "password", "", "registry password (or "+clusterfile.RegistryPasswordEnv+")")
	cmd.Flags().BoolVar(&opts.Insecure, "insecure", false, "plain HTTP or unverified TLS")
	cmd.Flags().StringVar(&caFile, "ca", "", "check the registry's certificate against the CAs in this PEM file")
	cmd.Flags().IntVar(&opts.Jobs, "jobs", 4, "blobs uploaded at once")
	return cmd
}

// withImages hands the deployer the carried images and this program: the
// payload, a registry on every master, a balancer over the masters'
// apiservers on every node, and the push into the site's registry when the
// Clusterfile names one.
func withImages(opts *deployer.Options, p *payload.Reader) {
	opts.Payload = p
	opts.ClusterRegistry = true
	opts.APIServerBalancer = true
	opts.PushImages = func(ctx context.Context, target string, auth deployer.RegistryAuth, out io.Writer) error {
		po := registry.PushOptions{Username: auth.Username, Password: auth.Password, Out: out}
		if auth.CAFile != "" {
			pool, err := loadCAs(auth.CAFile)
			if err != nil {
				return err
			}
			po.RootCAs = pool
		}
		return registry.Push(ctx, registry.PayloadStore(p), target, po)
	}
}

// loadCAs reads a PEM file of CA certificates.
func loadCAs(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("the registry's CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("the registry's CA: %s holds no PEM certificate", file)
	}
	return pool, nil
}

// startRegistry serves the carried images to the hosts during an install,
// on every address of the jump host (each host is told the address that
// routes to it). It returns a stop function.
func startRegistry(p *payload.Reader, opts *deployer.Options) (func(), error) {
	if len(p.Index().Images) == 0 || opts.DryRun {
		return func() {}, nil
	}
	port := defaultRegistryPort
	if s := os.Getenv("SEALPACK_REGISTRY_PORT"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("SEALPACK_REGISTRY_PORT=%q: %w", s, err)
		}
		port = n
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr, wait, err := registry.Serve(ctx, registry.PayloadStore(p), net.JoinHostPort("0.0.0.0", strconv.Itoa(port)), registry.WithLog(io.Discard))
	if err != nil && os.Getenv("SEALPACK_REGISTRY_PORT") == "" {
		// The usual port is taken on this jump host: any free one serves,
		// since hosts reach it through their SSH connections.
		addr, wait, err = registry.Serve(ctx, registry.PayloadStore(p), "0.0.0.0:0", registry.WithLog(io.Discard))
	}
	if err != nil {
		cancel()
		return nil, fmt.Errorf("starting the image registry for the hosts (set SEALPACK_REGISTRY_PORT to use another port): %w", err)
	}
	_, ps, _ := net.SplitHostPort(addr)
	opts.RegistryPort, _ = strconv.Atoi(ps)
	return func() { cancel(); wait() }, nil
}
