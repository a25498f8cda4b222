package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"sigs.k8s.io/yaml"
)

// staticPod is a control-plane component's manifest, as kubeadm writes it
// (the fake runs no kubelet pods; the files are what a user would find).
func staticPod(name, image string, command []string, port int) map[string]any {
	args := make([]any, len(command))
	for i, c := range command {
		args[i] = c
	}
	return map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": name, "namespace": "kube-system", "labels": map[string]any{"component": name, "tier": "control-plane"}},
		"spec": map[string]any{
			"hostNetwork": true, "priorityClassName": "system-node-critical",
			"containers": []any{map[string]any{
				"name": name, "image": image, "command": args, "imagePullPolicy": "IfNotPresent",
				"livenessProbe": map[string]any{"httpGet": map[string]any{"path": "/livez", "port": port, "scheme": "HTTPS"}},
			}},
		},
	}
}

// imageList is `kubeadm config images list`: the images a control plane
// of version v needs.
func imageList(repo, v string) []string {
	return []string{
		repo + "/kube-apiserver:" + v,
		repo + "/kube-controller-manager:" + v,
		repo + "/kube-scheduler:" + v,
		repo + "/kube-proxy:" + v,
		repo + "/coredns/coredns:v1.11.1",
		repo + "/pause:3.9",
		repo + "/etcd:3.5.15-0",
	}
}

