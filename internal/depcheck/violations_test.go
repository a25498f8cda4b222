package depcheck

import (
	"slices"
	"strings"
	"testing"
)

// forbidden is one violation per row, checked against the real rules over a
// synthetic graph: the edges are added to a graph the rules accept, and
// exactly the problems in want (prefixes) must come out. A chain of edges
// shows a ban catching what no allow-list sees: a package reached through
// an allowed external module.
var forbidden = []struct {
	name  string
	edges []edge
	want  []string
}{
	// Direct imports, non-test files: one or more per rule.
	{"payload takes cobra", []edge{{from: "payload", to: "github.com/spf13/cobra"}},
		[]string{"payload imports github.com/spf13/cobra:"}},
	{"payload takes logrus", []edge{{from: "payload", to: "github.com/sirupsen/logrus"}},
		[]string{"payload imports github.com/sirupsen/logrus:"}},
	{"payload looks up", []edge{{from: "payload", to: "packer"}},
		[]string{"payload imports packer:"}},
	{"packer takes the test harness", []edge{{from: "packer", to: testhost}},
		[]string{"packer imports internal/testhost:"}},
	{"packer/pull draws its own bar", []edge{{from: "packer/pull", to: "github.com/schollz/progressbar/v3"}},
		[]string{"packer/pull imports github.com/schollz/progressbar/v3:"}},
	{"packer/pull pushes through the registry", []edge{{from: "packer/pull", to: "registry"}},
		[]string{"packer/pull imports registry:"}},
	{"kubefile takes more of buildkit than its parser", []edge{{from: "packer/kubefile", to: "github.com/moby/buildkit/client"}},
		[]string{"packer/kubefile imports github.com/moby/buildkit/client:"}},
	{"registry looks up at packer", []edge{{from: "registry", to: "packer"}},
		[]string{"registry imports packer:"}},
	{"registry looks across at deployer", []edge{{from: "registry", to: "deployer"}},
		[]string{"registry imports deployer:"}},
	{"deployer imports the registry", []edge{{from: "deployer", to: "registry"}},
		[]string{"deployer imports registry:"}},
	{"deployer looks up at tui", []edge{{from: "deployer/clusterfile", to: "tui"}},
		[]string{"deployer/clusterfile imports tui:"}},
	{"tui takes the deployer itself", []edge{{from: "tui", to: "deployer"}},
		[]string{"tui imports deployer:"}},
	{"tui opens SSH", []edge{{from: "tui", to: "deployer/ssh"}},
		[]string{"tui imports deployer/ssh:", "tui depends on deployer/ssh ("}},
	{"stub carries build code", []edge{{from: "stub", to: "packer"}},
		[]string{"stub imports packer:", "stub depends on packer ("}},
	{"stub takes the test harness", []edge{{from: "stub", to: testhost}},
		[]string{"stub imports internal/testhost:"}},
	{"cmd takes the deployer", []edge{{from: "cmd/sealpack", to: "deployer"}},
		[]string{"cmd/sealpack imports deployer:"}},
	{"cmd takes the wizard", []edge{{from: "cmd/sealpack", to: "tui"}},
		[]string{"cmd/sealpack imports tui:"}},
	{"cmd takes the registry", []edge{{from: "cmd/sealpack", to: "registry"}},
		[]string{"cmd/sealpack imports registry:"}},
	{"version takes payload", []edge{{from: "internal/version", to: "payload"}},
		[]string{"internal/version imports payload:"}},
	{"the shell quoter takes the deployer", []edge{{from: "internal/shell", to: "deployer"}},
		[]string{"internal/shell imports deployer:"}},
	{"the apiserver balancer takes the deployer", []edge{{from: "internal/apilb", to: "deployer"}},
		[]string{"internal/apilb imports deployer:"}},
	{"the test installers take the deployer", []edge{{from: "internal/payloadtest", to: "deployer"}},
		[]string{"internal/payloadtest imports deployer:"}},
	{"the signature keys take the wizard", []edge{{from: "internal/signature", to: "tui"}},
		[]string{"internal/signature imports tui:"}},
	{"progress takes the wizard", []edge{{from: "internal/progress", to: "tui"}},
		[]string{"internal/progress imports tui:"}},
	{"testhost takes the deployer", []edge{{from: testhost, to: "deployer"}},
		[]string{"internal/testhost imports deployer:"}},
	{"fakek8stest takes testhost outside its tests", []edge{{from: fakek8stest, to: testhost}},
		[]string{"internal/fakek8stest imports internal/testhost:"}},
	{"benchtree takes payload", []edge{{from: benchtree, to: "payload"}},
		[]string{"internal/benchtree imports payload:"}},
	{"benchtool takes payload", []edge{{from: "internal/benchtool", to: "payload"}},
		[]string{"internal/benchtool imports payload:"}},
	{"demoregistry takes the registry", []edge{{from: "internal/demoregistry", to: "registry"}},
		[]string{"internal/demoregistry imports registry:"}},
	{"kubeimages takes packer", []edge{{from: "internal/kubeimages", to: "packer"}},
		[]string{"internal/kubeimages imports packer:"}},
	{"kubee2e takes testhost outside its tests", []edge{{from: "internal/kubee2e", to: testhost}},
		[]string{"internal/kubee2e imports internal/testhost:"}},
	{"testreq takes testhost", []edge{{from: testreq, to: testhost}},
		[]string{"internal/testreq imports internal/testhost:"}},
	{"registry skips outside its tests", []edge{{from: "registry", to: testreq}},
		[]string{"registry imports internal/testreq:"}},
	{"depcheck takes payload", []edge{{from: "internal/depcheck", to: "payload"}},
		[]string{"internal/depcheck imports payload:"}},

	// Test files: their own list, no wider than the design allows.
	{"payload tests take testhost", []edge{{from: "payload", to: testhost, test: true}},
		[]string{"payload tests import internal/testhost:"}},
	{"packer tests take testhost", []edge{{from: "packer", to: testhost, test: true}},
		[]string{"packer tests import internal/testhost:"}},
	{"registry tests take testhost", []edge{{from: "registry", to: testhost, test: true}},
		[]string{"registry tests import internal/testhost:"}},
	{"deployer tests take the registry", []edge{{from: "deployer", to: "registry", test: true}},
		[]string{"deployer tests import registry:"}},
	{"tui tests take testhost", []edge{{from: "tui", to: testhost, test: true}},
		[]string{"tui tests import internal/testhost:"}},
	{"stub tests build through packer", []edge{{from: "stub", to: "packer", test: true}},
		[]string{"stub tests import packer:"}},
	{"cmd tests take the deployer", []edge{{from: "cmd/sealpack", to: "deployer", test: true}},
		[]string{"cmd/sealpack tests import deployer:"}},
	{"fakek8stest tests take the deployer", []edge{{from: fakek8stest, to: "deployer", test: true}},
		[]string{"internal/fakek8stest tests import deployer:"}},
	{"kubeimages tests take testhost", []edge{{from: "internal/kubeimages", to: testhost, test: true}},
		[]string{"internal/kubeimages tests import internal/testhost:"}},
	{"kubee2e tests take packer", []edge{{from: "internal/kubee2e", to: "packer", test: true}},
		[]string{"internal/kubee2e tests import packer:"}},
	{"signature tests take testhost", []edge{{from: "internal/signature", to: testhost, test: true}},
		[]string{"internal/signature tests import internal/testhost:"}},

	// Bans: through allowed imports only, so no allow-list objects.
	{"helm into the installer through distribution", []edge{
		{from: "stub", to: "registry"},
		{from: "registry", to: "github.com/distribution/distribution/v3/registry/handlers"},
		{from: "github.com/distribution/distribution/v3/registry/handlers", to: "helm.sh/helm/v3/pkg/engine"}},
		[]string{"stub depends on helm.sh/helm/v3/pkg/engine (stub -> registry -> github.com/distribution/distribution/v3/registry/handlers -> helm.sh/helm/v3/pkg/engine)",
			"registry depends on helm.sh/helm/v3/pkg/engine ("}},
	{"buildkit into the installer through cobra", []edge{
		{from: "stub", to: "github.com/spf13/cobra"},
		{from: "github.com/spf13/cobra", to: "github.com/moby/buildkit/frontend/dockerfile/parser"}},
		[]string{"stub depends on github.com/moby/buildkit/frontend/dockerfile/parser ("}},
	{"the pull code into the installer through the deployer", []edge{
		{from: "stub", to: "deployer"},
		{from: "deployer", to: "packer/pull"}},
		[]string{"deployer imports packer/pull:", "stub depends on packer/pull (stub -> deployer -> packer/pull)"}},
	{"client-go into the installer", []edge{
		{from: "stub", to: "registry"},
		{from: "registry", to: "github.com/sirupsen/logrus"},
		{from: "github.com/sirupsen/logrus", to: "k8s.io/client-go/kubernetes"}},
		[]string{"stub depends on k8s.io/client-go/kubernetes ("}},
	{"SSH into the wizard through the event types", []edge{
		{from: "tui", to: "deployer/event"},
		{from: "deployer/event", to: "golang.org/x/crypto/ssh"}},
		[]string{"tui depends on golang.org/x/crypto/ssh (tui -> deployer/event -> golang.org/x/crypto/ssh)"}},
	{"SFTP into the wizard through bubbletea", []edge{
		{from: "tui", to: "github.com/charmbracelet/bubbletea"},
		{from: "github.com/charmbracelet/bubbletea", to: "github.com/pkg/sftp"}},
		[]string{"tui depends on github.com/pkg/sftp ("}},
	{"helm into the wizard", []edge{
		{from: "tui", to: "github.com/muesli/termenv"},
		{from: "github.com/muesli/termenv", to: "helm.sh/helm/v3/pkg/chart"}},
		[]string{"tui depends on helm.sh/helm/v3/pkg/chart ("}},
	{"go-containerregistry into the deployer", []edge{
		{from: "deployer/ssh", to: "github.com/pkg/sftp"},
		{from: "github.com/pkg/sftp", to: "github.com/google/go-containerregistry/pkg/v1"}},
		[]string{"deployer/ssh depends on github.com/google/go-containerregistry/pkg/v1 ("}},
	{"helm into the deployer", []edge{
		{from: "deployer", to: "go.yaml.in/yaml/v3"},
		{from: "go.yaml.in/yaml/v3", to: "helm.sh/helm/v3/pkg/chartutil"}},
		[]string{"deployer depends on helm.sh/helm/v3/pkg/chartutil ("}},
	{"buildkit into the deployer", []edge{
		{from: "deployer", to: "github.com/pkg/sftp"},
		{from: "github.com/pkg/sftp", to: "github.com/moby/buildkit/util/progress"}},
		[]string{"deployer depends on github.com/moby/buildkit/util/progress ("}},
	{"buildkit into the registry", []edge{
		{from: "registry", to: "github.com/google/go-containerregistry/pkg/v1/remote"},
		{from: "github.com/google/go-containerregistry/pkg/v1/remote", to: "github.com/moby/buildkit/client"}},
		[]string{"registry depends on github.com/moby/buildkit/client ("}},
}

