package ociimage

import (
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// WriteArchive builds every spec and writes them to one docker-archive
// tarball at path, each under its Ref, for `ctr images import` or
// `docker load`: one import loads every image. Each Ref must be a full
// reference with a registry and a tag, so the name stored is the one a pod
// spec gives. Specs that build to the same image are stored once, under
// all their references.
func WriteArchive(path string, specs ...Spec) error {
	if len(specs) == 0 {
		return errors.New("writing an image archive: no images")
	}
	refs := make(map[name.Reference]v1.Image, len(specs))
	seen := make(map[string]bool, len(specs))
	byDigest := make(map[v1.Hash]v1.Image, len(specs))
	for _, s := range specs {
		tag, err := ParseTag(s.Ref)
		if err != nil {
			return err
		}
		if seen[tag.Name()] {
			return fmt.Errorf("image reference %s given twice", s.Ref)
		}
		seen[tag.Name()] = true
		img, err := Build(s)
		if err != nil {
			return err
		}
		d, err := img.Digest()
		if err != nil {
			return fmt.Errorf("computing the digest of image %s: %w", s.Ref, err)
		}
		// The writer groups references by image value, so the same
		// value makes one entry with several tags rather than two
		// copies of the same blobs.
		if same, ok := byDigest[d]; ok {
			img = same
		} else {
			byDigest[d] = img
		}
		refs[tag] = img
	}
	if err := tarball.MultiRefWriteToFile(path, refs); err != nil {
		return fmt.Errorf("writing image archive %s: %w", path, err)
	}
	return nil
}

// ParseTag parses a Spec's Ref for an archive: the registry and the tag
// must be explicit, so that the name a runtime stores is the one given.
func ParseTag(ref string) (name.Tag, error) {
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return name.Tag{}, fmt.Errorf("image reference %q: %w", ref, err)
	}
	return tag, nil
}