func writeManifests(e *env, out io.Writer, cc *clusterConfiguration, v, advertise string, port int) error {
	repo := cc.ImageRepository
	fmt.Fprintf(out, "[etcd] Creating static Pod manifest for local etcd in %q\n", "/etc/kubernetes/manifests")
	fmt.Fprintf(out, "[control-plane] Using manifest folder %q\n", "/etc/kubernetes/manifests")
	pods := []struct {
		file string
		pod  map[string]any
	}{
		{"etcd", staticPod("etcd", repo+"/etcd:3.5.15-0", []string{"etcd", "--advertise-client-urls=https://" + advertise + ":2379", "--data-dir=/var/lib/etcd"}, 2381)},
		{"kube-apiserver", staticPod("kube-apiserver", repo+"/kube-apiserver:"+v, apiserverCommand(cc, advertise, port), port)},
		{"kube-controller-manager", staticPod("kube-controller-manager", repo+"/kube-controller-manager:"+v, componentCommand("kube-controller-manager", cc.ControllerManager.ExtraArgs, cc), 10257)},
		{"kube-scheduler", staticPod("kube-scheduler", repo+"/kube-scheduler:"+v, componentCommand("kube-scheduler", cc.Scheduler.ExtraArgs, cc), 10259)},
	}
	for _, p := range pods {
		if p.file != "etcd" {
			fmt.Fprintf(out, "[control-plane] Creating static Pod manifest for %q\n", p.file)
		}
		b, err := yaml.Marshal(p.pod)
		if err != nil {
			return err
		}
		if err := writeFile(e.path("/etc/kubernetes/manifests/"+p.file+".yaml"), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func apiserverCommand(cc *clusterConfiguration, advertise string, port int) []string {
	cmd := []string{"kube-apiserver", "--advertise-address=" + advertise, "--secure-port=" + strconv.Itoa(port),
		"--service-cluster-ip-range=" + cc.Networking.ServiceSubnet, "--client-ca-file=/etc/kubernetes/pki/ca.crt",
		"--tls-cert-file=/etc/kubernetes/pki/apiserver.crt", "--tls-private-key-file=/etc/kubernetes/pki/apiserver.key",
		"--etcd-servers=https://127.0.0.1:2379", "--authorization-mode=Node,RBAC", "--enable-bootstrap-token-auth=true"}
	for _, a := range cc.APIServer.ExtraArgs {
		cmd = append(cmd, "--"+a.Name+"="+a.Value)
	}
	return cmd
}

func componentCommand(name string, extra extraArgs, cc *clusterConfiguration) []string {
	cmd := []string{name, "--kubeconfig=/etc/kubernetes/" + map[string]string{"kube-controller-manager": "controller-manager.conf", "kube-scheduler": "scheduler.conf"}[name]}
	if name == "kube-controller-manager" && cc.Networking.PodSubnet != "" {
		cmd = append(cmd, "--allocate-node-cidrs=true", "--cluster-cidr="+cc.Networking.PodSubnet)
	}
	for _, a := range extra {
		cmd = append(cmd, "--"+a.Name+"="+a.Value)
	}
	return cmd
}

// addons creates CoreDNS and kube-proxy objects, as kubeadm's addon phase
// does; their status shows them rolled out.
func (p *program) addons(ctx context.Context, c *apiClient, cfg *initCfg, o *initOptions) error {
	repo := cfg.cc.ImageRepository
	cp := []any{map[string]any{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}}
	if !o.skips("addon/coredns") && !cfg.cc.DNS.Disabled {
		dnsRepo := firstNonEmpty(cfg.cc.DNS.ImageRepository, repo+"/coredns")
		dnsTag := firstNonEmpty(cfg.cc.DNS.ImageTag, "v1.11.1")
		objs := []struct {
			base, name string
			obj        map[string]any
		}{
			{"/api/v1/namespaces/kube-system/configmaps", "coredns", map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
				"metadata": map[string]any{"name": "coredns", "namespace": "kube-system"},
				"data":     map[string]any{"Corefile": ".:53 {\n    errors\n    health\n    kubernetes " + cfg.cc.Networking.DNSDomain + " in-addr.arpa ip6.arpa\n    forward . /etc/resolv.conf\n    cache 30\n}\n"}}},
			{"/apis/apps/v1/namespaces/kube-system/deployments", "coredns", map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
				"metadata": map[string]any{"name": "coredns", "namespace": "kube-system", "labels": map[string]any{"k8s-app": "kube-dns"}},
				"spec": map[string]any{"replicas": 2, "selector": map[string]any{"matchLabels": map[string]any{"k8s-app": "kube-dns"}},
					"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"k8s-app": "kube-dns"}},
						"spec": map[string]any{"tolerations": append([]any{map[string]any{"key": "CriticalAddonsOnly", "operator": "Exists"}}, cp...),
							"containers": []any{map[string]any{"name": "coredns", "image": dnsRepo + ":" + dnsTag}}}}}}},
			{"/api/v1/namespaces/kube-system/services", "kube-dns", map[string]any{"apiVersion": "v1", "kind": "Service",
				"metadata": map[string]any{"name": "kube-dns", "namespace": "kube-system", "labels": map[string]any{"k8s-app": "kube-dns"}},
				"spec": map[string]any{"clusterIP": serviceIP(cfg.cc.Networking.ServiceSubnet, 10).String(), "selector": map[string]any{"k8s-app": "kube-dns"},
					"ports": []any{map[string]any{"name": "dns", "port": 53, "protocol": "UDP"}, map[string]any{"name": "dns-tcp", "port": 53, "protocol": "TCP"}}}}},
		}
		for _, x := range objs {
			if err := createOrReplace(ctx, c, x.base, x.name, x.obj); err != nil {
				return err
			}
		}
		p.outf("[addons] Applied essential addon: CoreDNS\n")
	}
	if !o.skips("addon/kube-proxy") && !cfg.cc.Proxy.Disabled {
		proxyCfg := map[string]any{"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
			"clusterCIDR": cfg.cc.Networking.PodSubnet, "mode": ""}
		if cfg.kubeProxy != nil {
			proxyCfg, _ = mergePatch(proxyCfg, cfg.kubeProxy).(map[string]any)
		}
		b, err := yaml.Marshal(proxyCfg)
		if err != nil {
			return err
		}
		if err := putConfigMap(ctx, c, "kube-system", "kube-proxy", map[string]any{"config.conf": string(b)}); err != nil {
			return err
		}
		ds := map[string]any{"apiVersion": "apps/v1", "kind": "DaemonSet",
			"metadata": map[string]any{"name": "kube-proxy", "namespace": "kube-system", "labels": map[string]any{"k8s-app": "kube-proxy"}},
			"spec": map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"k8s-app": "kube-proxy"}},
				"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"k8s-app": "kube-proxy"}},
					"spec": map[string]any{"tolerations": []any{map[string]any{"operator": "Exists"}}, "nodeSelector": map[string]any{"kubernetes.io/os": "linux"},
						"containers": []any{map[string]any{"name": "kube-proxy", "image": repo + "/kube-proxy:" + cfg.version}}}}}}
		if err := createOrReplace(ctx, c, "/apis/apps/v1/namespaces/kube-system/daemonsets", "kube-proxy", ds); err != nil {
			return err
		}
		p.outf("[addons] Applied essential addon: kube-proxy\n")
	}
	return nil
}
