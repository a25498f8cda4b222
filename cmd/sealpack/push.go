package main

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/sealpack/sealpack/internal/progress"
	"github.com/sealpack/sealpack/packer/artifact"
	"github.com/sealpack/sealpack/packer/pull"
	"github.com/sealpack/sealpack/payload"
	"github.com/spf13/cobra"
)

// registryFlags reach a registry as image pulls do: --registry-auth,
// --insecure-registry, --registry-mirror (reads only), then the docker config.
type registryFlags struct {
	auth, insecure, mirrors []string
	jobs                    int
	quiet                   bool
}

func (f *registryFlags) register(cmd *cobra.Command, mirrors bool) {
	fl := cmd.Flags()
	fl.StringArrayVar(&f.auth, "registry-auth", nil, "credentials for a registry: HOST=USER:PASSWORD (else the docker config); repeatable")
	fl.StringArrayVar(&f.insecure, "insecure-registry", nil, "speak plain HTTP to this registry host (loopback always is); repeatable")
	if mirrors {
		fl.StringArrayVar(&f.mirrors, "registry-mirror", nil, "read a registry's artifacts from a mirror: HOST=[http[s]://]MIRROR[/PATH]; repeatable")
	}
	fl.IntVar(&f.jobs, "jobs", 4, "blobs sent or fetched at once")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress output")
}

// options are the artifact options of the flags: a bar on a terminal,
// plain lines otherwise. finish ends the bar.
func (f *registryFlags) options(cmd *cobra.Command, what string) (artifact.Options, func(), error) {
	po := pull.Options{Insecure: f.insecure, Mirrors: map[string]string{}, Auth: map[string]authn.Basic{}, Jobs: f.jobs}
	for _, m := range f.mirrors {
		reg, url, err := pull.ParseMirror(m)
		if err != nil {
			return artifact.Options{}, nil, err
		}
		po.Mirrors[reg] = url
	}
	for _, a := range f.auth {
		host, cred, err := pull.ParseAuth(a)
		if err != nil {
			return artifact.Options{}, nil, err
		}
		po.Auth[host] = cred
	}
	acc, err := pull.NewAccess(po)
	if err != nil {
		return artifact.Options{}, nil, err
	}
	o := artifact.Options{Access: acc, Jobs: f.jobs}
	finish := func() {}
	switch {
	case f.quiet:
	case progress.IsTerminal(cmd.ErrOrStderr()):
		o.OnProgress, finish = progress.Follow(cmd.ErrOrStderr(), what)
	default:
		o.Log = cmd.ErrOrStderr()
	}
	return o, finish, nil
}

func newPushCmd() *cobra.Command {
	var flags registryFlags
	cmd := &cobra.Command{
		Use:   "push FILE... REF",
		Short: "Publish installers in an OCI registry (several: one per platform, as one index)",
		Long: `Push publishes an installer as an OCI artifact at REF (registry.example.com/apps/app:1.0).
Blobs the registry has already (those of a base pushed before) are not sent again.
Several installers, one per platform, become one index; pull and FROM pick by --platform.

  sealpack push app-amd64.run app-arm64.run registry.example.com/apps/app:1.0`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, finish, err := flags.options(cmd, "pushing")
			if err != nil {
				return err
			}
			ref := args[len(args)-1]
			res, err := artifact.Push(cmd.Context(), ref, args[:len(args)-1], o)
			finish()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %v, %d of %d blobs sent (%s), the others were there\n",
				res.Ref, res.Platforms, res.Sent, res.Layers, payload.HumanBytes(res.SentBytes))
			return nil
		},
	}
	flags.register(cmd, false)
	return cmd
}
