// The pod sandbox's pause process, for bases/kubernetes.
module github.com/sealpack/sealpack/bases/kubernetes/src/pause

go 1.24
