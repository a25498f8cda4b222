package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// extraArgs reads both v1beta3's map and v1beta4's list of {name, value}.
type extraArgs []argPair

type argPair struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func (a *extraArgs) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '{' {
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		for _, k := range sortedKeys(m) {
			*a = append(*a, argPair{k, m[k]})
		}
		return nil
	}
	var l []argPair
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*a = l
	return nil
}

// get returns the last value of name (later entries override).
func (a extraArgs) get(name string) string {
	v := ""
	for _, p := range a {
		if p.Name == name {
			v = p.Value
		}
	}
	return v
}

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

type nodeTaint struct {
	Key       string  `json:"key"`
	Value     string  `json:"value,omitempty"`
	Effect    string  `json:"effect"`
	TimeAdded *string `json:"timeAdded,omitempty"`
}

type nodeRegistration struct {
	Name                  string       `json:"name"`
	CRISocket             string       `json:"criSocket"`
	Taints                *[]nodeTaint `json:"taints"` // nil: the default for the role
	KubeletExtraArgs      extraArgs    `json:"kubeletExtraArgs"`
	IgnorePreflightErrors []string     `json:"ignorePreflightErrors"`
	ImagePullPolicy       string       `json:"imagePullPolicy"`
	ImagePullSerial       *bool        `json:"imagePullSerial"`
}

type apiEndpoint struct {
	AdvertiseAddress string `json:"advertiseAddress"`
	BindPort         int32  `json:"bindPort"`
}

type bootstrapTokenSpec struct {
	Token       string   `json:"token"`
	Description string   `json:"description"`
	TTL         string   `json:"ttl"`
	Expires     string   `json:"expires"`
	Usages      []string `json:"usages"`
	Groups      []string `json:"groups"`
}

type patchesSpec struct {
	Directory string `json:"directory"`
}

type initConfiguration struct {
	typeMeta
	BootstrapTokens  []bootstrapTokenSpec `json:"bootstrapTokens"`
	NodeRegistration nodeRegistration     `json:"nodeRegistration"`
	LocalAPIEndpoint apiEndpoint          `json:"localAPIEndpoint"`
	CertificateKey   string               `json:"certificateKey"`
	SkipPhases       []string             `json:"skipPhases"`
	Patches          *patchesSpec         `json:"patches"`
	DryRun           bool                 `json:"dryRun"`
	Timeouts         json.RawMessage      `json:"timeouts"`
}

type controlPlaneComponent struct {
	ExtraArgs              extraArgs         `json:"extraArgs"`
	ExtraVolumes           []json.RawMessage `json:"extraVolumes"`
	ExtraEnvs              []json.RawMessage `json:"extraEnvs"`
	CertSANs               []string          `json:"certSANs"`
	TimeoutForControlPlane string            `json:"timeoutForControlPlane"`
}

type clusterConfiguration struct {
	typeMeta
	Etcd       json.RawMessage `json:"etcd"`
	Networking struct {
		ServiceSubnet string `json:"serviceSubnet"`
		PodSubnet     string `json:"podSubnet"`
		DNSDomain     string `json:"dnsDomain"`
	} `json:"networking"`
	KubernetesVersion    string                `json:"kubernetesVersion"`
	ControlPlaneEndpoint string                `json:"controlPlaneEndpoint"`
	APIServer            controlPlaneComponent `json:"apiServer"`
	ControllerManager    controlPlaneComponent `json:"controllerManager"`
	Scheduler            controlPlaneComponent `json:"scheduler"`
	DNS                  struct {
		ImageRepository string `json:"imageRepository"`
		ImageTag        string `json:"imageTag"`
		Disabled        bool   `json:"disabled"`
	} `json:"dns"`
	Proxy struct {
		Disabled bool `json:"disabled"`
	} `json:"proxy"`
	CertificatesDir             string          `json:"certificatesDir"`
	ImageRepository             string          `json:"imageRepository"`
	FeatureGates                map[string]bool `json:"featureGates"`
	ClusterName                 string          `json:"clusterName"`
	EncryptionAlgorithm         string          `json:"encryptionAlgorithm"`
	CertificateValidityPeriod   string          `json:"certificateValidityPeriod"`
	CACertificateValidityPeriod string          `json:"caCertificateValidityPeriod"`
}

