package ociimage_test

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/taskgate/taskgate/ociimage"
	"github.com/taskgate/taskgate/ociimage/ociimagetest"
)

func ociSpec(arch string) ociimage.Spec {
	return ociimage.Spec{
		Platform:   v1.Platform{OS: "linux", Architecture: arch},
		MediaType:  types.OCIManifestSchema1,
		Entrypoint: []string{"/app"},
		Files:      []ociimage.File{{Path: "/app", Content: []byte("app for " + arch), Mode: 0o755}},
	}
}

func TestIndex(t *testing.T) {
	amd, arm := ociimagetest.MustBuild(t, ociSpec("amd64")), ociimagetest.MustBuild(t, ociSpec("arm64"))
	idx, err := ociimage.Index(amd, arm)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIImageIndex {
		t.Errorf("index media type %s, want %s", m.MediaType, types.OCIImageIndex)
	}
	type listed struct {
		Digest    v1.Hash
		MediaType types.MediaType
		Platform  v1.Platform
	}
	var got []listed
	for _, d := range m.Manifests {
		got = append(got, listed{d.Digest, d.MediaType, *d.Platform})
	}
	want := []listed{
		{ociimagetest.Digest(t, amd), types.OCIManifestSchema1, v1.Platform{OS: "linux", Architecture: "amd64"}},
		{ociimagetest.Digest(t, arm), types.OCIManifestSchema1, v1.Platform{OS: "linux", Architecture: "arm64"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("manifests (-want +got):\n%s", diff)
	}
	again, err := ociimage.Index(ociimagetest.MustBuild(t, ociSpec("amd64")), ociimagetest.MustBuild(t, ociSpec("arm64")))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := ociimagetest.Digest(t, idx), ociimagetest.Digest(t, again); a != b {
		t.Errorf("the same images gave indexes %s and %s", a, b)
	}
}

func TestIndexErrors(t *testing.T) {
	docker := ociSpec("amd64")
	docker.MediaType = ""
	tests := []struct {
		name   string
		images []v1.Image
		want   string
	}{{
		name: "none",
		want: "building an image index: no images",
	}, {
		name:   "a platform twice",
		images: []v1.Image{ociimagetest.MustBuild(t, ociSpec("amd64")), ociimagetest.MustBuild(t, ociSpec("amd64"))},
		want:   "building an image index: two images for linux/amd64",
	}, {
		name:   "a Docker image",
		images: []v1.Image{ociimagetest.MustBuild(t, docker)},
		want:   "building an image index: image 0 for linux/amd64 has media type application/vnd.docker.distribution.manifest.v2+json, want application/vnd.oci.image.manifest.v1+json",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ociimage.Index(tt.images...)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestWriteLayout(t *testing.T) {
	idx, err := ociimage.Index(ociimagetest.MustBuild(t, ociSpec("amd64")), ociimagetest.MustBuild(t, ociSpec("arm64")))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.tar"), filepath.Join(dir, "second.tar")
	created := time.Unix(1765000000, 0)
	for _, p := range []string{first, second} {
		if err := ociimage.WriteLayout(p, idx, "0.1.0", created); err != nil {
			t.Fatal(err)
		}
	}
	a, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("the same index gave two different layout tarballs")
	}

	// Extract it as a user would for crane, checking every entry's time.
	root := t.TempDir()
	var names []string
	for _, e := range ociimagetest.ReadTar(t, bytes.NewReader(a), created) {
		names = append(names, e.Name)
		p := filepath.Join(root, e.Name)
		if e.Type == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(e.Content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The index, two manifests, two configs and two layers.
	if want := 4 + 7; len(names) != want {
		t.Errorf("got entries %v, want %d", names, want)
	}
	if diff := cmp.Diff([]string{"oci-layout", "index.json", "blobs/", "blobs/sha256/"}, names[:4]); diff != "" {
		t.Errorf("first entries (-want +got):\n%s", diff)
	}

	l, err := layout.ImageIndexFromPath(root)
	if err != nil {
		t.Fatal(err)
	}
	top, err := l.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	wantTop := []v1.Descriptor{{
		MediaType:   types.OCIImageIndex,
		Digest:      ociimagetest.Digest(t, idx),
		Size:        mustSize(t, idx),
		Annotations: map[string]string{ociimage.RefNameAnnotation: "0.1.0"},
	}}
	if diff := cmp.Diff(wantTop, top.Manifests); diff != "" {
		t.Errorf("index.json (-want +got):\n%s", diff)
	}
	back, err := l.ImageIndex(ociimagetest.Digest(t, idx))
	if err != nil {
		t.Fatal(err)
	}
	// Every blob's digest and size against its descriptor.
	if err := validate.Index(back); err != nil {
		t.Errorf("the layout's index is not valid: %v", err)
	}
	m, err := back.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Manifests {
		img, err := back.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		entries := ociimagetest.LayerEntries(t, img, ociimagetest.Epoch)
		want := []ociimagetest.Entry{{Name: "app", Type: tar.TypeReg, Mode: 0o755, Content: "app for " + d.Platform.Architecture}}
		if diff := cmp.Diff(want, entries); diff != "" {
			t.Errorf("%s layer (-want +got):\n%s", d.Platform, diff)
		}
	}
}

func mustSize(t *testing.T, idx v1.ImageIndex) int64 {
	t.Helper()
	n, err := idx.Size()
	if err != nil {
		t.Fatal(err)
	}
	return n
}
