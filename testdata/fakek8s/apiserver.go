package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Paths of the apiserver daemon.
const (
	apiserverPidFile = "/var/lib/fakek8s/kube-apiserver.pid"
	apiserverLogFile = "/var/log/fakek8s-apiserver.log"
	apiserverStore   = "/var/lib/fakek8s/apiserver/state.json"
)

// apiServer is the fake kube-apiserver. On the first control-plane node it
// owns the store; on control-plane nodes that joined later it forwards
// everything to an upstream apiserver (upstream != nil), authenticating as
// a front proxy the way an aggregated apiserver would.
type apiServer struct {
	env          *env
	store        *store
	ca           *keyPair
	frontProxyCA *x509.Certificate
	grace        time.Duration
	upstream     *httputil.ReverseProxy
}

// apiserverMain runs the daemon: kube-apiserver --secure-port=6443
// [--bind-address=IP] [--fakek8s-upstream=IP:PORT --fakek8s-upstream-name=HOST].
func (p *program) apiserverMain() error {
	fs := flag.NewFlagSet("kube-apiserver", flag.ContinueOnError)
	fs.SetOutput(p.stderr)
	port := fs.Int("secure-port", 6443, "port to serve HTTPS on")
	bind := fs.String("bind-address", "", "address to listen on (default: all)")
	fs.String("advertise-address", "", "address advertised to the cluster")
	fs.String("fakek8s-root", "", "state root (identifies the daemon in ps)")
	upstream := fs.String("fakek8s-upstream", "", "forward to this apiserver (IP:PORT)")
	upstreamName := fs.String("fakek8s-upstream-name", "", "server name to verify the upstream by")
	if err := fs.Parse(p.args); err != nil {
		return err
	}
	e := p.env
	logger := log.New(p.stderr, "", log.LstdFlags|log.Lmicroseconds)
	if err := writeFile(e.path(apiserverPidFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing pid file: %w", err)
	}
	pki := e.path("/etc/kubernetes/pki")
	ca, err := loadPair(pki + "/ca")
	if err != nil {
		return err
	}
	serving, err := tls.LoadX509KeyPair(pki+"/apiserver.crt", pki+"/apiserver.key")
	if err != nil {
		return fmt.Errorf("loading the serving certificate: %w", err)
	}
	fp, err := loadPair(pki + "/front-proxy-ca")
	if err != nil {
		return err
	}
	grace, err := e.duration(envGrace, 40*time.Second)
	if err != nil {
		return err
	}
	s := &apiServer{env: e, ca: ca, frontProxyCA: fp.cert, grace: grace}
	if *upstream != "" {
		if s.upstream, err = s.newProxy(*upstream, *upstreamName, pki); err != nil {
			return err
		}
	} else if s.store, err = openStore(e.path(apiserverStore)); err != nil {
		return fmt.Errorf("opening the store: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	pool.AddCert(fp.cert)
	addr := net.JoinHostPort(*bind, strconv.Itoa(*port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("failed to create listener: %w", err)
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          logger,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{serving},
			ClientAuth:   tls.VerifyClientCertIfGiven,
			ClientCAs:    pool,
			MinVersion:   tls.VersionTLS12,
		},
	}
	logger.Printf("serving securely on %s (upstream %q)", ln.Addr(), *upstream)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go watchPidFile(ctx, e.path(apiserverPidFile), stop)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Printf("stopped")
	return nil
}

// watchPidFile ends a daemon whose pid file was removed or taken over (by
// kubeadm reset, or a test's cleanup deleting the whole root), so no
// daemon outlives its host.
func watchPidFile(ctx context.Context, path string, stop func()) {
	me := strconv.Itoa(os.Getpid())
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b, err := os.ReadFile(path)
			if err != nil || strings.TrimSpace(string(b)) != me {
				stop()
				return
			}
		}
	}
}

// newProxy builds the forwarder of a joined control-plane node.
func (s *apiServer) newProxy(upstream, serverName, pki string) (*httputil.ReverseProxy, error) {
	client, err := tls.LoadX509KeyPair(pki+"/front-proxy-client.crt", pki+"/front-proxy-client.key")
	if err != nil {
		return nil, fmt.Errorf("loading the front-proxy client certificate: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(s.ca.cert)
	d, err := s.env.dialer(10 * time.Second)
	if err != nil {
		return nil, err
	}
	target := &url.URL{Scheme: "https", Host: upstream}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Header.Del("X-Remote-User")
			pr.Out.Header.Del("X-Remote-Group")
			if u, ok := s.certUser(pr.In); ok {
				pr.Out.Header.Set("X-Remote-User", u.name)
				for _, g := range u.groups {
					pr.Out.Header.Add("X-Remote-Group", g)
				}
			}
		},
		Transport: &http.Transport{
			DialContext: d.DialContext,
			TLSClientConfig: &tls.Config{
				RootCAs:      roots,
				ServerName:   serverName,
				Certificates: []tls.Certificate{client},
			},
		},
	}, nil
}

// user is an authenticated caller.
type user struct {
	name   string
	groups []string
	kind   userKind
}

type userKind int

const (
	anonymous userKind = iota
	bootstrapper
	certified // a client certificate of the cluster CA: admin, node, component
)

// certUser is the identity of a client certificate signed by the cluster CA.
func (s *apiServer) certUser(r *http.Request) (user, bool) {
	if r.TLS == nil {
		return user{}, false
	}
	for _, chain := range r.TLS.VerifiedChains {
		if len(chain) > 0 && chain[len(chain)-1].Equal(s.ca.cert) {
			c := chain[0]
			return user{name: c.Subject.CommonName, groups: c.Subject.Organization, kind: certified}, true
		}
	}
	return user{}, false
}

// authenticate follows the apiserver's order: client certificate, front
// proxy headers, bearer token (bootstrap tokens only), anonymous.
func (s *apiServer) authenticate(r *http.Request) (user, error) {
	if u, ok := s.certUser(r); ok {
		return u, nil
	}
	if r.TLS != nil {
		for _, chain := range r.TLS.VerifiedChains {
			if len(chain) > 0 && chain[len(chain)-1].Equal(s.frontProxyCA) && chain[0].Subject.CommonName == "front-proxy-client" {
				if name := r.Header.Get("X-Remote-User"); name != "" {
					return user{name: name, groups: r.Header.Values("X-Remote-Group"), kind: certified}, nil
				}
			}
		}
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok {
			return user{}, errors.New("unsupported authorization scheme")
		}
		return s.tokenUser(strings.TrimSpace(tok))
	}
	return user{name: "system:anonymous", groups: []string{"system:unauthenticated"}, kind: anonymous}, nil
}

func (s *apiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz", "/livez", "/readyz":
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok"))
		return
	}
	if s.upstream != nil {
		s.upstream.ServeHTTP(w, r)
		return
	}
	u, err := s.authenticate(r)
	if err != nil {
		writeStatus(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
		return
	}
	switch {
	case r.URL.Path == "/version":
		writeJSON(w, http.StatusOK, versionInfo())
	case r.URL.Path == "/api":
		writeJSON(w, http.StatusOK, map[string]any{"kind": "APIVersions", "versions": []string{"v1"}})
	case strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/apis/"):
		s.rest(w, r, u)
	default:
		writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
	}
}

func versionInfo() map[string]any {
	major, minor := "1", ""
	if parts := strings.SplitN(strings.TrimPrefix(version, "v"), ".", 3); len(parts) >= 2 {
		major, minor = parts[0], parts[1]
	}
	return map[string]any{
		"major": major, "minor": minor, "gitVersion": version,
		"gitCommit": "fakek8s", "gitTreeState": "clean", "buildDate": "2024-08-14T00:00:00Z",
		"goVersion": "go1.22.5", "compiler": "gc", "platform": "linux/" + goarch(),
	}
}