type bootstrapTokenDiscovery struct {
	Token                    string   `json:"token"`
	APIServerEndpoint        string   `json:"apiServerEndpoint"`
	CACertHashes             []string `json:"caCertHashes"`
	UnsafeSkipCAVerification bool     `json:"unsafeSkipCAVerification"`
}

type joinControlPlane struct {
	LocalAPIEndpoint apiEndpoint `json:"localAPIEndpoint"`
	CertificateKey   string      `json:"certificateKey"`
}

type joinConfiguration struct {
	typeMeta
	NodeRegistration nodeRegistration `json:"nodeRegistration"`
	CACertPath       string           `json:"caCertPath"`
	Discovery        struct {
		BootstrapToken *bootstrapTokenDiscovery `json:"bootstrapToken"`
		File           *struct {
			KubeConfigPath string `json:"kubeConfigPath"`
		} `json:"file"`
		TLSBootstrapToken string `json:"tlsBootstrapToken"`
		Timeout           string `json:"timeout"`
	} `json:"discovery"`
	ControlPlane *joinControlPlane `json:"controlPlane"`
	SkipPhases   []string          `json:"skipPhases"`
	Patches      *patchesSpec      `json:"patches"`
	DryRun       bool              `json:"dryRun"`
	Timeouts     *struct {
		ControlPlaneComponentHealthCheck string `json:"controlPlaneComponentHealthCheck"`
		KubeletHealthCheck               string `json:"kubeletHealthCheck"`
		KubernetesAPICall                string `json:"kubernetesAPICall"`
		EtcdAPICall                      string `json:"etcdAPICall"`
		TLSBootstrap                     string `json:"tlsBootstrap"`
		Discovery                        string `json:"discovery"`
		UpgradeManifests                 string `json:"upgradeManifests"`
	} `json:"timeouts"`
}

// kubeadmDocs is a parsed --config file.
type kubeadmDocs struct {
	init       *initConfiguration
	cluster    *clusterConfiguration
	clusterDoc map[string]any // as written, for the kubeadm-config ConfigMap
	join       *joinConfiguration
	kubelet    map[string]any
	kubeProxy  map[string]any
	warnings   []string
}

// splitYAML splits a multi-document stream on "---" lines.
func splitYAML(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		t := bytes.TrimRight(line, " \t\r\n")
		if bytes.Equal(t, []byte("---")) || bytes.HasPrefix(t, []byte("--- ")) {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
			cur.Reset()
			continue
		}
		cur.Write(line)
	}
	return append(docs, cur.Bytes())
}

var oldKubeadmVersions = map[string]bool{"v1alpha1": true, "v1alpha2": true, "v1alpha3": true, "v1beta1": true, "v1beta2": true}

