package ociimage

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// DefaultPath is the environment entry an image gets unless its Spec sets
// PATH itself: the usual Linux search path, so a container finds its
// commands whatever its pod spec says.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// createdBy is the history entry of every layer.
const createdBy = "taskgate ociimage"

// File is one file of an image's layer.
type File struct {
	// Path is the file's absolute path in the image.
	Path string
	// Source is a file on this machine whose content is copied. If it is
	// empty, Content is the file's content (which may be empty); setting
	// both is an error.
	Source string
	// Content is the file's literal content.
	Content []byte
	// Mode is the file's permission bits, e.g. 0o755, with setuid, setgid
	// and sticky allowed. Zero means Source's permission bits, or 0o644
	// for Content.
	Mode int64
	// Hint, when Source does not exist, says how to get it, e.g. the
	// package to install: an error naming it saves a reader a search.
	Hint string
}

// Owner is the numeric owner of a layer entry. Entries are owned by root
// unless a Spec names them in Owners.
type Owner struct {
	UID, GID int
}

// Spec describes an image of one layer.
type Spec struct {
	// Ref names the image in errors and, for WriteArchive, in the
	// archive: a full reference with a registry and a tag, e.g.
	// "example.invalid/tekton/entrypoint:v1.15.1". Build does not need
	// it.
	Ref string
	// Platform is the config's OS, architecture and variant. The zero
	// value means linux on the architecture this program runs on, as the
	// local cluster's node is.
	Platform v1.Platform
	// Created is the config's created time and the time of every layer
	// entry, e.g. SOURCE_DATE_EPOCH's. The zero value means the Unix
	// epoch.
	Created time.Time
	// MediaType is the manifest's media type: "" or
	// types.DockerManifestSchema2 for a Docker image, what a
	// docker-archive holds, or types.OCIManifestSchema1 for an OCI image
	// with an OCI config and layer.
	MediaType types.MediaType
	// Labels are the config's labels, e.g. org.opencontainers.image.*.
	Labels map[string]string
	// Entrypoint and Cmd are the image config's; a pod's command and args
	// replace them.
	Entrypoint []string
	Cmd        []string
	// Env is the image's environment; DefaultPath is added unless it sets
	// PATH.
	Env []string
	// User is the image config's user: "" (root), a number such as "1000",
	// a pair such as "65532:65532", or a name in the image's /etc/passwd.
	User string
	// WorkingDir is the image config's working directory.
	WorkingDir string
	// Files are the layer's regular files.
	Files []File
	// Symlinks maps a path in the image to the symlink's target.
	Symlinks map[string]string
	// Dirs maps a directory to its mode, e.g. "/tmp": 0o1777. Parents of
	// every entry are created anyway, with mode 0o755.
	Dirs map[string]int64
	// Owners maps a path of any entry above to its owner, e.g. a user's
	// home directory.
	Owners map[string]Owner
}

// platform is s's platform, the host's architecture on linux unless set.
func (s Spec) platform() v1.Platform {
	if s.Platform.OS == "" && s.Platform.Architecture == "" {
		return v1.Platform{OS: "linux", Architecture: runtime.GOARCH, Variant: s.Platform.Variant}
	}
	return s.Platform
}

// created is s's creation time, the epoch unless set, in UTC.
func (s Spec) created() time.Time {
	if s.Created.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return s.Created.UTC()
}

// name names s's image in errors.
func (s Spec) name() string {
	if s.Ref != "" {
		return s.Ref
	}
	return "for " + s.platform().String()
}

// Build builds s's image: a scratch image with one gzip layer, whose
// entries are sorted, dated at s's creation time and owned by root unless
// s.Owners says otherwise, and whose config is for s's platform, created
// at the same time. The same Spec and input files yield the same digest.
func Build(s Spec) (v1.Image, error) {
	img, err := build(s)
	if err != nil {
		return nil, fmt.Errorf("building image %s: %w", s.name(), err)
	}
	return img, nil
}

func build(s Spec) (v1.Image, error) {
	p := s.platform()
	if p.OS == "" || p.Architecture == "" {
		return nil, fmt.Errorf("platform with OS %q and architecture %q: both are needed", p.OS, p.Architecture)
	}
	base := empty.Image
	layerType := types.DockerLayer
	switch s.MediaType {
	case "", types.DockerManifestSchema2:
	case types.OCIManifestSchema1:
		base = mutate.ConfigMediaType(mutate.MediaType(base, types.OCIManifestSchema1), types.OCIConfigJSON)
		layerType = types.OCILayer
	default:
		return nil, fmt.Errorf("media type %q is neither %s nor %s", s.MediaType, types.DockerManifestSchema2, types.OCIManifestSchema1)
	}
	layer, err := buildLayer(s, layerType)
	if err != nil {
		return nil, err
	}
	env := s.Env
	if !hasPath(env) {
		env = append([]string{DefaultPath}, env...)
	}
	created := v1.Time{Time: s.created()}
	cfg := &v1.ConfigFile{
		Architecture: p.Architecture,
		OS:           p.OS,
		Variant:      p.Variant,
		OSVersion:    p.OSVersion,
		OSFeatures:   p.OSFeatures,
		Created:      created,
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			Entrypoint: s.Entrypoint,
			Cmd:        s.Cmd,
			Env:        env,
			User:       s.User,
			WorkingDir: s.WorkingDir,
			Labels:     maps.Clone(s.Labels),
		},
	}
	img, err := mutate.ConfigFile(base, cfg)
	if err != nil {
		return nil, err
	}
	return mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		History:   v1.History{Created: created, CreatedBy: createdBy},
		MediaType: layerType,
	})
}

