package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// kubectlGlobals are kubectl's global flags.
type kubectlGlobals struct {
	kubeconfig     string
	context        string
	cluster        string
	user           string
	server         string
	token          string
	namespace      string
	requestTimeout string
	insecure       bool
	verbosity      int
}

// kubectlSession is what one kubectl invocation connects with.
type kubectlSession struct {
	p         *program
	g         *kubectlGlobals
	client    *apiClient
	rc        *restConfig
	resources resourceSet
}

func (p *program) kubectl() error {
	g := &kubectlGlobals{}
	root := &cobra.Command{
		Use:           "kubectl",
		Short:         "kubectl controls the Kubernetes cluster manager.",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetArgs(p.args)
	root.SetIn(p.stdin)
	root.SetOut(p.stdout)
	root.SetErr(p.stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&g.kubeconfig, "kubeconfig", "", "Path to the kubeconfig file to use for CLI requests.")
	pf.StringVar(&g.context, "context", "", "The name of the kubeconfig context to use")
	pf.StringVar(&g.cluster, "cluster", "", "The name of the kubeconfig cluster to use")
	pf.StringVar(&g.user, "user", "", "The name of the kubeconfig user to use")
	pf.StringVarP(&g.server, "server", "s", "", "The address and port of the Kubernetes API server")
	pf.StringVar(&g.token, "token", "", "Bearer token for authentication to the API server")
	pf.StringVarP(&g.namespace, "namespace", "n", "", "If present, the namespace scope for this CLI request")
	pf.StringVar(&g.requestTimeout, "request-timeout", "0", "The length of time to wait before giving up on a single server request.")
	pf.BoolVar(&g.insecure, "insecure-skip-tls-verify", false, "If true, the server's certificate will not be checked for validity.")
	pf.IntVarP(&g.verbosity, "v", "v", 0, "number for the log level verbosity")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w\nSee '%s --help' for usage.", err, c.CommandPath())
	})
	s := &kubectlSession{p: p, g: g}
	root.AddCommand(s.newGetCmd(), s.newApplyCmd(), s.newCreateCmd(), s.newDeleteCmd(),
		s.newDrainCmd(), s.newCordonCmd(true), s.newCordonCmd(false), s.newLabelCmd("label"), s.newLabelCmd("annotate"),
		s.newTaintCmd(), s.newClusterInfoCmd(), s.newVersionCmd(), s.newWaitCmd(), s.newRolloutCmd())
	err := root.Execute()
	if err == nil {
		return nil
	}
	var ee exitError
	if errors.As(err, &ee) {
		return err
	}
	msg := err.Error()
	var se *statusError
	var ce *connError
	switch {
	case errors.As(err, &se) && se.Code != 401, errors.As(err, &ce):
		// kubectl prints server and connection errors as they are.
	case strings.HasPrefix(msg, "error: "):
	default:
		msg = "error: " + msg
	}
	fmt.Fprintln(p.stderr, msg)
	return exitError{1}
}

// connect loads the kubeconfig and makes the client, once.
func (s *kubectlSession) connect() error {
	if s.client != nil {
		return nil
	}
	rc, err := kubectlConfig(s.g.kubeconfig, overrides{context: s.g.context, cluster: s.g.cluster, user: s.g.user,
		server: s.g.server, token: s.g.token, namespace: s.g.namespace, insecure: s.g.insecure})
	if err != nil {
		return err
	}
	timeout := time.Duration(0)
	if t := s.g.requestTimeout; t != "" && t != "0" {
		if !strings.ContainsAny(t, "smh") {
			t += "s"
		}
		if timeout, err = time.ParseDuration(t); err != nil {
			return fmt.Errorf("invalid timeout value. Timeout must be a single integer in seconds, or an integer followed by a corresponding time unit (e.g. 1s | 2m | 3h)")
		}
	}
	c, err := newAPIClient(s.p.env, rc, clientOptions{timeout: timeout})
	if err != nil {
		return err
	}
	s.client, s.rc = c, rc
	return nil
}

func (s *kubectlSession) ctx() context.Context { return context.Background() }

// namespace is -n, else the context's namespace, else "default".
func (s *kubectlSession) namespace() string {
	if s.g.namespace != "" {
		return s.g.namespace
	}
	if s.rc != nil && s.rc.namespace != "" {
		return s.rc.namespace
	}
	return "default"
}

// resourceSet is discovery: the builtin kinds plus the cluster's CRDs.
func (s *kubectlSession) resourceSet(refresh bool) (resourceSet, error) {
	if s.resources != nil && !refresh {
		return s.resources, nil
	}
	rs := resourceSet(builtinResources())
	var crds struct{ Items []map[string]any }
	if err := s.client.do(s.ctx(), "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", nil, &crds); err != nil {
		return nil, err
	}
	for _, crd := range crds.Items {
		if ri, ok := crdResource(crd); ok {
			rs = append(rs, ri)
		}
	}
	s.resources = rs
	return rs, nil
}

// resolveType finds a resource type named on the command line.
func (s *kubectlSession) resolveType(name string) (resourceInfo, error) {
	if ri, ok := resourceSet(builtinResources()).byName(name); ok {
		return ri, nil
	}
	rs, err := s.resourceSet(false)
	if err != nil {
		return resourceInfo{}, err
	}
	if ri, ok := rs.byName(name); ok {
		return ri, nil
	}
	return resourceInfo{}, fmt.Errorf("the server doesn't have a resource type %q", name)
}

// objectPath is the REST path of one object.
func objectPath(ri resourceInfo, ns, name string) string {
	return ri.basePath(ns) + "/" + url.PathEscape(name)
}

// typeNames parses "TYPE NAME..." or "TYPE/NAME..." arguments.
func (s *kubectlSession) typeNames(args []string) (resourceInfo, []string, error) {
	if len(args) == 0 {
		return resourceInfo{}, nil, errors.New("you must specify the type of resource")
	}
	if strings.Contains(args[0], "/") {
		var ri resourceInfo
		var names []string
		for _, a := range args {
			t, n, ok := strings.Cut(a, "/")
			if !ok {
				return ri, nil, errors.New("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' instead of 'kubectl get resource resource/<resource_name>'")
			}
			r, err := s.resolveType(t)
			if err != nil {
				return ri, nil, err
			}
			if len(names) > 0 && r.plural != ri.plural {
				return ri, nil, errors.New("mixing resource types in TYPE/NAME arguments is not supported by the fake kubectl")
			}
			ri = r
			names = append(names, n)
		}
		return ri, names, nil
	}
	ri, err := s.resolveType(args[0])
	return ri, args[1:], err
}

// displayName is "deployment.apps/x", as kubectl names objects in output.
func displayName(ri resourceInfo, name string) string {
	return ri.kindGroup() + "/" + name
}