// parseKubeadmConfig reads a kubeadm configuration file the way kubeadm's
// loader does: documents are told apart by apiVersion and kind; kubeadm
// and component-config kinds are decoded (unknown fields are warnings,
// wrong types are errors); documents of other groups are ignored with a
// warning.
func parseKubeadmConfig(data []byte, source string) (*kubeadmDocs, error) {
	d := &kubeadmDocs{}
	seen := map[string]bool{}
	for i, doc := range splitYAML(data) {
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, i+1, err)
		}
		if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
			continue
		}
		var tm typeMeta
		if err := json.Unmarshal(js, &tm); err != nil {
			return nil, fmt.Errorf("%s: document %d: couldn't interpret the document: %w", source, i+1, err)
		}
		if tm.Kind == "" {
			return nil, fmt.Errorf("%s: document %d: Object 'Kind' is missing in '%s'", source, i+1, strings.TrimSpace(string(js)))
		}
		if tm.APIVersion == "" {
			return nil, fmt.Errorf("%s: document %d: Object 'apiVersion' is missing in '%s'", source, i+1, strings.TrimSpace(string(js)))
		}
		gvk := tm.APIVersion + ", Kind=" + tm.Kind
		if seen[gvk] {
			return nil, fmt.Errorf("invalid configuration: GroupVersionKind %s is specified twice in YAML", gvk)
		}
		seen[gvk] = true
		group, ver := splitAPIVersion(tm.APIVersion)
		noKind := fmt.Errorf("no kind %q is registered for version %q in scheme \"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31\"", tm.Kind, tm.APIVersion)
		switch group {
		case "kubeadm.k8s.io":
			if oldKubeadmVersions[ver] {
				return nil, fmt.Errorf("your configuration file uses an old API spec: %q. Please use kubeadm v1.22 instead and run 'kubeadm config migrate --old-config old.yaml --new-config new.yaml', which will write the new, similar spec using a newer API version.", tm.APIVersion)
			}
			if ver != "v1beta3" && ver != "v1beta4" {
				return nil, noKind
			}
			var target any
			switch tm.Kind {
			case "InitConfiguration":
				d.init = &initConfiguration{}
				target = d.init
			case "ClusterConfiguration":
				d.cluster = &clusterConfiguration{}
				target = d.cluster
				if err := json.Unmarshal(js, &d.clusterDoc); err != nil {
					return nil, err
				}
			case "JoinConfiguration":
				d.join = &joinConfiguration{}
				target = d.join
			case "ResetConfiguration", "UpgradeConfiguration":
				if ver == "v1beta3" {
					return nil, noKind
				}
				continue
			default:
				return nil, noKind
			}
			if err := json.Unmarshal(js, target); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", source, gvk, err)
			}
			d.strictCheck(js, target, gvk)
		case "kubelet.config.k8s.io", "kubeproxy.config.k8s.io":
			want := map[string]string{"kubelet.config.k8s.io": "KubeletConfiguration", "kubeproxy.config.k8s.io": "KubeProxyConfiguration"}[group]
			wantVer := map[string]string{"kubelet.config.k8s.io": "v1beta1", "kubeproxy.config.k8s.io": "v1alpha1"}[group]
			if tm.Kind != want || ver != wantVer {
				return nil, fmt.Errorf("unable to decode config from bytes: no kind %q is registered for version %q", tm.Kind, tm.APIVersion)
			}
			var m map[string]any
			if err := json.Unmarshal(js, &m); err != nil {
				return nil, err
			}
			if group == "kubelet.config.k8s.io" {
				d.kubelet = m
			} else {
				d.kubeProxy = m
			}
		default:
			d.warnings = append(d.warnings, fmt.Sprintf("[config] WARNING: Ignored YAML document with GroupVersionKind %s", gvk))
		}
	}
	return d, nil
}

// strictCheck reports unknown fields as kubeadm does: a warning, not an
// error.
func (d *kubeadmDocs) strictCheck(js []byte, target any, gvk string) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	fresh := newLike(target)
	if err := dec.Decode(fresh); err != nil {
		msg := strings.TrimPrefix(err.Error(), "json: ")
		d.warnings = append(d.warnings, fmt.Sprintf("error unmarshaling configuration %s: strict decoding error: %s", gvk, msg))
	}
}

func newLike(v any) any {
	switch v.(type) {
	case *initConfiguration:
		return &initConfiguration{}
	case *clusterConfiguration:
		return &clusterConfiguration{}
	case *joinConfiguration:
		return &joinConfiguration{}
	}
	return &map[string]any{}
}

// goValue is a value already formatted as Go syntax (printed unquoted).
type goValue string

// fieldErrors collects validation errors like k8s.io/apimachinery's
// field.ErrorList.
type fieldErrors []string

func (fe *fieldErrors) invalid(path string, value any, detail string) {
	v := fmt.Sprintf("%v", value)
	if s, ok := value.(string); ok {
		v = strconv.Quote(s)
	}
	*fe = append(*fe, fmt.Sprintf("%s: Invalid value: %s: %s", path, v, detail))
}

func (fe fieldErrors) err() error {
	switch len(fe) {
	case 0:
		return nil
	case 1:
		return errors.New(fe[0])
	}
	return errors.New("[" + strings.Join(fe, ", ") + "]")
}

