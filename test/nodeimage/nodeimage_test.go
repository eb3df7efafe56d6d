package nodeimage

import (
	"archive/tar"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/taskgate/taskgate/ociimage"
	"github.com/taskgate/taskgate/ociimage/ociimagetest"
)

// fakeBusybox points s's /bin/busybox at a small file, so the tests run on
// machines without busybox-static and their digests do not depend on it.
func fakeBusybox(t *testing.T, s ociimage.Spec) ociimage.Spec {
	t.Helper()
	src := ociimagetest.WriteFile(t, "busybox", "#!busybox\n", 0o700)
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

func TestBuildConfig(t *testing.T) {
	bin := ociimagetest.WriteFile(t, "bin", "binary", 0o755)
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
			cfg, err := ociimagetest.MustBuild(t, spec).ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, cfg.Config); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLayerEntries(t *testing.T) {
	bin := ociimagetest.WriteFile(t, "bin", "pause binary", 0o700)
	ociimagetest.RunLayerCases(t, ociimagetest.Epoch, []ociimagetest.LayerCase{{
		Name: "pause",
		Spec: Pause("example.invalid/pause:1", bin),
		Want: []ociimagetest.Entry{{Name: "pause", Type: tar.TypeReg, Mode: 0o755, Content: "pause binary"}},
	}, {
		Name: "tekton",
		Spec: Tekton("example.invalid/tekton/nop:v1.15.1", bin, "nop"),
		Want: []ociimagetest.Entry{
			{Name: "etc/", Type: tar.TypeDir, Mode: 0o755},
			{Name: "etc/group", Type: tar.TypeReg, Mode: 0o644, Content: distrolessGroup},
			{Name: "etc/passwd", Type: tar.TypeReg, Mode: 0o644, Content: distrolessPasswd},
			{Name: "home/", Type: tar.TypeDir, Mode: 0o755},
			{Name: "home/nonroot/", Type: tar.TypeDir, Mode: 0o700, UID: 65532, GID: 65532},
			{Name: "ko-app/", Type: tar.TypeDir, Mode: 0o755},
			{Name: "ko-app/nop", Type: tar.TypeReg, Mode: 0o755, Content: "pause binary"},
			{Name: "tmp/", Type: tar.TypeDir, Mode: 0o1777},
		},
	}})
}

func TestBusyboxLayer(t *testing.T) {
	spec := Busybox("example.invalid/shell:v1", "app",
		ociimage.File{Path: "/usr/local/bin/bundle", Content: []byte("#!/bin/sh\necho bundle\n"), Mode: 0o755})
	if got := spec.Files[0]; got.Path != "/bin/busybox" || got.Source != BusyboxSource {
		t.Fatalf("first file %s from %s, want /bin/busybox from %s", got.Path, got.Source, BusyboxSource)
	}
	entries := ociimagetest.LayerEntries(t, ociimagetest.MustBuild(t, fakeBusybox(t, spec)), ociimagetest.Epoch)

	byName := make(map[string]ociimagetest.Entry, len(entries))
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
	want := []ociimagetest.Entry{
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
	bin := ociimagetest.WriteFile(t, "bin", "binary", 0o755)
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
	dir := t.TempDir()
	archive, generic := filepath.Join(dir, "nodeimage.tar"), filepath.Join(dir, "ociimage.tar")
	if err := WriteArchive(archive, specs...); err != nil {
		t.Fatal(err)
	}
	if err := ociimage.WriteArchive(generic, specs...); err != nil {
		t.Fatal(err)
	}
	got := ociimagetest.ReadArchive(t, archive)
	// The same Busybox under two names is stored once.
	wantTags := [][]string{
		{"example.invalid/pause:1"},
		{"example.invalid/shell:root", "example.invalid/tekton/busybox:v1.15.1"},
		{"example.invalid/shell:uid-1000"},
		{"example.invalid/shell:user-app"},
		{"example.invalid/tekton/entrypoint:v1.15.1"},
		{"example.invalid/tekton/nop:v1.15.1"},
	}
	if diff := cmp.Diff(wantTags, got.Tags); diff != "" {
		t.Errorf("archive's tags (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ociimagetest.ReadArchive(t, generic), got); diff != "" {
		t.Errorf("archive (-ociimage.WriteArchive +WriteArchive):\n%s", diff)
	}
	// Beyond the manifest, whose order follows a map's, the two archives
	// hold the same entries.
	if diff := cmp.Diff(archiveBlobs(t, generic), archiveBlobs(t, archive)); diff != "" {
		t.Errorf("archive's entries (-ociimage.WriteArchive +WriteArchive):\n%s", diff)
	}
}

// archiveBlobs is the docker-archive at path's entries but manifest.json,
// sorted by name.
func archiveBlobs(t *testing.T, path string) []ociimagetest.Entry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blobs []ociimagetest.Entry
	for _, e := range ociimagetest.ReadTar(t, f, ociimagetest.Epoch) {
		if e.Name != "manifest.json" {
			blobs = append(blobs, e)
		}
	}
	sort.Slice(blobs, func(i, j int) bool { return blobs[i].Name < blobs[j].Name })
	return blobs
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
