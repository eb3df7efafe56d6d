package nodeimage

import "github.com/taskgate/taskgate/ociimage"

// BuildpackLayerBin is the bin directory of the one buildpack layer in
// the Buildpack image, which only its launcher puts on PATH.
const BuildpackLayerBin = "/layers/paketo-buildpacks_bundler/bundler/bin"

// BuildpackBundleScript is the layer's bundle, a stand-in for Bundler: it
// prints its arguments.
const BuildpackBundleScript = "#!/bin/sh\necho \"bundler ran: $*\"\n"

// Buildpack is shaped like a buildpack (CNB) image, as user 1000:
// launcherBinary (built from test/cmd/launcher) at /cnb/lifecycle/launcher
// as its ENTRYPOINT, and a buildpack layer whose bin directory holds
// bundle. Only the launcher puts that directory on PATH, so
// `bundle exec rake db:migrate` runs through the launcher and exits 127
// under a plain /bin/sh -c, as in a real CNB image.
func Buildpack(ref, launcherBinary string) ociimage.Spec {
	spec := Busybox(ref, "1000",
		ociimage.File{Path: "/cnb/lifecycle/launcher", Source: launcherBinary, Mode: 0o755},
		ociimage.File{Path: BuildpackLayerBin + "/bundle", Content: []byte(BuildpackBundleScript), Mode: 0o755},
	)
	spec.Entrypoint = []string{"/cnb/lifecycle/launcher"}
	return spec
}

// LabelLifecycleMetadata is the label the CNB lifecycle writes on every
// image it builds, by which taskgate tells a buildpack image.
const LabelLifecycleMetadata = "io.buildpacks.lifecycle.metadata"

// LabelledBuildpack is Buildpack with the label a real buildpack image
// carries, LabelLifecycleMetadata, so that taskgate can tell it is one
// from its registry.
func LabelledBuildpack(ref, launcherBinary string) ociimage.Spec {
	spec := Buildpack(ref, launcherBinary)
	spec.Labels = map[string]string{LabelLifecycleMetadata: `{"launcher":{"source":{"git":{}}},"processes":[]}`}
	return spec
}
