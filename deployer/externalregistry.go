package deployer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/sealpack/sealpack/deployer/event"
)

// The site's own registry (spec.registry.externalRegistry): the images are
// pushed there from the jump host, keeping their repository paths, and
// every host's containerd pulls through it as a mirror. No registry runs in
// the cluster then.

// RegistryAuth is how the installer speaks to the site's registry.
type RegistryAuth struct {
	Username, Password string
	// CAFile is a PEM file on the jump host with the registry's CA; empty:
	// the system's CAs.
	CAFile string
}

// externalCAPath is where the hosts keep the site registry's CA.
const externalCAPath = stateDir + "/external-registry-ca.crt"

// pushExternal copies every carried image into the site's registry. A push
// sends only what the registry lacks, so a re-run costs little.
func (r *run) pushExternal(ctx context.Context) error {
	e := r.siteRegistry()
	if r.opts.PushImages == nil {
		return fmt.Errorf("spec.registry.externalRegistry: this program cannot push images; run the installer itself")
	}
	if e.Username != "" && e.Password == "" {
		return fmt.Errorf("spec.registry.externalRegistry.password: missing for user %s: give it in the Clusterfile or in SEALPACK_REGISTRY_PASSWORD", e.Username)
	}
	w := &lineLog{log: func(line string) { r.logs.Printf(event.Registry, "", "%s", line) }}
	defer w.Flush()
	auth := RegistryAuth{Username: e.Username, Password: e.Password, CAFile: e.CA}
	if err := r.opts.PushImages(ctx, e.Addr(), auth, w); err != nil {
		return fmt.Errorf("pushing the images to %s: %w", e.Addr(), err)
	}
	return nil
}

// lineLog passes what is written to it to log, a line at a time.
type lineLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
	log func(string)
}

var _ io.Writer = (*lineLog)(nil)

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadString('\n')
		if err != nil {
			l.buf.WriteString(line) // no newline yet: keep it for the next write
			return len(p), nil
		}
		l.log(strings.TrimRight(line, "\r\n"))
	}
}

// Flush logs what is left without a newline.
func (l *lineLog) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() > 0 {
		l.log(l.buf.String())
		l.buf.Reset()
	}
}
