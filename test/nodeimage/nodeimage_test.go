package nodeimage

import (
	"archive/tar"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/taskgate/taskgate/ociimage"
)

// fakeBusybox points s's /bin/busybox at a small file, so the tests run on
// machines without busybox-static and their digests do not depend on it.
func fakeBusybox(t *testing.T, s ociimage.Spec) ociimage.Spec {
	t.Helper()
	src := writeFile(t, "busybox", "#!busybox\n", 0o700)
	files := append([]ociimage.File(nil), s.Files...)
	for i := range files {
		if files[i].Path == "/bin/busybox" {
			files[i].Source = src
			return withFiles(s, files)
		}
	}
	t.Fatalf("%s has no /bin/busybox", s.Ref)
	return s
}

func withFiles(s ociimage.Spec, files []ociimage.File) ociimage.Spec {
	s.Files = files
	return s
}

func writeFile(t *testing.T, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustBuild(t *testing.T, s ociimage.Spec) v1.Image {
	t.Helper()
	img, err := ociimage.Build(s)
	if err != nil {
		t.Fatalf("ociimage.Build(%s): %v", s.Ref, err)
	}
	return img
}

func digest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// tarEntry is what the tests compare of a layer's tar header.
type tarEntry struct {
	Name     string
	Type     byte
	Mode     int64
	UID, GID int
	Linkname string
	Content  string
}

// layerEntries reads img's single layer, failing on any entry not dated at
// the epoch.
func layerEntries(t *testing.T, img v1.Image) []tarEntry {
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
	var entries []tarEntry
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.ModTime.Unix() != 0 {
			t.Errorf("%s: mtime %v, want the epoch", hdr.Name, hdr.ModTime)
		}
		content, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, tarEntry{
			Name: hdr.Name, Type: hdr.Typeflag, Mode: hdr.Mode, UID: hdr.Uid, GID: hdr.Gid,
			Linkname: hdr.Linkname, Content: string(content),
		})
	}
	return entries
}

func TestBuildConfig(t *testing.T) {
	bin := writeFile(t, "bin", "binary", 0o755)
	ko := "PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/ko-app"
	tests := []struct {
		name string
		spec ociimage.Spec
		want v1.Config
	}{{
		name: "busybox as root",
		spec: Busybox("example.invalid/shell:root", ""),
		want: v1.Config{Entrypoint: []string{"/bin/sh"}, Env: []string{ociimage.DefaultPath}},
	}, {
		name: "busybox as a number",
		spec: Busybox("example.invalid/shell:uid-1000", "1000"),
		want: v1.Config{Entrypoint: []string{"/bin/sh"}, Env: []string{ociimage.DefaultPath}, User: "1000"},
	}, {
		name: "busybox as a name",
		spec: Busybox("example.invalid/shell:user-app", "app"),
		want: v1.Config{Entrypoint: []string{"/bin/sh"}, Env: []string{ociimage.DefaultPath}, User: "app"},
	}, {
		name: "pause",
		spec: Pause("example.invalid/pause:1", bin),
		want: v1.Config{Entrypoint: []string{"/pause"}, Env: []string{ociimage.DefaultPath}, User: "65535"},
	}, {
		name: "tekton",
		spec: Tekton("example.invalid/tekton/entrypoint:v1.15.1", bin, "entrypoint"),
		want: v1.Config{Entrypoint: []string{"/ko-app/entrypoint"}, Env: []string{ko}, User: "65532"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec
			if strings.Contains(tt.name, "busybox") {
				spec = fakeBusybox(t, spec)
			}
			cfg, err := mustBuild(t, spec).ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, cfg.Config); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if cfg.Created.Unix() != 0 {
				t.Errorf("created %v, want the epoch", cfg.Created.Time)
			}
			if cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH {
				t.Errorf("platform %s/%s, want linux/%s", cfg.OS, cfg.Architecture, runtime.GOARCH)
			}
			if len(cfg.RootFS.DiffIDs) != 1 || cfg.RootFS.Type != "layers" {
				t.Errorf("rootfs %+v, want one layer", cfg.RootFS)
			}
		})
	}
}

