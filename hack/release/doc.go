// Command release builds taskgate's release artifacts without Docker; the
// Makefile's image and release targets run it.
//
//	go run ./hack/release image [-push REF] [flags]   # make image
//	go run ./hack/release release [flags]             # make release
//
// image writes the manager's multi-platform image into -dist as an OCI
// layout tarball, its digest and an SBOM per platform, and with -push
// also pushes it to a registry with the default keychain (docker's
// config.json and credential helpers). release writes all that, the
// packaged chart with the image's digest pinned, the kubectl-task plugin
// binaries and SHA256SUMS.
//
// It may import release and nothing else of taskgate.
package main