func hasPath(env []string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			return true
		}
	}
	return false
}

// entry is one entry of a layer, keyed by its absolute path.
type entry struct {
	typeflag byte
	mode     int64
	linkname string
	content  []byte
	owner    Owner
}

// buildLayer is s's layer: its entries and all their parents, sorted by
// path, which puts every directory before what it holds.
func buildLayer(s Spec, mediaType types.MediaType) (v1.Layer, error) {
	entries := map[string]*entry{}
	add := func(p string, e *entry) error {
		if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
			return fmt.Errorf("path %q is not a clean absolute path below /", p)
		}
		if e.mode&^0o7777 != 0 {
			return fmt.Errorf("%s: mode %O has bits other than permissions", p, e.mode)
		}
		if _, ok := entries[p]; ok {
			return fmt.Errorf("%s is given twice", p)
		}
		entries[p] = e
		return nil
	}
	for _, f := range s.Files {
		e, err := fileEntry(f)
		if err != nil {
			return nil, err
		}
		if err := add(f.Path, e); err != nil {
			return nil, err
		}
	}
	for p, target := range s.Symlinks {
		if target == "" {
			return nil, fmt.Errorf("symlink %s has no target", p)
		}
		if err := add(p, &entry{typeflag: tar.TypeSymlink, mode: 0o777, linkname: target}); err != nil {
			return nil, err
		}
	}
	for p, mode := range s.Dirs {
		if err := add(p, &entry{typeflag: tar.TypeDir, mode: mode}); err != nil {
			return nil, err
		}
	}
	given := make([]string, 0, len(entries))
	for p := range entries {
		given = append(given, p)
	}
	for _, p := range given {
		for dir := path.Dir(p); dir != "/"; dir = path.Dir(dir) {
			parent, ok := entries[dir]
			if !ok {
				entries[dir] = &entry{typeflag: tar.TypeDir, mode: 0o755}
				continue
			}
			if parent.typeflag != tar.TypeDir {
				return nil, fmt.Errorf("%s needs %s to be a directory", p, dir)
			}
		}
	}
	for p, owner := range s.Owners {
		e, ok := entries[p]
		if !ok {
			return nil, fmt.Errorf("owner given for %s, which is not in the image", p)
		}
		e.owner = owner
	}

	paths := make([]string, 0, len(entries))
	for p := range entries {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		e := entries[p]
		hdr := &tar.Header{
			Typeflag: e.typeflag,
			Name:     strings.TrimPrefix(p, "/"),
			Linkname: e.linkname,
			Mode:     e.mode,
			Uid:      e.owner.UID,
			Gid:      e.owner.GID,
			Size:     int64(len(e.content)),
			ModTime:  s.created(),
		}
		if e.typeflag == tar.TypeDir {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("writing %s to the layer: %w", p, err)
		}
		if _, err := tw.Write(e.content); err != nil {
			return nil, fmt.Errorf("writing %s to the layer: %w", p, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("writing the layer: %w", err)
	}
	layer := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layer)), nil
	}, tarball.WithMediaType(mediaType))
}

// fileEntry reads f's content now, so that a missing source fails Build
// rather than the archive's writing.
func fileEntry(f File) (*entry, error) {
	if f.Source == "" {
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		return &entry{typeflag: tar.TypeReg, mode: mode, content: f.Content}, nil
	}
	if f.Content != nil {
		return nil, fmt.Errorf("%s has both a source and content", f.Path)
	}
	content, err := os.ReadFile(f.Source)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && f.Hint != "" {
			return nil, fmt.Errorf("reading %s for %s (%s): %w", f.Source, f.Path, f.Hint, err)
		}
		return nil, fmt.Errorf("reading %s for %s: %w", f.Source, f.Path, err)
	}
	mode := f.Mode
	if mode == 0 {
		info, err := os.Stat(f.Source)
		if err != nil {
			return nil, fmt.Errorf("reading %s for %s: %w", f.Source, f.Path, err)
		}
		mode = int64(info.Mode().Perm())
	}
	return &entry{typeflag: tar.TypeReg, mode: mode, content: content}, nil
}
