// Package discover finds the container images that a cluster image's rootfs
// needs: images in pod specs of Kubernetes YAML, in Helm charts rendered with
// their default values, and in images.txt files. References that only appear
// where the installed software may pull them later (container args, env
// values, Pod YAML embedded in ConfigMaps, spec.image of custom resources) are
// reported apart as extras, because guessing them is never exact.
package discover
