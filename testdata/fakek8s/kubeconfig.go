package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// kubeconfig is the v1 Config file format (the subset kubeadm writes and
// kubectl reads).
type kubeconfig struct {
	APIVersion     string         `json:"apiVersion"`
	Kind           string         `json:"kind"`
	Clusters       []namedCluster `json:"clusters"`
	Contexts       []namedContext `json:"contexts"`
	CurrentContext string         `json:"current-context"`
	Preferences    map[string]any `json:"preferences"`
	Users          []namedUser    `json:"users"`
}

type namedCluster struct {
	Name    string      `json:"name"`
	Cluster clusterInfo `json:"cluster"`
}

type clusterInfo struct {
	Server                   string `json:"server"`
	CertificateAuthorityData string `json:"certificate-authority-data,omitempty"`
	CertificateAuthority     string `json:"certificate-authority,omitempty"`
	InsecureSkipTLSVerify    bool   `json:"insecure-skip-tls-verify,omitempty"`
}

type namedContext struct {
	Name    string      `json:"name"`
	Context contextInfo `json:"context"`
}

type contextInfo struct {
	Cluster   string `json:"cluster"`
	User      string `json:"user"`
	Namespace string `json:"namespace,omitempty"`
}

type namedUser struct {
	Name string   `json:"name"`
	User userInfo `json:"user"`
}

type userInfo struct {
	ClientCertificateData string `json:"client-certificate-data,omitempty"`
	ClientKeyData         string `json:"client-key-data,omitempty"`
	ClientCertificate     string `json:"client-certificate,omitempty"`
	ClientKey             string `json:"client-key,omitempty"`
	Token                 string `json:"token,omitempty"`
}

// newKubeconfig builds a one-cluster, one-user config as kubeadm writes
// them; kp nil means a config with a bearer token (bootstrap-kubelet.conf).
func newKubeconfig(clusterName, server string, caPEM []byte, userName string, kp *keyPair, token string) (*kubeconfig, error) {
	u := userInfo{Token: token}
	if kp != nil {
		keyPEM, err := kp.keyPEM()
		if err != nil {
			return nil, err
		}
		u.ClientCertificateData = base64.StdEncoding.EncodeToString(kp.certPEM())
		u.ClientKeyData = base64.StdEncoding.EncodeToString(keyPEM)
	}
	ctx := userName + "@" + clusterName
	return &kubeconfig{
		APIVersion:     "v1",
		Kind:           "Config",
		Clusters:       []namedCluster{{Name: clusterName, Cluster: clusterInfo{Server: server, CertificateAuthorityData: base64.StdEncoding.EncodeToString(caPEM)}}},
		Contexts:       []namedContext{{Name: ctx, Context: contextInfo{Cluster: clusterName, User: userName}}},
		CurrentContext: ctx,
		Preferences:    map[string]any{},
		Users:          []namedUser{{Name: userName, User: u}},
	}, nil
}

func (kc *kubeconfig) write(path string) error {
	data, err := yaml.Marshal(kc)
	if err != nil {
		return err
	}
	return writeFile(path, data, 0o600)
}

func parseKubeconfig(data []byte, source string) (*kubeconfig, error) {
	var kc kubeconfig
	if err := yaml.Unmarshal(data, &kc); err != nil {
		return nil, fmt.Errorf("error loading config file %q: %w", source, err)
	}
	// Relative file references are relative to the file that holds them.
	if source != "" {
		dir := filepath.Dir(source)
		for i := range kc.Clusters {
			c := &kc.Clusters[i].Cluster
			if c.CertificateAuthority != "" && !filepath.IsAbs(c.CertificateAuthority) {
				c.CertificateAuthority = filepath.Join(dir, c.CertificateAuthority)
			}
		}
		for i := range kc.Users {
			u := &kc.Users[i].User
			for _, p := range []*string{&u.ClientCertificate, &u.ClientKey} {
				if *p != "" && !filepath.IsAbs(*p) {
					*p = filepath.Join(dir, *p)
				}
			}
		}
	}
	return &kc, nil
}

func loadKubeconfig(path string) (*kubeconfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseKubeconfig(data, path)
}

// merge adds other's entries that kc lacks: the first file to define a name
// wins, as in kubectl's KUBECONFIG merging.
func (kc *kubeconfig) merge(other *kubeconfig) {
	if kc.CurrentContext == "" {
		kc.CurrentContext = other.CurrentContext
	}
	for _, c := range other.Clusters {
		if kc.cluster(c.Name) == nil {
			kc.Clusters = append(kc.Clusters, c)
		}
	}
	for _, c := range other.Contexts {
		if kc.context(c.Name) == nil {
			kc.Contexts = append(kc.Contexts, c)
		}
	}
	for _, u := range other.Users {
		if kc.user(u.Name) == nil {
			kc.Users = append(kc.Users, u)
		}
	}
}

func (kc *kubeconfig) cluster(name string) *clusterInfo {
	for i := range kc.Clusters {
		if kc.Clusters[i].Name == name {
			return &kc.Clusters[i].Cluster
		}
	}
	return nil
}

