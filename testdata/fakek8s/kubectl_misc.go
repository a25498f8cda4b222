package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func (s *kubectlSession) newClusterInfoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cluster-info",
		Short: "Display cluster information",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := s.connect(); err != nil {
				return err
			}
			if err := s.client.doRaw(s.ctx(), "/healthz"); err != nil {
				var ce *connError
				if errors.As(err, &ce) {
					fmt.Fprintln(s.p.stdout, "\nTo further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.")
				}
				return err
			}
			server := strings.TrimSuffix(s.rc.server, "/")
			fmt.Fprintf(s.p.stdout, "Kubernetes control plane is running at %s\n", server)
			var svc map[string]any
			if err := s.client.do(s.ctx(), "GET", "/api/v1/namespaces/kube-system/services/kube-dns", nil, &svc); err == nil {
				fmt.Fprintf(s.p.stdout, "CoreDNS is running at %s/api/v1/namespaces/kube-system/services/kube-dns:dns/proxy\n", server)
			}
			fmt.Fprintln(s.p.stdout, "\nTo further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.")
			return nil
		},
	}
}

const kustomizeVersion = "v5.0.4-0.20230601165947-6ce0bf390ce3"

func (s *kubectlSession) newVersionCmd() *cobra.Command {
	var client bool
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the client and server version information",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if output != "" && output != "json" && output != "yaml" {
				return errors.New("--output must be 'yaml' or 'json'")
			}
			out := map[string]any{"clientVersion": versionInfo(), "kustomizeVersion": kustomizeVersion}
			var serverErr error
			if !client {
				if serverErr = s.connect(); serverErr == nil {
					var sv map[string]any
					if serverErr = s.client.do(s.ctx(), "GET", "/version", nil, &sv); serverErr == nil {
						out["serverVersion"] = sv
					}
				}
			}
			if output != "" {
				if err := printObject(s.p.stdout, output, out); err != nil {
					return err
				}
				return serverErr
			}
			fmt.Fprintf(s.p.stdout, "Client Version: %s\nKustomize Version: %s\n", version, kustomizeVersion)
			if sv, ok := out["serverVersion"].(map[string]any); ok {
				fmt.Fprintf(s.p.stdout, "Server Version: %s\n", sv["gitVersion"])
			}
			return serverErr
		},
	}
	cmd.Flags().BoolVar(&client, "client", false, "If true, shows client version only (no server required).")
	cmd.Flags().StringVarP(&output, "output", "o", "", "One of 'yaml' or 'json'.")
	return cmd
}

// conditionMet reads --for=condition=NAME[=VALUE] against an object.
func conditionMet(obj map[string]any, cond, want string) bool {
	for _, c := range list(obj, "status", "conditions") {
		cm, _ := c.(map[string]any)
		if strings.EqualFold(str(cm, "type"), cond) {
			return strings.EqualFold(str(cm, "status"), want)
		}
	}
	return false
}

func (s *kubectlSession) newWaitCmd() *cobra.Command {
	var forSpec, selector string
	var all bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "wait ([-f FILENAME] | resource.group/resource.name | resource.group [(-l label | --all)]) [--for=delete|--for condition=available]",
		Short: "Experimental: Wait for a specific condition on one or many resources",
		RunE: func(_ *cobra.Command, args []string) error {
			kind, rest, _ := strings.Cut(forSpec, "=")
			if kind != "condition" && kind != "delete" {
				return fmt.Errorf("unrecognized condition: %q", forSpec)
			}
			cond, want, ok := strings.Cut(rest, "=")
			if !ok {
				want = "True"
			}
			if err := s.connect(); err != nil {
				return err
			}
			ri, names, err := s.typeNames(args)
			if err != nil {
				return err
			}
			ns := ""
			if ri.namespaced {
				ns = s.namespace()
			}
			if len(names) == 0 {
				if !all && selector == "" {
					return errors.New("resource(s) were provided, but no name was specified")
				}
				path := ri.basePath(ns)
				if selector != "" {
					path += "?labelSelector=" + url.QueryEscape(selector)
				}
				var l struct{ Items []map[string]any }
				if err := s.client.do(s.ctx(), "GET", path, nil, &l); err != nil {
					return err
				}
				for _, it := range l.Items {
					names = append(names, str(it, "metadata", "name"))
				}
				if len(names) == 0 {
					return errors.New("no matching resources found")
				}
			}
			deadline := time.Now().Add(timeout)
			for _, n := range names {
				for {
					var obj map[string]any
					err := s.client.do(s.ctx(), "GET", objectPath(ri, ns, n), nil, &obj)
					if kind == "delete" && isNotFound(err) {
						fmt.Fprintf(s.p.stdout, "%s condition met\n", displayName(ri, n))
						break
					}
					if err != nil && !isNotFound(err) {
						return err
					}
					if kind == "condition" && err == nil && conditionMet(obj, cond, want) {
						fmt.Fprintf(s.p.stdout, "%s condition met\n", displayName(ri, n))
						break
					}
					if !time.Now().Before(deadline) {
						if kind == "condition" && isNotFound(err) {
							return err
						}
						return fmt.Errorf("timed out waiting for the condition on %s/%s", ri.plural, n)
					}
					time.Sleep(200 * time.Millisecond)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&forSpec, "for", "", "The condition to wait on: [delete|condition=condition-name[=condition-value]].")
	f.StringVarP(&selector, "selector", "l", "", "Selector (label query) to filter on")
	f.BoolVar(&all, "all", false, "Select all resources in the namespace of the specified resource types")
	f.DurationVar(&timeout, "timeout", 30*time.Second, "The length of time to wait before giving up.")
	f.BoolP("all-namespaces", "A", false, "If present, list the requested object(s) across all namespaces.")
	return cmd
}

func (s *kubectlSession) newRolloutCmd() *cobra.Command {
	rollout := &cobra.Command{Use: "rollout SUBCOMMAND", Short: "Manage the rollout of a resource"}
	var timeout time.Duration
	status := &cobra.Command{
		Use:   "status (TYPE NAME | TYPE/NAME) [flags]",
		Short: "Show the status of the rollout",
		RunE: func(_ *cobra.Command, args []string) error {
			if err := s.connect(); err != nil {
				return err
			}
			ri, names, err := s.typeNames(args)
			if err != nil {
				return err
			}
			if len(names) != 1 {
				return errors.New("rollout status needs exactly one resource")
			}
			var obj map[string]any
			if err := s.client.do(s.ctx(), "GET", objectPath(ri, s.namespace(), names[0]), nil, &obj); err != nil {
				return err
			}
			switch ri.kind {
			case "Deployment":
				fmt.Fprintf(s.p.stdout, "deployment %q successfully rolled out\n", names[0])
			case "DaemonSet":
				fmt.Fprintf(s.p.stdout, "daemon set %q successfully rolled out\n", names[0])
			case "StatefulSet":
				fmt.Fprintf(s.p.stdout, "partitioned roll out complete: %d new pods have been updated...\n", num(obj, "status", "updatedReplicas"))
			default:
				return fmt.Errorf("no status viewer has been implemented for %s", ri.kind)
			}
			return nil
		},
	}
	status.Flags().DurationVar(&timeout, "timeout", 0, "The length of time to wait before ending watch, zero means never.")
	status.Flags().BoolP("watch", "w", true, "Watch the status of the rollout until it's done.")
	rollout.AddCommand(status)
	return rollout
}