func TestLayerEntries(t *testing.T) {
	bin := writeFile(t, "bin", "pause binary", 0o700)
	tests := []struct {
		name string
		spec ociimage.Spec
		want []tarEntry
	}{{
		name: "pause",
		spec: Pause("example.invalid/pause:1", bin),
		want: []tarEntry{{Name: "pause", Type: tar.TypeReg, Mode: 0o755, Content: "pause binary"}},
	}, {
		name: "tekton",
		spec: Tekton("example.invalid/tekton/nop:v1.15.1", bin, "nop"),
		want: []tarEntry{
			{Name: "etc/", Type: tar.TypeDir, Mode: 0o755},
			{Name: "etc/group", Type: tar.TypeReg, Mode: 0o644, Content: distrolessGroup},
			{Name: "etc/passwd", Type: tar.TypeReg, Mode: 0o644, Content: distrolessPasswd},
			{Name: "home/", Type: tar.TypeDir, Mode: 0o755},
			{Name: "home/nonroot/", Type: tar.TypeDir, Mode: 0o700, UID: 65532, GID: 65532},
			{Name: "ko-app/", Type: tar.TypeDir, Mode: 0o755},
			{Name: "ko-app/nop", Type: tar.TypeReg, Mode: 0o755, Content: "pause binary"},
			{Name: "tmp/", Type: tar.TypeDir, Mode: 0o1777},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := layerEntries(t, mustBuild(t, tt.spec))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("layer (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBusyboxLayer(t *testing.T) {
	spec := Busybox("example.invalid/shell:v1", "app",
		ociimage.File{Path: "/usr/local/bin/bundle", Content: []byte("#!/bin/sh\necho bundle\n"), Mode: 0o755})
	if got := spec.Files[0]; got.Path != "/bin/busybox" || got.Source != BusyboxSource {
		t.Fatalf("first file %s from %s, want /bin/busybox from %s", got.Path, got.Source, BusyboxSource)
	}
	entries := layerEntries(t, mustBuild(t, fakeBusybox(t, spec)))

	byName := make(map[string]tarEntry, len(entries))
	var names []string
	for _, e := range entries {
		byName[e.Name] = e
		names = append(names, e.Name)
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("entries are not sorted: %v", names)
	}
	// Every applet's symlink, busybox, 3 other files, 10 directories.
	if want := len(busyboxApplets) + 1 + 3 + 10; len(entries) != want {
		t.Errorf("got %d entries, want %d: %v", len(entries), want, names)
	}
	want := []tarEntry{
		{Name: "bin/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "bin/busybox", Type: tar.TypeReg, Mode: 0o755, Content: "#!busybox\n"},
		{Name: "bin/sh", Type: tar.TypeSymlink, Mode: 0o777, Linkname: "/bin/busybox"},
		{Name: "bin/timeout", Type: tar.TypeSymlink, Mode: 0o777, Linkname: "/bin/busybox"},
		{Name: "bin/awk", Type: tar.TypeSymlink, Mode: 0o777, Linkname: "/bin/busybox"},
		{Name: "etc/passwd", Type: tar.TypeReg, Mode: 0o644, Content: busyboxPasswd},
		{Name: "etc/group", Type: tar.TypeReg, Mode: 0o644, Content: busyboxGroup},
		{Name: "home/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "home/app/", Type: tar.TypeDir, Mode: 0o755, UID: 1001, GID: 1001},
		{Name: "home/nonroot/", Type: tar.TypeDir, Mode: 0o700, UID: 65532, GID: 65532},
		{Name: "root/", Type: tar.TypeDir, Mode: 0o700},
		{Name: "tmp/", Type: tar.TypeDir, Mode: 0o1777},
		{Name: "usr/local/bin/bundle", Type: tar.TypeReg, Mode: 0o755, Content: "#!/bin/sh\necho bundle\n"},
	}
	for _, w := range want {
		if diff := cmp.Diff(w, byName[w.Name]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", w.Name, diff)
		}
	}
	for _, applet := range busyboxApplets {
		if got := byName["bin/"+applet]; got.Linkname != "/bin/busybox" {
			t.Errorf("bin/%s links to %q, want /bin/busybox", applet, got.Linkname)
		}
	}
	for _, line := range []string{
		"root:x:0:0:root:/root:/bin/sh",
		"app:x:1001:1001:app:/home/app:/bin/sh",
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/bin/sh",
		"nobody:x:65534:65534:nobody:/nonexistent:/bin/false",
	} {
		if !strings.Contains(busyboxPasswd, line+"\n") {
			t.Errorf("/etc/passwd lacks %q", line)
		}
	}
}

func TestWriteArchive(t *testing.T) {
	bin := writeFile(t, "bin", "binary", 0o755)
	specs := []ociimage.Spec{
		Pause("example.invalid/pause:1", bin),
		Tekton("example.invalid/tekton/entrypoint:v1.15.1", bin, "entrypoint"),
		Tekton("example.invalid/tekton/nop:v1.15.1", bin, "nop"),
		fakeBusybox(t, Busybox("example.invalid/shell:root", "")),
		fakeBusybox(t, Busybox("example.invalid/shell:uid-1000", "1000")),
		fakeBusybox(t, Busybox("example.invalid/shell:user-app", "app")),
		// The same image as shell:root under a second name.
		fakeBusybox(t, Busybox("example.invalid/tekton/busybox:v1.15.1", "")),
	}
	archive := filepath.Join(t.TempDir(), "images.tar")
	if err := WriteArchive(archive, specs...); err != nil {
		t.Fatal(err)
	}
	opener := func() (io.ReadCloser, error) { return os.Open(archive) }

	for _, s := range specs {
		tag, err := name.NewTag(s.Ref)
		if err != nil {
			t.Fatal(err)
		}
		img, err := tarball.Image(opener, &tag)
		if err != nil {
			t.Fatalf("reading %s back: %v", s.Ref, err)
		}
		if got, want := digest(t, img), digest(t, mustBuild(t, s)); got != want {
			t.Errorf("%s: digest %s in the archive, want %s", s.Ref, got, want)
		}
	}

	manifest, err := tarball.LoadManifest(opener)
	if err != nil {
		t.Fatal(err)
	}
	// The archive's order follows a map's; compare it sorted.
	var tags [][]string
	for _, d := range manifest {
		repoTags := append([]string(nil), d.RepoTags...)
		sort.Strings(repoTags)
		tags = append(tags, repoTags)
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i][0] < tags[j][0] })
	want := [][]string{
		{"example.invalid/pause:1"},
		{"example.invalid/shell:root", "example.invalid/tekton/busybox:v1.15.1"},
		{"example.invalid/shell:uid-1000"},
		{"example.invalid/shell:user-app"},
		{"example.invalid/tekton/entrypoint:v1.15.1"},
		{"example.invalid/tekton/nop:v1.15.1"},
	}
	if diff := cmp.Diff(want, tags); diff != "" {
		t.Errorf("archive's tags (-want +got):\n%s", diff)
	}
}

func TestErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	busybox := Busybox("example.invalid/shell:v1", "")
	busybox.Files[0].Source = missing

	tests := []struct {
		name  string
		specs []ociimage.Spec
		want  string
	}{{
		name:  "missing busybox names its package",
		specs: []ociimage.Spec{busybox},
		want:  "building image example.invalid/shell:v1: reading " + missing + " for /bin/busybox (install the Debian package busybox-static): open " + missing + ": no such file or directory",
	}, {
		name:  "missing source",
		specs: []ociimage.Spec{Pause("example.invalid/pause:1", missing)},
		want:  "building image example.invalid/pause:1: reading " + missing + " for /pause: open " + missing + ": no such file or directory",
	}, {
		name:  "latest",
		specs: []ociimage.Spec{{Ref: "example.invalid/x:latest"}},
		want:  `image reference "example.invalid/x:latest": tag latest would make kubelet pull it`,
	}, {
		name:  "latest after a good one",
		specs: []ociimage.Spec{{Ref: "example.invalid/x:1"}, {Ref: "example.invalid/y:latest"}},
		want:  `image reference "example.invalid/y:latest": tag latest would make kubelet pull it`,
	}, {
		name:  "no tag",
		specs: []ociimage.Spec{{Ref: "example.invalid/x"}},
		want:  `image reference "example.invalid/x": `,
	}, {
		name: "no images",
		want: "writing an image archive: no images",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			archive := filepath.Join(t.TempDir(), "images.tar")
			err := WriteArchive(archive, tt.specs...)
			if err == nil {
				t.Fatal("WriteArchive succeeded")
			}
			// Errors from the name package end in its own wording.
			if strings.HasSuffix(tt.want, ": ") {
				if !strings.HasPrefix(err.Error(), tt.want) {
					t.Errorf("error %q, want it to start with %q", err, tt.want)
				}
			} else if err.Error() != tt.want {
				t.Errorf("error %q, want %q", err, tt.want)
			}
			if _, statErr := os.Stat(archive); !errors.Is(statErr, fs.ErrNotExist) {
				t.Errorf("the archive exists after an error: %v", statErr)
			}
		})
	}
}
