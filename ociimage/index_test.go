package ociimage

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func ociSpec(arch string) Spec {
	return Spec{
		Platform:   v1.Platform{OS: "linux", Architecture: arch},
		MediaType:  types.OCIManifestSchema1,
		Entrypoint: []string{"/app"},
		Files:      []File{{Path: "/app", Content: []byte("app for " + arch), Mode: 0o755}},
	}
}

func TestIndex(t *testing.T) {
	amd, arm := mustBuild(t, ociSpec("amd64")), mustBuild(t, ociSpec("arm64"))
	idx, err := Index(amd, arm)
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
		{digest(t, amd), types.OCIManifestSchema1, v1.Platform{OS: "linux", Architecture: "amd64"}},
		{digest(t, arm), types.OCIManifestSchema1, v1.Platform{OS: "linux", Architecture: "arm64"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("manifests (-want +got):\n%s", diff)
	}
	again, err := Index(mustBuild(t, ociSpec("amd64")), mustBuild(t, ociSpec("arm64")))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := digest(t, idx), digest(t, again); a != b {
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
		images: []v1.Image{mustBuild(t, ociSpec("amd64")), mustBuild(t, ociSpec("amd64"))},
		want:   "building an image index: two images for linux/amd64",
	}, {
		name:   "a Docker image",
		images: []v1.Image{mustBuild(t, docker)},
		want:   "building an image index: image 0 for linux/amd64 has media type application/vnd.docker.distribution.manifest.v2+json, want application/vnd.oci.image.manifest.v1+json",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Index(tt.images...)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestWriteLayout(t *testing.T) {
	idx, err := Index(mustBuild(t, ociSpec("amd64")), mustBuild(t, ociSpec("arm64")))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.tar"), filepath.Join(dir, "second.tar")
	created := time.Unix(1765000000, 0)
	for _, p := range []string{first, second} {
		if err := WriteLayout(p, idx, "0.1.0", created); err != nil {
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
	tr := tar.NewReader(bytes.NewReader(a))
	var names []string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		if !hdr.ModTime.Equal(created) {
			t.Errorf("%s: mtime %v, want %v", hdr.Name, hdr.ModTime, created)
		}
		p := filepath.Join(root, hdr.Name)
		if hdr.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		content, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
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
		Digest:      digest(t, idx),
		Size:        mustSize(t, idx),
		Annotations: map[string]string{RefNameAnnotation: "0.1.0"},
	}}
	if diff := cmp.Diff(wantTop, top.Manifests); diff != "" {
		t.Errorf("index.json (-want +got):\n%s", diff)
	}
	back, err := l.ImageIndex(digest(t, idx))
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
		entries := layerEntries(t, img, epoch)
		want := []tarEntry{{Name: "app", Type: tar.TypeReg, Mode: 0o755, Content: "app for " + d.Platform.Architecture}}
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
