package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// apiClient talks to the fake apiserver with the credentials of a
// kubeconfig (or a bootstrap token).
type apiClient struct {
	base  *url.URL
	hc    *http.Client
	token string
	// lastLocal is the local address of the last connection, which is the
	// address the apiserver sees this host by; lastRemote is the address
	// the server name resolved to.
	lastLocal  func() net.Addr
	lastRemote func() net.Addr
}

// statusError is a Kubernetes Status answer (an API error).
type statusError struct {
	Code    int    `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func (e *statusError) Error() string {
	if e.Code == http.StatusUnauthorized {
		return "You must be logged in to the server (Unauthorized)"
	}
	return fmt.Sprintf("Error from server (%s): %s", e.Reason, e.Message)
}

func isNotFound(err error) bool {
	var se *statusError
	return errors.As(err, &se) && se.Code == http.StatusNotFound
}

func isConflict(err error) bool {
	var se *statusError
	return errors.As(err, &se) && se.Code == http.StatusConflict
}

// connError is a failure to reach the server, worded like kubectl's.
type connError struct {
	hostPort string
	err      error
}

func (e *connError) Error() string {
	if errors.Is(e.err, syscall.ECONNREFUSED) {
		return fmt.Sprintf("The connection to the server %s was refused - did you specify the right host or port?", e.hostPort)
	}
	return fmt.Sprintf("Unable to connect to the server: %v", e.err)
}

func (e *connError) Unwrap() error { return e.err }

// newConnError strips the URL and the source address (set when the host
// IP knob binds it) so the message reads like kubectl's.
func newConnError(hostPort string, err error) *connError {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Source != nil {
		cp := *oe
		cp.Source = nil
		err = &cp
	}
	return &connError{hostPort: hostPort, err: err}
}

// clientOptions tune newAPIClient.
type clientOptions struct {
	timeout time.Duration // whole request; 0 means none (kubectl's default)
	// insecureDiscovery skips server verification, for fetching cluster-info
	// before the CA is known.
	insecureDiscovery bool
}

func newAPIClient(e *env, rc *restConfig, opts clientOptions) (*apiClient, error) {
	u, err := url.Parse(rc.server)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("invalid server URL %q", rc.server)
	}
	tlsCfg := &tls.Config{InsecureSkipVerify: rc.insecure || opts.insecureDiscovery}
	if len(rc.caPEM) > 0 && !tlsCfg.InsecureSkipVerify {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(rc.caPEM) {
			return nil, errors.New("unable to load root certificates: unable to parse bytes as PEM block")
		}
		tlsCfg.RootCAs = pool
	}
	if rc.certPEM != nil {
		cert, err := tls.X509KeyPair(rc.certPEM, rc.keyPEM)
		if err != nil {
			return nil, fmt.Errorf("loading client certificate: %w", err)
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	}
	// client-go dials with a 30 s timeout.
	d, err := e.dialer(30 * time.Second)
	if err != nil {
		return nil, err
	}
	c := &apiClient{base: u, token: rc.token}
	// Dials run on the transport's goroutines.
	var last, lastRemote atomic.Pointer[net.Addr]
	load := func(p *atomic.Pointer[net.Addr]) net.Addr {
		if a := p.Load(); a != nil {
			return *a
		}
		return nil
	}
	c.lastLocal = func() net.Addr { return load(&last) }
	c.lastRemote = func() net.Addr { return load(&lastRemote) }
	tr := &http.Transport{
		TLSClientConfig:     tlsCfg,
		TLSHandshakeTimeout: 10 * time.Second,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := d.DialContext(ctx, network, addr)
			if err == nil {
				l, r := conn.LocalAddr(), conn.RemoteAddr()
				last.Store(&l)
				lastRemote.Store(&r)
			}
			return conn, err
		},
	}
	c.hc = &http.Client{Transport: tr, Timeout: opts.timeout}
	return c, nil
}

// do sends in (JSON) and decodes the answer into out.
func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	return c.doType(ctx, method, path, "application/json", in, out)
}

func (c *apiClient) doType(ctx context.Context, method, path, contentType string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	u := *c.base
	p, q, _ := strings.Cut(path, "?")
	u.Path = strings.TrimSuffix(u.Path, "/") + p
	u.RawQuery = q
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return newConnError(c.base.Host, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return &connError{hostPort: c.base.Host, err: err}
	}
	if resp.StatusCode >= 300 {
		se := &statusError{Code: resp.StatusCode}
		if json.Unmarshal(data, se) != nil || se.Reason == "" {
			se.Reason = http.StatusText(resp.StatusCode)
			se.Message = strings.TrimSpace(string(data))
		}
		se.Code = resp.StatusCode
		return se
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decoding the answer to %s %s: %w", method, path, err)
		}
	}
	return nil
}

// clientFromKubeconfig loads a kubeconfig file (kubeadm's own use).
func clientFromKubeconfig(e *env, path string, timeout time.Duration) (*apiClient, *restConfig, error) {
	kc, err := loadKubeconfig(path)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to load admin kubeconfig: %w", err)
	}
	rc, err := kc.restConfig(overrides{})
	if err != nil {
		return nil, nil, err
	}
	c, err := newAPIClient(e, rc, clientOptions{timeout: timeout})
	return c, rc, err
}

// doRaw GETs a plain-text endpoint such as /healthz.
func (c *apiClient) doRaw(ctx context.Context, path string) error {
	u := *c.base
	u.Path = path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return newConnError(c.base.Host, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s: %s", path, resp.Status, strings.TrimSpace(string(b)))
	}
	return nil
}
