package nodeimage

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// DefaultPath is the environment entry an image gets unless its Spec sets
// PATH itself: the usual Linux search path, so a container finds /bin/sh's
// applets whatever its pod spec says.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// BusyboxSource is the busybox Busybox copies into its images. Debian's
// busybox-static installs it; being statically linked, it runs in an image
// that has no libc.
const BusyboxSource = "/bin/busybox"

// epoch is the time of every layer entry and image config, as
// SOURCE_DATE_EPOCH=0 would set it, so that nothing depends on when or
// where an image was built.
var epoch = time.Unix(0, 0).UTC()

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

	// missing, when Source does not exist, says how to get it: an error
	// naming the package to install saves a reader a search.
	missing string
}

// Owner is the numeric owner of a layer entry. Entries are owned by root
// unless a Spec names them in Owners.
type Owner struct {
	UID, GID int
}

// Spec describes an image of one layer.
type Spec struct {
	// Ref is the image's full reference, registry included, e.g.
	// "example.invalid/tekton/entrypoint:v1.15.1". It must name a tag
	// other than latest, so kubelet's default pull policy is IfNotPresent.
	Ref string
	// Entrypoint and Cmd are the image config's; a pod's command and args
	// replace them.
	Entrypoint []string
	Cmd        []string
	// Env is the image's environment; DefaultPath is added unless it sets
	// PATH.
	Env []string
	// User is the image config's user: "" (root), a number such as "1000",
	// or a name in the image's /etc/passwd such as "app".
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

// Build builds s's image: a scratch image with one gzip layer, whose
// entries are sorted, dated at the epoch and owned by root unless s.Owners
// says otherwise, and whose config is for linux on runtime.GOARCH, created
// at the epoch. The same Spec and input files yield the same digest.
func Build(s Spec) (v1.Image, error) {
	if _, err := parseRef(s.Ref); err != nil {
		return nil, err
	}
	layer, err := buildLayer(s)
	if err != nil {
		return nil, fmt.Errorf("building image %s: %w", s.Ref, err)
	}
	env := s.Env
	if !hasPath(env) {
		env = append([]string{DefaultPath}, env...)
	}
	cfg := &v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Created:      v1.Time{Time: epoch},
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			Entrypoint: s.Entrypoint,
			Cmd:        s.Cmd,
			Env:        env,
			User:       s.User,
			WorkingDir: s.WorkingDir,
		},
	}
	img, err := mutate.ConfigFile(empty.Image, cfg)
	if err != nil {
		return nil, fmt.Errorf("building image %s: %w", s.Ref, err)
	}
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "taskgate test/nodeimage"},
	})
	if err != nil {
		return nil, fmt.Errorf("building image %s: %w", s.Ref, err)
	}
	return img, nil
}