var (
	semverRE   = regexp.MustCompile(`^v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	versionLbl = regexp.MustCompile(`^((ci|release)/)?(stable|latest|latest-\d+\.\d+|stable-\d+(\.\d+)?)$`)
	dnsLabelRE = regexp.MustCompile(`^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// resolveKubernetesVersion is kubeadm's: a semantic version, or a label
// that kubeadm would look up online; offline it falls back to its own
// version with a warning.
func resolveKubernetesVersion(v string) (string, []string, error) {
	if v == "" {
		v = "stable-1"
	}
	if m := semverRE.FindStringSubmatch(v); m != nil {
		if !strings.HasPrefix(v, "v") {
			v = "v" + v
		}
		return v, nil, checkVersionSkew(v)
	}
	if versionLbl.MatchString(v) {
		url := "https://dl.k8s.io/release/" + v + ".txt"
		return version, []string{
			fmt.Sprintf("could not fetch a Kubernetes version from the internet: unable to get URL %q: Get %q: dial tcp: lookup cdn.dl.k8s.io on 127.0.0.53:53: server misbehaving", url, url),
			"falling back to the local client version: " + version,
		}, nil
	}
	return "", nil, fmt.Errorf("version %q doesn't match patterns for neither semantic version nor labels (stable, latest, ...)", v)
}

func minorOf(v string) (int, int) {
	m := semverRE.FindStringSubmatch(v)
	if m == nil {
		return 0, 0
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return major, minor
}

func minorOfVersion(v string) int {
	_, m := minorOf(v)
	return m
}

func checkVersionSkew(v string) error {
	kmaj, kmin := minorOf(version)
	maj, min := minorOf(v)
	if maj < kmaj || (maj == kmaj && min < kmin-1) {
		return fmt.Errorf("this version of kubeadm only supports deploying clusters with the control plane version >= %d.%d.0. Current version: %s", kmaj, kmin-1, v)
	}
	return nil
}

// validateCIDRs checks a comma-separated list of at most two subnets.
func validateCIDRs(fe *fieldErrors, path, v string, service bool) {
	if v == "" {
		return
	}
	parts := strings.Split(v, ",")
	if len(parts) > 2 {
		fe.invalid(path, v, "expected a maximum of two subnets, one from each IP family (dual-stack)")
		return
	}
	for _, p := range parts {
		_, n, err := net.ParseCIDR(strings.TrimSpace(p))
		if err != nil {
			fe.invalid(path, v, "couldn't parse subnet")
			continue
		}
		ones, bits := n.Mask.Size()
		if service && bits == 32 && ones < 12 {
			fe.invalid(path, v, "specified service subnet is too large; for 32-bit addresses, the mask must be >= 12")
		}
	}
}

func validateTaints(fe *fieldErrors, path string, taints *[]nodeTaint) {
	if taints == nil {
		return
	}
	for i, t := range *taints {
		p := fmt.Sprintf("%s.taints[%d]", path, i)
		if t.Key == "" {
			*fe = append(*fe, p+".key: Required value")
		}
		switch t.Effect {
		case "NoSchedule", "PreferNoSchedule", "NoExecute":
		default:
			*fe = append(*fe, fmt.Sprintf(`%s.effect: Unsupported value: %q: supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`, p, t.Effect))
		}
	}
}

func validateNodeRegistration(fe *fieldErrors, nr *nodeRegistration) {
	if nr.Name != "" && (len(nr.Name) > 253 || !dns1123Subdomain.MatchString(nr.Name)) {
		fe.invalid("nodeRegistration.name", nr.Name, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character")
	}
	if nr.CRISocket != "" && !strings.HasPrefix(nr.CRISocket, "unix://") && !strings.HasPrefix(nr.CRISocket, "/") {
		fe.invalid("nodeRegistration.criSocket", nr.CRISocket, "path is not absolute")
	}
	validateTaints(fe, "nodeRegistration", nr.Taints)
}

func validateEndpoint(fe *fieldErrors, path string, ep apiEndpoint) {
	if ep.AdvertiseAddress != "" && net.ParseIP(ep.AdvertiseAddress) == nil {
		fe.invalid(path+".advertiseAddress", ep.AdvertiseAddress, "cannot parse IP address")
	}
	if ep.AdvertiseAddress != "" && net.ParseIP(ep.AdvertiseAddress).IsUnspecified() {
		fe.invalid(path+".advertiseAddress", ep.AdvertiseAddress, fmt.Sprintf("cannot use %q as the bind address for the API Server", ep.AdvertiseAddress))
	}
	if ep.BindPort < 0 || ep.BindPort > 65535 {
		fe.invalid(path+".bindPort", ep.BindPort, "must be a valid port number between 1 and 65535, inclusive")
	}
}

func validateCertificateKey(fe *fieldErrors, path, key string) {
	if key == "" {
		return
	}
	if _, err := decodeCertificateKey(key); err != nil {
		fe.invalid(path, key, strings.TrimPrefix(err.Error(), "error decoding certificate key: "))
	}
}

// kubeadmFeatureGates are the gates kubeadm v1.30 knows.
var kubeadmFeatureGates = map[string]bool{
	"EtcdLearnerMode": true, "PublicKeysECDSA": true, "RootlessControlPlane": true,
	"UpgradeAddonsBeforeControlPlane": true, "WaitForAllControlPlaneComponents": true,
}

// validateInit checks InitConfiguration and ClusterConfiguration after
// defaulting.
func validateInit(ic *initConfiguration, cc *clusterConfiguration) error {
	var fe fieldErrors
	for i, bt := range ic.BootstrapTokens {
		if !tokenRE.MatchString(bt.Token) {
			fe.invalid(fmt.Sprintf("bootstrapTokens[%d].token", i), bt.Token, "the bootstrap token is invalid")
		}
		if bt.TTL != "" {
			if _, err := time.ParseDuration(bt.TTL); err != nil {
				fe.invalid(fmt.Sprintf("bootstrapTokens[%d].ttl", i), bt.TTL, err.Error())
			}
		}
		for j, u := range bt.Usages {
			if u != "signing" && u != "authentication" {
				fe.invalid(fmt.Sprintf("bootstrapTokens[%d].usages[%d]", i, j), u, "unknown usage")
			}
		}
	}
	validateNodeRegistration(&fe, &ic.NodeRegistration)
	validateEndpoint(&fe, "localAPIEndpoint", ic.LocalAPIEndpoint)
	validateCertificateKey(&fe, "certificateKey", ic.CertificateKey)
	validateCIDRs(&fe, "networking.podSubnet", cc.Networking.PodSubnet, false)
	validateCIDRs(&fe, "networking.serviceSubnet", cc.Networking.ServiceSubnet, true)
	if cc.Networking.DNSDomain != "" && !dnsLabelRE.MatchString(cc.Networking.DNSDomain) {
		fe.invalid("networking.dnsDomain", cc.Networking.DNSDomain, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'")
	}
	if cpe := cc.ControlPlaneEndpoint; cpe != "" {
		if _, _, err := parseHostPort(cpe); err != nil {
			fe.invalid("controlPlaneEndpoint", cpe, err.Error())
		}
	}
	for i, san := range cc.APIServer.CertSANs {
		if net.ParseIP(san) == nil && !dnsLabelRE.MatchString(san) {
			fe.invalid(fmt.Sprintf("apiServer.certSANs[%d]", i), san, "altname is not a valid IP address, DNS label or a DNS label with subdomain wildcards")
		}
	}
	for _, k := range sortedKeys(cc.FeatureGates) {
		if !kubeadmFeatureGates[k] {
			fe.invalid("featureGates", goValue(fmt.Sprintf("map[string]bool{%q:%v}", k, cc.FeatureGates[k])), k+" is not a valid feature name.")
		}
	}
	return fe.err()
}

// parseHostPort splits "host[:port]"; the port defaults to 6443.
func parseHostPort(s string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") {
			host, portStr = strings.Trim(s, "[]"), "6443"
		} else {
			return "", 0, err
		}
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("port must be a valid number between 1 and 65535, inclusive")
	}
	if host == "" {
		return "", 0, errors.New("host is empty")
	}
	if net.ParseIP(host) == nil && !dnsLabelRE.MatchString(host) {
		return "", 0, fmt.Errorf("%q is neither an IP address nor a DNS name", host)
	}
	return host, port, nil
}
