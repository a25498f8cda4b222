package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

func (p *program) newConfigCmd() *cobra.Command {
	cfg := &cobra.Command{Use: "config", Short: "Manage configuration for a kubeadm cluster persisted in a ConfigMap in the cluster"}
	cfg.PersistentFlags().String("kubeconfig", "/etc/kubernetes/admin.conf", "The kubeconfig file to use when talking to the cluster.")
	images := &cobra.Command{Use: "images", Short: "Interact with container images used by kubeadm"}
	var (
		cfgPath, kubeVersion, repo, output string
	)
	listCmd := &cobra.Command{
		Use:   "list",
		Short: "Print a list of images kubeadm will use.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := mixedArgs(cmd.Flags()); err != nil {
				return err
			}
			v, r := kubeVersion, repo
			if cfgPath != "" {
				data, err := os.ReadFile(cfgPath)
				if err != nil {
					return fmt.Errorf("unable to read config from %q : %w", cfgPath, err)
				}
				docs, err := parseKubeadmConfig(data, cfgPath)
				if err != nil {
					return err
				}
				if docs.cluster != nil {
					v, r = docs.cluster.KubernetesVersion, firstNonEmpty(docs.cluster.ImageRepository, r)
				}
			}
			resolved, warnings, err := resolveKubernetesVersion(v)
			if err != nil {
				return err
			}
			for _, w := range warnings {
				p.klogWarn("version.go:104", w)
			}
			imgs := imageList(r, resolved)
			switch output {
			case "", "text":
				for _, i := range imgs {
					p.outf("%s\n", i)
				}
				return nil
			case "json", "yaml":
				return printObject(p.stdout, output, map[string]any{"kind": "Images", "apiVersion": "output.kubeadm.k8s.io/v1alpha3", "images": imgs})
			}
			return fmt.Errorf("invalid output format: %s", output)
		},
	}
	listCmd.Flags().StringVar(&cfgPath, "config", "", "Path to a kubeadm configuration file.")
	listCmd.Flags().StringVar(&kubeVersion, "kubernetes-version", "stable-1", "Choose a specific Kubernetes version for the control plane.")
	listCmd.Flags().StringVar(&repo, "image-repository", "registry.k8s.io", "Choose a container registry to pull control plane images from")
	listCmd.Flags().StringVarP(&output, "output", "o", "text", "Output format. One of: text|json|yaml.")
	images.AddCommand(listCmd)

	var validatePath string
	validate := &cobra.Command{
		Use:   "validate",
		Short: "Read a file containing the kubeadm configuration API and report any validation problems",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if validatePath == "" {
				return fmt.Errorf("the --config flag is mandatory")
			}
			data, err := os.ReadFile(validatePath)
			if err != nil {
				return fmt.Errorf("unable to read config from %q : %w", validatePath, err)
			}
			docs, err := parseKubeadmConfig(data, validatePath)
			if err != nil {
				return err
			}
			for _, w := range docs.warnings {
				p.klogWarn("validate.go:70", w)
			}
			ic, cc := docs.init, docs.cluster
			if ic == nil {
				ic = &initConfiguration{}
			}
			if cc == nil {
				cc = &clusterConfiguration{}
			}
			if docs.init != nil || docs.cluster != nil {
				if _, _, err := resolveKubernetesVersion(cc.KubernetesVersion); err != nil {
					return err
				}
				if err := validateInit(ic, cc); err != nil {
					return validationError{err}
				}
			}
			if docs.join != nil {
				if err := validateJoin(docs.join); err != nil {
					return validationError{err}
				}
			}
			p.outf("ok\n")
			return nil
		},
	}
	validate.Flags().StringVar(&validatePath, "config", "", "Path to a kubeadm configuration file.")

	printCmd := &cobra.Command{Use: "print", Short: "Print configuration"}
	printCmd.AddCommand(&cobra.Command{
		Use:   "init-defaults",
		Short: "Print default init configuration, that can be used for 'kubeadm init'",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			docs := []map[string]any{
				{"apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "InitConfiguration",
					"bootstrapTokens": []any{map[string]any{"groups": []any{"system:bootstrappers:kubeadm:default-node-token"},
						"token": "abcdef.0123456789abcdef", "ttl": "24h0m0s", "usages": []any{"signing", "authentication"}}},
					"localAPIEndpoint": map[string]any{"advertiseAddress": "1.2.3.4", "bindPort": 6443},
					"nodeRegistration": map[string]any{"criSocket": "unix:///var/run/containerd/containerd.sock", "imagePullPolicy": "IfNotPresent", "name": "node", "taints": nil}},
				{"apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "ClusterConfiguration", "apiServer": map[string]any{"timeoutForControlPlane": "4m0s"},
					"certificatesDir": "/etc/kubernetes/pki", "clusterName": "kubernetes", "controllerManager": map[string]any{}, "dns": map[string]any{},
					"etcd": map[string]any{"local": map[string]any{"dataDir": "/var/lib/etcd"}}, "imageRepository": "registry.k8s.io",
					"kubernetesVersion": version, "networking": map[string]any{"dnsDomain": "cluster.local", "serviceSubnet": "10.96.0.0/12"}, "scheduler": map[string]any{}},
			}
			for i, d := range docs {
				if i > 0 {
					p.outf("---\n")
				}
				b, err := yaml.Marshal(d)
				if err != nil {
					return err
				}
				p.outf("%s", b)
			}
			return nil
		},
	})
	cfg.AddCommand(images, validate, printCmd)
	return cfg
}
