package depcheck

// std allows every package of the standard library.
const std = "std"

// Test helpers: product code must never import them, tests may where the
// design says so (DESIGN.md section 6: real sshd hosts, the fake distribution).
const (
	testhost    = "internal/testhost"    // network-namespace hosts with a real sshd
	fakek8stest = "internal/fakek8stest" // builds and drives testdata/fakek8s
	benchtree   = "internal/benchtree"   // synthetic trees for benchmarks
	testreq     = "internal/testreq"     // skips of tests CI must run: loud, a failure there
	payloadtest = "internal/payloadtest" // small installers written for tests
)

// ggcr is go-containerregistry: pulls in packer, the registry adapter, and
// registries for tests.
const ggcr = "github.com/google/go-containerregistry/..."

// rules is DESIGN.md section 1 as allow-lists. pkg is a package or a tree
// ("x/..."), relative to the module; a tree may always import inside itself
// ("sub-packages are free"). Entries are std, project packages (relative) or
// external packages, with "/..." for everything below. Project entries come
// from DESIGN.md; external ones, where DESIGN.md is silent, from what the code
// imports for its job. Every package of the module is covered by exactly one
// rule.
var rules = []rule{
	// The on-disk format: DESIGN.md says std and zstd, nothing else.
	{pkg: "payload",
		imports: []string{std, "github.com/klauspost/compress/zstd"},
		tests:   []string{benchtree}},

	// The build: payload below it; buildkit's Dockerfile parser (not the rest
	// of buildkit), helm for charts, go-containerregistry for pulls. It
	// reports progress through callbacks: bars are the commands' (internal/progress).
	{pkg: "packer/...",
		imports: []string{std, "payload", "internal/shell",
			"github.com/moby/buildkit/frontend/dockerfile/...",
			"helm.sh/helm/v3/...",
			"sigs.k8s.io/yaml",
			"github.com/distribution/reference",
			"github.com/CycloneDX/cyclonedx-go", // packer/sbom, the bill of materials
			"golang.org/x/sync/errgroup",        // packer/artifact: blobs sent and fetched in parallel
			ggcr},
		// packer/artifact's tests: a distribution/v3 registry, with htpasswd.
		tests: []string{"github.com/xeipuuv/gojsonschema", benchtree, "github.com/distribution/distribution/v3/...", "github.com/sirupsen/logrus", "golang.org/x/crypto/bcrypt"}},

	// The embedded registry: payload below it; distribution serves, logrus is
	// distribution's logger, go-containerregistry pushes.
	{pkg: "registry/...",
		imports: []string{std, "payload",
			"github.com/distribution/distribution/v3/...",
			"github.com/distribution/reference",
			ggcr,
			"github.com/sirupsen/logrus"},
		tests: []string{testreq, "golang.org/x/crypto/bcrypt", "golang.org/x/sys/unix"}},

	// The deployer: payload only (it is handed the registry's address, it
	// does not import the registry); SSH and SFTP for the hosts; bcrypt for
	// the registries' htpasswd.
	{pkg: "deployer/...",
		imports: []string{std, "payload", "internal/shell",
			"go.yaml.in/yaml/v3",
			"golang.org/x/crypto/ssh/...",
			"golang.org/x/crypto/bcrypt",
			"github.com/pkg/sftp"},
		tests: []string{testhost, fakek8stest, testreq, payloadtest}},

	// The wizard: the deployer's config and event types, not the deployer
	// (and so no SSH), and payload's metadata.
	{pkg: "tui/...",
		imports: []string{std, "payload", "internal/shell", "deployer/clusterfile", "deployer/event",
			"github.com/charmbracelet/bubbles/...",
			"github.com/charmbracelet/bubbletea",
			"github.com/charmbracelet/lipgloss",
			"github.com/charmbracelet/x/ansi",
			"github.com/muesli/termenv"},
		tests: []string{"github.com/charmbracelet/x/exp/teatest"}},

	// The installer: everything it runs, and no build code.
	{pkg: "stub/...",
		imports: []string{std, "payload", "registry/...", "deployer/...", "tui/...",
			"internal/progress", "internal/version", "internal/apilb", "internal/shell", "internal/signature",
			"github.com/spf13/cobra",
			"golang.org/x/term"}, // passwords asked for without echo
		tests: []string{testhost, fakek8stest, testreq, "golang.org/x/sys/unix", "golang.org/x/crypto/ssh",
			"github.com/klauspost/compress/zstd"}}, // an index rewritten by hand (signature tests)

	// The build tool: packer and payload; authn for --registry-auth.
	{pkg: "cmd/...",
		imports: []string{std, "packer/...", "payload",
			"internal/progress", "internal/version", "internal/signature",
			"github.com/spf13/cobra",
			"github.com/google/go-containerregistry/pkg/authn",
			"golang.org/x/term"}, // a signing key's passphrase, asked for without echo
		tests: []string{ggcr, testhost, fakek8stest, // the composed installer installed on test hosts
			testreq}}, // the README's signature check needs openssl and jq

	// internal/: shared helpers (imported by cmd and stub), test helpers
	// (imported by tests only) and tools (imported by nothing).
	{pkg: "internal/version", imports: []string{std}},
	{pkg: "internal/shell", imports: []string{std}},
	{pkg: "internal/apilb", imports: []string{std}}, // the nodes' apiserver balancer, run by the stub
	// Keys and envelopes of signed installers (cmd signs, the stub checks):
	// DSSE envelopes and cosign's key encryption from go-securesystemslib.
	{pkg: "internal/signature",
		imports: []string{std, "payload",
			"github.com/secure-systems-lab/go-securesystemslib/dsse",
			"github.com/secure-systems-lab/go-securesystemslib/encrypted"},
		tests: []string{testreq, payloadtest}},
	{pkg: "internal/progress", imports: []string{std, "github.com/schollz/progressbar/v3", "golang.org/x/term"}},
	{pkg: testhost + "/...", imports: []string{std, testreq, "golang.org/x/crypto/ssh"}},
	{pkg: testreq, imports: []string{std}},
	{pkg: payloadtest, imports: []string{std, "payload"}},
	{pkg: fakek8stest, imports: []string{std}, tests: []string{testhost}},
	{pkg: benchtree, imports: []string{std}},
	{pkg: "internal/benchtool", imports: []string{std, benchtree}},
	{pkg: "internal/demoregistry", imports: []string{std, ggcr}},
	{pkg: "internal/kubeimages", imports: []string{std, ggcr}, tests: []string{testreq}},
	{pkg: "internal/kubee2e", imports: []string{std}, tests: []string{testhost, testreq, ggcr, "github.com/distribution/distribution/v3/...", "golang.org/x/crypto/bcrypt"}},
	{pkg: "internal/depcheck", imports: []string{std}},
}

// bans are kept over whole build closures: what an allowed external module
// could pull in indirectly, and what must never ship in a binary.
var bans = []ban{
	{pkg: "stub",
		why:    "the installer carries no build code (STYLE.md: stub must not import packer)",
		banned: []string{"packer/...", "helm.sh/...", "github.com/moby/buildkit/...", "k8s.io/..."}},
	{pkg: "tui/...",
		why:    "the wizard never opens SSH itself (STYLE.md habit 13)",
		banned: []string{"deployer/ssh/...", "golang.org/x/crypto/ssh/...", "github.com/pkg/sftp/...", "helm.sh/..."}},
	{pkg: "deployer/...",
		why:    "the deployer is handed the registry's address: it builds and pulls nothing",
		banned: []string{"helm.sh/...", "github.com/moby/buildkit/...", ggcr}},
	{pkg: "registry/...",
		why:    "the registry serves what the payload holds: no build code",
		banned: []string{"helm.sh/...", "github.com/moby/buildkit/..."}},
}
