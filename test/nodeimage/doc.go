// Package nodeimage describes the OCI images the local cluster's real node
// runs: the pause (sandbox) image, a busybox shell in several user
// variants, Tekton's entrypoint, nop and workingdirinit, Postgres and the
// demo app. ociimage builds them; this package says what each holds.
//
// Nothing is ever pulled: the node has no registry to reach, and a test must
// not depend on one. The harness builds every image, writes them all into
// one docker-archive tarball (WriteArchive) and imports it with
// `ctr -n k8s.io images import`, which containerd 1.6 accepts. No reference
// may use the tag :latest, because kubelet's default pull policy for any
// other tag is IfNotPresent, so it finds the imported image and never tries
// a registry.
//
// The images are ociimage's defaults: linux on this machine's architecture,
// Docker media types, one layer dated at the Unix epoch, so a rebuild
// imports nothing new and a digest in a test failure means the same thing
// on every machine.
package nodeimage