func TestForbiddenEdges(t *testing.T) {
	clean := synthetic(rules, bans)
	if ps := check(clean, rules, bans); len(ps) > 0 {
		t.Fatalf("the synthetic graph breaks the rules by itself:\n%s", strings.Join(ps, "\n"))
	}
	for _, tc := range forbidden {
		t.Run(tc.name, func(t *testing.T) {
			got := check(clean.with(tc.edges...), rules, bans)
			for _, w := range tc.want {
				if !slices.ContainsFunc(got, func(p string) bool { return strings.HasPrefix(p, w) }) {
					t.Errorf("no problem starts with %q", w)
				}
			}
			for _, p := range got {
				if !slices.ContainsFunc(tc.want, func(w string) bool { return strings.HasPrefix(p, w) }) {
					t.Errorf("unexpected problem: %s", p)
				}
			}
		})
	}
}

// Every rule (its non-test list, and its test list if it has one) and every
// banned pattern is shown failing by a row of forbidden: a rule nobody has
// seen fail may not work.
func TestEveryRuleHasAForbiddenEdge(t *testing.T) {
	clean := synthetic(rules, bans)
	type seen struct{ pkg, kind, target string }
	var all []seen
	for _, tc := range forbidden {
		for _, p := range check(clean.with(tc.edges...), rules, bans) {
			f := strings.Fields(p)
			switch {
			case f[1] == "imports":
				all = append(all, seen{f[0], "imports", strings.TrimSuffix(f[2], ":")})
			case f[1] == "tests":
				all = append(all, seen{f[0], "tests", strings.TrimSuffix(f[3], ":")})
			case f[1] == "depends":
				all = append(all, seen{f[0], "depends", f[3]})
			}
		}
	}
	under := func(pattern, name string) bool { return match(clean.abs(pattern), clean.abs(name)) }
	has := func(kind, pkg, target string) bool {
		return slices.ContainsFunc(all, func(s seen) bool {
			return s.kind == kind && under(pkg, s.pkg) && (target == "" || under(target, s.target))
		})
	}
	for _, r := range rules {
		if !has("imports", r.pkg, "") {
			t.Errorf("rule %s: no row of forbidden breaks it in non-test code", r.pkg)
		}
		if len(r.tests) > 0 && !has("tests", r.pkg, "") {
			t.Errorf("rule %s: no row of forbidden breaks it in tests", r.pkg)
		}
	}
	for _, b := range bans {
		for _, p := range b.banned {
			if !has("depends", b.pkg, p) {
				t.Errorf("ban on %s: no row of forbidden brings %s into it", b.pkg, p)
			}
		}
	}
}
