// Package release builds what a taskgate release ships, without Docker:
// the manager's multi-platform image (ManagerImage), an SPDX SBOM of each
// platform's binary (SBOM), the Helm chart packaged with that image's
// digest pinned (PackageChart), the kubectl-task plugin for linux and
// darwin (BuildPlugins), and SHA256SUMS over all of it (WriteChecksums).
// Run writes them all into a dist directory; hack/release is its command
// and `make image` and `make release` call it.
//
// Everything is reproducible from the commit: binaries are built with
// -trimpath, no VCS stamp and an empty build ID; image files and configs,
// SBOMs and the chart archive are dated at SOURCE_DATE_EPOCH; so the same
// commit, Go toolchain and options give the same digests.
//
// It may import ociimage and the standard library's build tooling; no
// package of the manager or the plugin imports it.
package release