// WriteArchive builds every spec and writes them to one docker-archive
// tarball at path, each under its Ref, for `ctr images import`: one import
// loads every image the node runs. Specs that build to the same image are
// stored once, under all their references.
func WriteArchive(path string, specs ...Spec) error {
	if len(specs) == 0 {
		return errors.New("writing an image archive: no images")
	}
	refs := make(map[name.Reference]v1.Image, len(specs))
	seen := make(map[string]bool, len(specs))
	byDigest := make(map[v1.Hash]v1.Image, len(specs))
	for _, s := range specs {
		tag, err := parseRef(s.Ref)
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

// Busybox is a shell image: busybox copied from BusyboxSource with the
// common applets linked in /bin, a world-writable /tmp, and users root (0),
// app (1001, home /home/app owned by it), nonroot (65532, as in distroless)
// and nobody (65534), so tests can run it as root, as a number with no
// passwd entry ("1000"), or as a name. Its entrypoint is /bin/sh, so a
// pod's args are a shell's. files are added to the layer, e.g. a demo
// app's commands.
func Busybox(ref, user string, files ...File) Spec {
	symlinks := make(map[string]string, len(busyboxApplets))
	for _, applet := range busyboxApplets {
		symlinks["/bin/"+applet] = "/bin/busybox"
	}
	return Spec{
		Ref:        ref,
		Entrypoint: []string{"/bin/sh"},
		User:       user,
		Files: append([]File{
			{Path: "/bin/busybox", Source: BusyboxSource, Mode: 0o755, missing: "install the Debian package busybox-static"},
			{Path: "/etc/passwd", Content: []byte(busyboxPasswd), Mode: 0o644},
			{Path: "/etc/group", Content: []byte(busyboxGroup), Mode: 0o644},
		}, files...),
		Symlinks: symlinks,
		Dirs: map[string]int64{
			"/tmp":          0o1777,
			"/root":         0o700,
			"/home/app":     0o755,
			"/home/nonroot": 0o700,
		},
		Owners: map[string]Owner{
			"/home/app":     {UID: 1001, GID: 1001},
			"/home/nonroot": {UID: 65532, GID: 65532},
		},
	}
}

// Pause is the pod sandbox image containerd's CRI starts for every pod:
// pauseBinary (built from test/cmd/pause) at /pause, run as 65535 like
// Kubernetes' own pause image, since the real one may not be pulled.
func Pause(ref, pauseBinary string) Spec {
	return Spec{
		Ref:        ref,
		Entrypoint: []string{"/pause"},
		User:       "65535",
		Files:      []File{{Path: "/pause", Source: pauseBinary, Mode: 0o755}},
	}
}

// Tekton is the image of one of Tekton's helper commands (name is
// "entrypoint", "nop", "workingdirinit", ...), laid out as ko builds it on
// a distroless base: binary at /ko-app/<name>, which Tekton's pod specs
// name in their commands, as the entrypoint, ko's PATH (ending in
// /ko-app), user nonroot (65532), distroless' /etc/passwd and a
// world-writable /tmp.
func Tekton(ref, binary, name string) Spec {
	app := "/ko-app/" + name
	return Spec{
		Ref:        ref,
		Entrypoint: []string{app},
		Env:        []string{"PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/ko-app"},
		User:       "65532",
		Files: []File{
			{Path: app, Source: binary, Mode: 0o755},
			{Path: "/etc/passwd", Content: []byte(distrolessPasswd), Mode: 0o644},
			{Path: "/etc/group", Content: []byte(distrolessGroup), Mode: 0o644},
		},
		Dirs: map[string]int64{
			"/tmp":          0o1777,
			"/home/nonroot": 0o700,
		},
		Owners: map[string]Owner{"/home/nonroot": {UID: 65532, GID: 65532}},
	}
}

// busyboxApplets are linked in /bin: what test scripts and Tekton steps
// commonly call by name.
var busyboxApplets = []string{
	"awk", "basename", "cat", "chmod", "cp", "cut", "date", "dd", "dirname",
	"echo", "env", "expr", "false", "find", "grep", "head", "hostname", "id",
	"kill", "ln", "ls", "mkdir", "mv", "nc", "printf", "pwd", "rm", "sed",
	"seq", "sh", "sleep", "sort", "stat", "tail", "test", "timeout", "touch",
	"tr", "true", "uname", "wc", "xargs", "yes",
}

const (
	busyboxPasswd = `root:x:0:0:root:/root:/bin/sh
app:x:1001:1001:app:/home/app:/bin/sh
nonroot:x:65532:65532:nonroot:/home/nonroot:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
`
	busyboxGroup = `root:x:0:
app:x:1001:
nonroot:x:65532:
nobody:x:65534:
`
	distrolessPasswd = `root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
`
	distrolessGroup = `root:x:0:
nobody:x:65534:
nonroot:x:65532:
`
)

// parseRef parses a Spec's Ref. A registry and a tag must be explicit, so
// the name containerd stores is the one a pod spec gives, and the tag must
// not be latest, for which kubelet's default pull policy is Always.
func parseRef(ref string) (name.Tag, error) {
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return name.Tag{}, fmt.Errorf("image reference %q: %w", ref, err)
	}
	if tag.TagStr() == name.DefaultTag {
		return name.Tag{}, fmt.Errorf("image reference %q: tag latest would make kubelet pull it", ref)
	}
	return tag, nil
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
func buildLayer(s Spec) (v1.Layer, error) {
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
			ModTime:  epoch,
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
	})
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
		if errors.Is(err, fs.ErrNotExist) && f.missing != "" {
			return nil, fmt.Errorf("reading %s for %s (%s): %w", f.Source, f.Path, f.missing, err)
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
