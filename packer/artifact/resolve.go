package artifact

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// ErrPlatform is returned when a reference has no installer for the
// platform asked; the message lists the platforms it has.
var ErrPlatform = errors.New("no installer for this platform")

// ErrNotInstaller is returned for a reference that is not a sealpack
// installer artifact (a container image, say).
var ErrNotInstaller = errors.New("not a sealpack installer artifact")

// Artifact is a resolved installer artifact: its manifest and config.
type Artifact struct {
	Ref       name.Reference // the manifest, by digest
	Digest    string         // of the manifest
	Manifest  v1.Manifest
	Config    *Config
	Platforms []string // of the index it was picked from; just its own otherwise
	host      string
	puller    *remote.Puller
}

// Describe resolves ref for platform ("" takes the only one, or this
// build's default when an index has several) and reads its manifest and
// config: no layer.
func Describe(ctx context.Context, ref, platform string, o Options) (*Artifact, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	src, host, err := o.Access.Ref(ref, true)
	if err != nil {
		return nil, err
	}
	p, err := remote.NewPuller(append(o.Access.Options(), remote.WithContext(ctx))...)
	if err != nil {
		return nil, err
	}
	a, err := resolve(ctx, p, src, platform)
	if err != nil {
		var pe *platformError
		if errors.As(err, &pe) || errors.Is(err, ErrNotInstaller) {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		return nil, o.Access.Explain(src, host, err)
	}
	a.host, a.puller = host, p
	return a, nil
}

func resolve(ctx context.Context, p *remote.Puller, ref name.Reference, platform string) (*Artifact, error) {
	d, err := p.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	raw, digest, platforms := d.Manifest, d.Digest.String(), []string(nil)
	if d.MediaType.IsIndex() {
		idx, err := v1.ParseIndexManifest(bytes.NewReader(d.Manifest))
		if err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
		desc, list, err := pick(idx.Manifests, platform)
		if err != nil {
			return nil, err
		}
		platforms = list
		md, err := p.Get(ctx, ref.Context().Digest(desc.Digest.String()))
		if err != nil {
			return nil, fmt.Errorf("manifest for %s: %w", platformString(desc.Platform), err)
		}
		raw, digest = md.Manifest, md.Digest.String()
	}
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if m.ArtifactType != ArtifactType || m.Config.MediaType != ConfigType {
		return nil, fmt.Errorf("%w (artifact type %q, config %q)", ErrNotInstaller, m.ArtifactType, m.Config.MediaType)
	}
	cfgRaw, err := fetchSmall(ctx, p, ref.Context(), m.Config)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	cfg, err := parseConfig(cfgRaw)
	if err != nil {
		return nil, err
	}
	if platforms == nil {
		platforms = []string{cfg.Platform()}
	}
	if platform != "" && cfg.Platform() != platform {
		return nil, &platformError{want: platform, have: platforms}
	}
	return &Artifact{Ref: ref.Context().Digest(digest), Digest: digest, Manifest: m, Config: cfg, Platforms: platforms}, nil
}

// pick chooses the entry of platform from an index; "" takes the only
// entry there is.
func pick(list []v1.Descriptor, platform string) (v1.Descriptor, []string, error) {
	var have []string
	var found *v1.Descriptor
	for i, d := range list {
		p := platformString(d.Platform)
		have = append(have, p)
		if p == platform || (platform == "" && len(list) == 1) {
			found = &list[i]
		}
	}
	sort.Strings(have)
	if found == nil {
		return v1.Descriptor{}, have, &platformError{want: platform, have: have}
	}
	return *found, have, nil
}

type platformError struct {
	want string
	have []string
}

func (e *platformError) Error() string {
	if e.want == "" {
		return fmt.Sprintf("the reference has installers for %s: choose one with --platform", strings.Join(e.have, ", "))
	}
	return fmt.Sprintf("no installer for %s (--platform): the reference has %s", e.want, strings.Join(e.have, ", "))
}

func (e *platformError) Unwrap() error { return ErrPlatform }

func platformString(p *v1.Platform) string {
	if p == nil {
		return "unknown"
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// fetchSmall reads a config-sized blob, checked against its descriptor.
func fetchSmall(ctx context.Context, p *remote.Puller, repo name.Repository, d v1.Descriptor) ([]byte, error) {
	if d.Size < 0 || d.Size > maxConfig {
		return nil, fmt.Errorf("size %d out of range", d.Size)
	}
	l, err := p.Layer(ctx, repo.Digest(d.Digest.String()))
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, d.Size+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != d.Size {
		return nil, fmt.Errorf("registry sent %d bytes, the manifest says %d", len(data), d.Size)
	}
	return data, nil
}
