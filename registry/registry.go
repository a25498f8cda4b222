// Package registry serves the container images carried in a payload over the
// OCI distribution API, read-only and straight out of the installer file, and
// pushes them into an existing registry.
//
// The HTTP API is distribution/v3's own (registry/handlers.App) over a
// storage driver that maps distribution's storage paths onto the payload's
// OCI layout (images/index.json and its blobs). A thin front handler in
// front of it resolves names (containerd's ?ns=) and refuses writes.
package registry

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/api/errcode"
	"github.com/distribution/distribution/v3/registry/handlers"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/factory"
	"github.com/distribution/reference"
	"github.com/sirupsen/logrus"

	// The htpasswd access controller, for WithHtpasswd.
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
)

// Option configures New and Serve.
type Option func(*options)

type options struct {
	log      io.Writer
	level    logrus.Level
	tls      *tls.Config
	htpasswd string
}

// WithLog sends distribution's log (one line per request, warnings, errors)
// to w. Without it the registry logs nothing.
func WithLog(w io.Writer) Option { return func(o *options) { o.log = w } }

// WithTLS makes Serve speak HTTPS with cfg (its certificates).
func WithTLS(cfg *tls.Config) Option { return func(o *options) { o.tls = cfg } }

// WithHtpasswd requires the credentials of the htpasswd file at path (bcrypt
// entries) for every request, with distribution's own htpasswd access
// controller. Use it with TLS: basic credentials travel with each request.
func WithHtpasswd(path string) Option { return func(o *options) { o.htpasswd = path } }

// WithDebug logs at debug level (distribution's storage calls).
func WithDebug() Option { return func(o *options) { o.level = logrus.DebugLevel } }

// nameRoute finds the repository name in the routes that carry one.
var nameRoute = regexp.MustCompile(`^/v2/(` + reference.NameRegexp.String() + `)/(?:manifests/|blobs/|tags/list$|referrers/)`)

func init() {
	// distribution creates drivers by name; the driver itself travels in the
	// parameters, built and checked by New before distribution sees it.
	factory.Register(driverName, driverFactory{})
}

type driverFactory struct{}

func (driverFactory) Create(_ context.Context, params map[string]any) (storagedriver.StorageDriver, error) {
	d, ok := params["driver"].(*payloadDriver)
	if !ok || d == nil {
		return nil, errors.New("registry: the payload driver is created by registry.New only")
	}
	return d, nil
}

// server is the front handler: names, write refusal, logging, then
// distribution.
type server struct {
	cat *catalog
	app *handlers.App
	log *logrus.Entry
}

// New returns a handler that serves the images in s, read-only. It reads
// the layout's index.json and the manifests, nothing proportional to the
// size of the layers. The handler is also an io.Closer that stops
// distribution's background work.
func New(s Store, opts ...Option) (http.Handler, error) {
	return newServer(s, opts...)
}

func newServer(st Store, opts ...Option) (*server, error) {
	o := options{log: io.Discard, level: logrus.InfoLevel}
	for _, opt := range opts {
		opt(&o)
	}
	if st == nil {
		return nil, errors.New("registry: no store")
	}
	cat, err := loadCatalog(st)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	logger := logrus.New()
	logger.SetOutput(o.log)
	logger.SetLevel(o.level)
	logger.SetFormatter(&logrus.TextFormatter{DisableColors: true, FullTimestamp: true})
	s := &server{cat: cat, log: logrus.NewEntry(logger)}
	for _, w := range cat.warnings {
		s.log.Warn(w)
	}
	if o.htpasswd != "" {
		// distribution makes up a user and logs its password when the
		// file is missing: a missing file is an error here instead.
		if _, err := os.Stat(o.htpasswd); err != nil {
			return nil, fmt.Errorf("registry: htpasswd: %w", err)
		}
	}
	cfg, err := config(newPayloadDriver(cat), o)
	if err != nil {
		return nil, err
	}
	if s.app, err = newApp(withLogger(context.Background(), s.log), cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// config is distribution's configuration for a read-only registry over the
// payload driver. Every value NewApp would panic on is set here, by us.
func config(d *payloadDriver, o options) (*configuration.Configuration, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("registry: http secret: %w", err)
	}
	cfg := &configuration.Configuration{}
	cfg.HTTP.Secret = hex.EncodeToString(secret)
	cfg.Catalog.MaxEntries = 1000 // distribution's default when read from YAML
	cfg.Storage = configuration.Storage{
		driverName: configuration.Parameters{"driver": d},
		"cache":    configuration.Parameters{"blobdescriptor": "inmemory"},
		"redirect": configuration.Parameters{"disable": true},
		"delete":   configuration.Parameters{"enabled": false},
		"maintenance": configuration.Parameters{
			// The purger walks every upload directory at start: nothing to purge.
			"uploadpurging": map[any]any{"enabled": false},
			"readonly":      map[any]any{"enabled": true},
		},
	}
	if o.htpasswd != "" {
		cfg.Auth = configuration.Auth{"htpasswd": configuration.Parameters{"realm": "sealpack", "path": o.htpasswd}}
	}
	if got := cfg.Storage.Type(); got != driverName {
		return nil, fmt.Errorf("registry: storage driver %q configured, want %q", got, driverName)
	}
	return cfg, nil
}

// newApp is handlers.NewApp, which panics on a bad configuration; the
// configuration is checked above, and a panic still becomes an error.
func newApp(ctx context.Context, cfg *configuration.Configuration) (app *handlers.App, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("registry: starting distribution: %v", p)
		}
	}()
	return handlers.NewApp(ctx, cfg), nil
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = r.WithContext(withLogger(r.Context(), s.log))
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.log.WithField("method", r.Method).WithField("path", r.URL.Path).Info("write refused: read-only registry")
		fail(w, errcode.ErrorCodeUnsupported.WithDetail("this registry serves the images carried by the installer and is read-only"))
		return
	}
	if m := nameRoute.FindStringSubmatchIndex(r.URL.Path); m != nil {
		name := r.URL.Path[m[2]:m[3]]
		full, err := s.cat.resolve(name, r.URL.Query().Get("ns"), r.Host)
		if err != nil {
			fail(w, errcode.ErrorCodeNameUnknown.WithDetail(err.Error()))
			return
		}
		rest := r.URL.Path[m[3]:]
		if full != name {
			u := *r.URL
			u.Path = "/v2/" + full + rest
			u.RawPath = ""
			r2 := r.Clone(r.Context())
			r2.URL = &u
			r = r2
		}
	}
	s.app.ServeHTTP(w, r)
}

// fail answers with a registry API error, as distribution would.
func fail(w http.ResponseWriter, err errcode.Error) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	_ = errcode.ServeJSON(w, err)
}

// Close stops distribution's background work.
func (s *server) Close() error { return s.app.Shutdown() }
