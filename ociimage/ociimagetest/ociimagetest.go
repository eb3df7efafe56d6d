package ociimagetest

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/taskgate/taskgate/ociimage"
)

// Epoch is the time ociimage dates an image at unless its Spec says otherwise.
var Epoch = time.Unix(0, 0)

// Entry is what tests compare of a tar entry: its header's name, type,
// permissions, owner and link, and its content.
type Entry struct {
	Name     string
	Type     byte
	Mode     int64
	UID, GID int
	Linkname string
	Content  string
}

// FileMode is e's mode as os.Chmod takes it, with the setuid, setgid and
// sticky bits translated as archive/tar does.
func (e Entry) FileMode() os.FileMode {
	return (&tar.Header{Name: e.Name, Typeflag: e.Type, Mode: e.Mode}).FileInfo().Mode()
}

// WriteFile writes content to a new file name in a temporary directory
// with mode and returns its path.
func WriteFile(t testing.TB, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// MustBuild builds s with ociimage.Build.
func MustBuild(t testing.TB, s ociimage.Spec) v1.Image {
	t.Helper()
	img, err := ociimage.Build(s)
	if err != nil {
		t.Fatalf("ociimage.Build(%s): %v", s.Ref, err)
	}
	return img
}

// Digest is x's digest, x being an image or an index.
func Digest(t testing.TB, x interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	d, err := x.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// ReadTar reads every entry of the tarball r, in order, failing on any
// entry not dated at mtime: a reproducible build dates them all alike.
func ReadTar(t testing.TB, r io.Reader, mtime time.Time) []Entry {
	t.Helper()
	var entries []Entry
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return entries
		}
		if err != nil {
			t.Fatal(err)
		}
		if !hdr.ModTime.Equal(mtime) {
			t.Errorf("%s: mtime %v, want %v", hdr.Name, hdr.ModTime.UTC(), mtime.UTC())
		}
		content, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, Entry{
			Name: hdr.Name, Type: hdr.Typeflag, Mode: hdr.Mode, UID: hdr.Uid, GID: hdr.Gid,
			Linkname: hdr.Linkname, Content: string(content),
		})
	}
}

// LayerEntries reads img's single layer with ReadTar, failing on any other
// number of layers.
func LayerEntries(t testing.TB, img v1.Image, mtime time.Time) []Entry {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("got %d layers, want 1", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	return ReadTar(t, rc, mtime)
}

// Archive is what tests compare of a docker-archive tarball: the digest of
// the image stored under each tag, and which tags share one stored image.
type Archive struct {
	Digests map[string]v1.Hash
	// Tags holds each stored image's tags, sorted, in the order of their
	// first tag: the archive's own order follows a map's.
	Tags [][]string
}

// ReadArchive reads back the docker-archive tarball at path.
func ReadArchive(t testing.TB, path string) Archive {
	t.Helper()
	opener := func() (io.ReadCloser, error) { return os.Open(path) }
	manifest, err := tarball.LoadManifest(opener)
	if err != nil {
		t.Fatal(err)
	}
	a := Archive{Digests: map[string]v1.Hash{}}
	for _, d := range manifest {
		tags := append([]string(nil), d.RepoTags...)
		sort.Strings(tags)
		a.Tags = append(a.Tags, tags)
		for _, ref := range tags {
			tag, err := name.NewTag(ref)
			if err != nil {
				t.Fatal(err)
			}
			img, err := tarball.Image(opener, &tag)
			if err != nil {
				t.Fatalf("reading %s back: %v", ref, err)
			}
			a.Digests[ref] = Digest(t, img)
		}
	}
	sort.Slice(a.Tags, func(i, j int) bool { return a.Tags[i][0] < a.Tags[j][0] })
	return a
}

// CheckLayer builds s and reports any difference between its single
// layer's entries, each dated at mtime, and want.
func CheckLayer(t testing.TB, s ociimage.Spec, mtime time.Time, want []Entry) {
	t.Helper()
	if diff := cmp.Diff(want, LayerEntries(t, MustBuild(t, s), mtime)); diff != "" {
		t.Errorf("%s: layer (-want +got):\n%s", s.Ref, diff)
	}
}

// LayerCase is one case of a table test of what a Spec's layer holds.
type LayerCase struct {
	Name string
	Spec ociimage.Spec
	Want []Entry
}

// RunLayerCases runs each case as a subtest with CheckLayer.
func RunLayerCases(t *testing.T, mtime time.Time, cases []LayerCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			CheckLayer(t, c.Spec, mtime, c.Want)
		})
	}
}
