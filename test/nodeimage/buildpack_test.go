package nodeimage

import (
	"archive/tar"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/taskgate/taskgate/ociimage"
	"github.com/taskgate/taskgate/ociimage/ociimagetest"
)

func TestBuildpack(t *testing.T) {
	img := ociimagetest.MustBuild(t, fakeBusybox(t, Buildpack("example.invalid/buildpack:1", ociimagetest.WriteFile(t, "launcher", "#!launcher\n", 0o700))))
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	want := v1.Config{Entrypoint: []string{"/cnb/lifecycle/launcher"}, Env: []string{ociimage.DefaultPath}, User: "1000"}
	if diff := cmp.Diff(want, cfg.Config); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	byName := map[string]ociimagetest.Entry{}
	for _, e := range ociimagetest.LayerEntries(t, img, ociimagetest.Epoch) {
		byName[e.Name] = e
	}
	for _, w := range []ociimagetest.Entry{
		{Name: "cnb/lifecycle/launcher", Type: tar.TypeReg, Mode: 0o755, Content: "#!launcher\n"},
		{Name: "layers/paketo-buildpacks_bundler/bundler/bin/bundle", Type: tar.TypeReg, Mode: 0o755, Content: BuildpackBundleScript},
		{Name: "bin/sh", Type: tar.TypeSymlink, Mode: 0o777, Linkname: "/bin/busybox"},
	} {
		if diff := cmp.Diff(w, byName[w.Name]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", w.Name, diff)
		}
	}
	// The layer's bin directory is not on the image's PATH: only the
	// launcher puts it there.
	if strings.Contains(ociimage.DefaultPath, BuildpackLayerBin) {
		t.Errorf("the image's %s holds %s", ociimage.DefaultPath, BuildpackLayerBin)
	}
}

func TestLabelledBuildpack(t *testing.T) {
	launcher := ociimagetest.WriteFile(t, "launcher", "#!launcher\n", 0o700)
	img := ociimagetest.MustBuild(t, fakeBusybox(t, LabelledBuildpack("example.invalid/buildpack:1", launcher)))
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	want := v1.Config{
		Entrypoint: []string{"/cnb/lifecycle/launcher"}, Env: []string{ociimage.DefaultPath}, User: "1000",
		Labels: map[string]string{"io.buildpacks.lifecycle.metadata": `{"launcher":{"source":{"git":{}}},"processes":[]}`},
	}
	if diff := cmp.Diff(want, cfg.Config); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	// The same files as Buildpack's: only the label differs.
	plain := ociimagetest.MustBuild(t, fakeBusybox(t, Buildpack("example.invalid/buildpack:1", launcher)))
	got, wantLayers := ociimagetest.LayerEntries(t, img, ociimagetest.Epoch), ociimagetest.LayerEntries(t, plain, ociimagetest.Epoch)
	if diff := cmp.Diff(wantLayers, got); diff != "" {
		t.Errorf("layer (-Buildpack +LabelledBuildpack):\n%s", diff)
	}
}