func (kc *kubeconfig) context(name string) *contextInfo {
	for i := range kc.Contexts {
		if kc.Contexts[i].Name == name {
			return &kc.Contexts[i].Context
		}
	}
	return nil
}

func (kc *kubeconfig) user(name string) *userInfo {
	for i := range kc.Users {
		if kc.Users[i].Name == name {
			return &kc.Users[i].User
		}
	}
	return nil
}

// restConfig is what a client needs to reach an apiserver.
type restConfig struct {
	server    string
	caPEM     []byte
	insecure  bool
	certPEM   []byte
	keyPEM    []byte
	token     string
	namespace string
}

// overrides are kubectl's global flags that change the kubeconfig's choice.
type overrides struct {
	context, cluster, user, server, token, namespace string
	insecure                                         bool
}

// restConfig resolves the current (or chosen) context.
func (kc *kubeconfig) restConfig(o overrides) (*restConfig, error) {
	ctxName := kc.CurrentContext
	if o.context != "" {
		ctxName = o.context
	}
	var ctx contextInfo
	if ctxName != "" {
		c := kc.context(ctxName)
		if c == nil {
			return nil, fmt.Errorf("context was not found for specified context: %s", ctxName)
		}
		ctx = *c
	}
	if o.cluster != "" {
		ctx.Cluster = o.cluster
	}
	if o.user != "" {
		ctx.User = o.user
	}
	rc := &restConfig{namespace: ctx.Namespace}
	if ctx.Cluster != "" || ctxName != "" {
		cl := kc.cluster(ctx.Cluster)
		if cl == nil {
			return nil, fmt.Errorf("cluster %q not found in the kubeconfig", ctx.Cluster)
		}
		rc.server, rc.insecure = cl.Server, cl.InsecureSkipTLSVerify
		switch {
		case cl.CertificateAuthorityData != "":
			b, err := base64.StdEncoding.DecodeString(cl.CertificateAuthorityData)
			if err != nil {
				return nil, fmt.Errorf("cluster %q: certificate-authority-data: %w", ctx.Cluster, err)
			}
			rc.caPEM = b
		case cl.CertificateAuthority != "":
			b, err := os.ReadFile(cl.CertificateAuthority)
			if err != nil {
				return nil, fmt.Errorf("unable to read certificate-authority %s for %s due to %w", cl.CertificateAuthority, ctx.Cluster, err)
			}
			rc.caPEM = b
		}
	}
	if ctx.User != "" {
		if u := kc.user(ctx.User); u != nil {
			if err := u.load(rc); err != nil {
				return nil, fmt.Errorf("user %q: %w", ctx.User, err)
			}
		}
	}
	if o.server != "" {
		rc.server = o.server
	}
	if o.token != "" {
		rc.token = o.token
	}
	if o.insecure {
		rc.insecure = true
	}
	if o.namespace != "" {
		rc.namespace = o.namespace
	}
	if rc.server == "" {
		rc.server = "http://localhost:8080"
	}
	if rc.namespace == "" {
		rc.namespace = "default"
	}
	return rc, nil
}

func (u *userInfo) load(rc *restConfig) error {
	rc.token = u.Token
	decode := func(data, file, what string) ([]byte, error) {
		if data != "" {
			b, err := base64.StdEncoding.DecodeString(data)
			if err != nil {
				return nil, fmt.Errorf("%s-data: %w", what, err)
			}
			return b, nil
		}
		if file != "" {
			return os.ReadFile(file)
		}
		return nil, nil
	}
	var err error
	if rc.certPEM, err = decode(u.ClientCertificateData, u.ClientCertificate, "client-certificate"); err != nil {
		return err
	}
	if rc.keyPEM, err = decode(u.ClientKeyData, u.ClientKey, "client-key"); err != nil {
		return err
	}
	if (rc.certPEM == nil) != (rc.keyPEM == nil) {
		return errors.New("client-certificate and client-key must be given together")
	}
	return nil
}

// kubectlConfig finds the kubeconfig the way kubectl does: --kubeconfig,
// then $KUBECONFIG (a list, merged), then ~/.kube/config; none at all means
// localhost:8080, which is refused.
func kubectlConfig(explicit string, o overrides) (*restConfig, error) {
	kc := &kubeconfig{}
	switch {
	case explicit != "":
		k, err := loadKubeconfig(explicit)
		if err != nil {
			return nil, fmt.Errorf("stat %s: %w", explicit, unwrapPathErr(err))
		}
		kc = k
	case os.Getenv("KUBECONFIG") != "":
		for _, p := range filepath.SplitList(os.Getenv("KUBECONFIG")) {
			if p == "" {
				continue
			}
			k, err := loadKubeconfig(p)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			kc.merge(k)
		}
	default:
		if home, err := os.UserHomeDir(); err == nil {
			k, err := loadKubeconfig(filepath.Join(home, ".kube", "config"))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
			if k != nil {
				kc = k
			}
		}
	}
	return kc.restConfig(o)
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// serverHostPort is the host:port of an https:// URL, as kubeadm prints it
// in join commands.
func serverHostPort(server string) string {
	return strings.TrimPrefix(strings.TrimPrefix(server, "https://"), "http://")
}
