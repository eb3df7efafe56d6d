// Package ociimage builds OCI and Docker images reproducibly from files on
// this machine, with no daemon, base image or registry: the local cluster's
// node images (test/nodeimage) and the released manager image (release).
//
// An image has one layer whose entries are sorted, owned by root unless
// stated, and dated at the Spec's creation time, which is also the
// config's created time; its default is the Unix epoch, as
// SOURCE_DATE_EPOCH=0 would set it. Given the same Spec and input files
// (and the same Go toolchain, whose gzip writes the layer), Build yields
// the same digest, so a rebuild changes nothing and a digest means the
// same thing on every machine.
//
// Images leave as a docker-archive tarball (WriteArchive), which
// `ctr images import` reads, or as a multi-platform index (Index) written
// as an OCI image layout tarball (WriteLayout) or pushed with
// go-containerregistry's remote package.
package ociimage
