// Package nodeimage builds the OCI images the local cluster's real node
// runs: the pause (sandbox) image, a busybox shell in several user variants,
// Tekton's entrypoint, nop and workingdirinit, and the demo app.
//
// Nothing is ever pulled: the node has no registry to reach, and a test must
// not depend on one. The harness builds every image here, writes them all
// into one docker-archive tarball (WriteArchive) and imports it with
// `ctr -n k8s.io images import`, which containerd 1.6 accepts. No reference
// may use the tag :latest, because kubelet's default pull policy for any
// other tag is IfNotPresent, so it finds the imported image and never tries
// a registry.
//
// Images are reproducible, so a rebuild imports nothing new and a digest in
// a test failure means the same thing on every machine: each image has one
// layer whose entries are sorted, owned by root unless stated, and dated at
// the Unix epoch (as SOURCE_DATE_EPOCH=0 would), and its config's created
// time is the epoch too. Given the same input files, Build yields the same
// digest.
package nodeimage
