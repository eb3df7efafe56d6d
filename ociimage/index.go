package ociimage

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// RefNameAnnotation names an image in an OCI layout's index.json; tools
// such as skopeo select it with oci-archive:<path>:<name>.
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// Index is an OCI image index of images, each listed under the platform
// of its config, in the order given, so that a runtime pulls the one for
// its node. Two images of the same platform are an error.
func Index(images ...v1.Image) (v1.ImageIndex, error) {
	if len(images) == 0 {
		return nil, fmt.Errorf("building an image index: no images")
	}
	var idx v1.ImageIndex = empty.Index
	adds := make([]mutate.IndexAddendum, 0, len(images))
	seen := make(map[string]bool, len(images))
	for i, img := range images {
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("building an image index: reading image %d's config: %w", i, err)
		}
		p := cfg.Platform()
		if p == nil || p.OS == "" || p.Architecture == "" {
			return nil, fmt.Errorf("building an image index: image %d's config names no OS and architecture", i)
		}
		if seen[p.String()] {
			return nil, fmt.Errorf("building an image index: two images for %s", p)
		}
		seen[p.String()] = true
		mt, err := img.MediaType()
		if err != nil {
			return nil, fmt.Errorf("building an image index: reading image %d's media type: %w", i, err)
		}
		if mt != types.OCIManifestSchema1 {
			// An OCI index lists OCI manifests; Docker's media types
			// belong in a Docker manifest list.
			return nil, fmt.Errorf("building an image index: image %d for %s has media type %s, want %s", i, p, mt, types.OCIManifestSchema1)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	return mutate.AppendManifests(idx, adds...), nil
}

// WriteLayout writes idx as a tarball of an OCI image layout to path:
// oci-layout, an index.json that lists idx under refName, and every blob,
// its entries sorted and dated at created (the epoch if zero), so the same
// index gives the same file. `skopeo copy --all oci-archive:<path>:<refName>`
// reads it, and crane and go-containerregistry's layout package read it
// once extracted.
func WriteLayout(path string, idx v1.ImageIndex, refName string, created time.Time) error {
	if err := writeLayout(path, idx, refName, created); err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", path, err)
	}
	return nil
}

func writeLayout(path string, idx v1.ImageIndex, refName string, created time.Time) error {
	if created.IsZero() {
		created = time.Unix(0, 0)
	}
	blobs, err := indexBlobs(idx)
	if err != nil {
		return err
	}
	desc, err := partial.Descriptor(idx)
	if err != nil {
		return err
	}
	if refName != "" {
		desc.Annotations = map[string]string{RefNameAnnotation: refName}
	}
	index, err := json.Marshal(v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests:     []v1.Descriptor{*desc},
	})
	if err != nil {
		return err
	}

	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	tw := tar.NewWriter(tmp)
	header := func(name string, typeflag byte, mode, size int64) error {
		return tw.WriteHeader(&tar.Header{Name: name, Typeflag: typeflag, Mode: mode, Size: size, ModTime: created.UTC()})
	}
	for _, f := range []struct {
		name    string
		content []byte
	}{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", index},
	} {
		if err := header(f.name, tar.TypeReg, 0o644, int64(len(f.content))); err != nil {
			return err
		}
		if _, err := tw.Write(f.content); err != nil {
			return err
		}
	}
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := header(dir, tar.TypeDir, 0o755, 0); err != nil {
			return err
		}
	}
	digests := make([]v1.Hash, 0, len(blobs))
	for h := range blobs {
		digests = append(digests, h)
	}
	sort.Slice(digests, func(i, j int) bool { return digests[i].String() < digests[j].String() })
	for _, h := range digests {
		b := blobs[h]
		if err := header("blobs/"+h.Algorithm+"/"+h.Hex, tar.TypeReg, 0o644, b.size); err != nil {
			return err
		}
		rc, err := b.open()
		if err != nil {
			return fmt.Errorf("reading blob %s: %w", h, err)
		}
		n, err := io.Copy(tw, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("writing blob %s: %w", h, err)
		}
		if n != b.size {
			return fmt.Errorf("blob %s has %d bytes, its descriptor says %d", h, n, b.size)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// blob is one blob of a layout: its size and how to read it.
type blob struct {
	size int64
	open func() (io.ReadCloser, error)
}

func rawBlob(b []byte) blob {
	return blob{size: int64(len(b)), open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}
}

// indexBlobs are idx's manifest and, for each image it lists, its
// manifest, config and compressed layers, by digest.
func indexBlobs(idx v1.ImageIndex) (map[v1.Hash]blob, error) {
	blobs := map[v1.Hash]blob{}
	raw, err := idx.RawManifest()
	if err != nil {
		return nil, err
	}
	d, err := idx.Digest()
	if err != nil {
		return nil, err
	}
	blobs[d] = rawBlob(raw)
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, desc := range m.Manifests {
		if !desc.MediaType.IsImage() {
			return nil, fmt.Errorf("index lists %s of media type %s: only images are written", desc.Digest, desc.MediaType)
		}
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return nil, err
		}
		raw, err := img.RawManifest()
		if err != nil {
			return nil, err
		}
		blobs[desc.Digest] = rawBlob(raw)
		cfg, err := img.RawConfigFile()
		if err != nil {
			return nil, err
		}
		cfgName, err := img.ConfigName()
		if err != nil {
			return nil, err
		}
		blobs[cfgName] = rawBlob(cfg)
		layers, err := img.Layers()
		if err != nil {
			return nil, err
		}
		for _, l := range layers {
			ld, err := l.Digest()
			if err != nil {
				return nil, err
			}
			size, err := l.Size()
			if err != nil {
				return nil, err
			}
			blobs[ld] = blob{size: size, open: l.Compressed}
		}
	}
	return blobs, nil
}
