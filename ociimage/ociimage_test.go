package ociimage_test

import (
	"archive/tar"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/taskgate/taskgate/ociimage"
	"github.com/taskgate/taskgate/ociimage/ociimagetest"
)

func TestBuildConfig(t *testing.T) {
	created := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		spec      ociimage.Spec
		want      v1.Config
		platform  v1.Platform
		created   time.Time
		mediaType types.MediaType
		layerType types.MediaType
	}{{
		name:      "defaults: host platform, epoch, Docker",
		spec:      ociimage.Spec{Entrypoint: []string{"/bin/sh"}, User: "1000"},
		want:      v1.Config{Entrypoint: []string{"/bin/sh"}, Env: []string{ociimage.DefaultPath}, User: "1000"},
		platform:  v1.Platform{OS: "linux", Architecture: runtime.GOARCH},
		created:   ociimagetest.Epoch,
		mediaType: types.DockerManifestSchema2,
		layerType: types.DockerLayer,
	}, {
		name: "env without PATH gets the default first",
		spec: ociimage.Spec{
			Ref: "example.invalid/app:v1", Cmd: []string{"serve", "--port=8080"},
			Env: []string{"MODE=test"}, WorkingDir: "/srv",
		},
		want:      v1.Config{Cmd: []string{"serve", "--port=8080"}, Env: []string{ociimage.DefaultPath, "MODE=test"}, WorkingDir: "/srv"},
		platform:  v1.Platform{OS: "linux", Architecture: runtime.GOARCH},
		created:   ociimagetest.Epoch,
		mediaType: types.DockerManifestSchema2,
		layerType: types.DockerLayer,
	}, {
		name:      "env with PATH is kept",
		spec:      ociimage.Spec{Ref: "example.invalid/app:v2", Env: []string{"A=1", "PATH=/opt/bin"}},
		want:      v1.Config{Env: []string{"A=1", "PATH=/opt/bin"}},
		platform:  v1.Platform{OS: "linux", Architecture: runtime.GOARCH},
		created:   ociimagetest.Epoch,
		mediaType: types.DockerManifestSchema2,
		layerType: types.DockerLayer,
	}, {
		name: "platform, time, labels and OCI",
		spec: ociimage.Spec{
			Platform:   v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"},
			Created:    created,
			MediaType:  types.OCIManifestSchema1,
			Labels:     map[string]string{"org.opencontainers.image.version": "0.1.0"},
			Entrypoint: []string{"/taskgate"},
			User:       "65532:65532",
		},
		want: v1.Config{
			Entrypoint: []string{"/taskgate"}, Env: []string{ociimage.DefaultPath}, User: "65532:65532",
			Labels: map[string]string{"org.opencontainers.image.version": "0.1.0"},
		},
		platform:  v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"},
		created:   created,
		mediaType: types.OCIManifestSchema1,
		layerType: types.OCILayer,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := ociimagetest.MustBuild(t, tt.spec)
			cfg, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, cfg.Config); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if !cfg.Created.Equal(tt.created) {
				t.Errorf("created %v, want %v", cfg.Created.Time, tt.created)
			}
			if diff := cmp.Diff(tt.platform, *cfg.Platform()); diff != "" {
				t.Errorf("platform (-want +got):\n%s", diff)
			}
			if len(cfg.RootFS.DiffIDs) != 1 || cfg.RootFS.Type != "layers" {
				t.Errorf("rootfs %+v, want one layer", cfg.RootFS)
			}
			wantHistory := []v1.History{{Created: v1.Time{Time: tt.created.UTC()}, CreatedBy: "taskgate ociimage"}}
			if diff := cmp.Diff(wantHistory, cfg.History); diff != "" {
				t.Errorf("history (-want +got):\n%s", diff)
			}
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if m.MediaType != tt.mediaType || len(m.Layers) != 1 || m.Layers[0].MediaType != tt.layerType {
				t.Errorf("manifest %s with layers %+v, want %s with one %s", m.MediaType, m.Layers, tt.mediaType, tt.layerType)
			}
			wantConfig := types.DockerConfigJSON
			if tt.mediaType == types.OCIManifestSchema1 {
				wantConfig = types.OCIConfigJSON
			}
			if m.Config.MediaType != wantConfig {
				t.Errorf("config media type %s, want %s", m.Config.MediaType, wantConfig)
			}
			ociimagetest.LayerEntries(t, img, tt.created)
		})
	}
}

func TestLayerEntries(t *testing.T) {
	bin := ociimagetest.WriteFile(t, "bin", "pause binary", 0o700)
	ociimagetest.RunLayerCases(t, ociimagetest.Epoch, []ociimagetest.LayerCase{{
		Name: "parents, modes, symlinks and owners",
		Spec: ociimage.Spec{
			Ref: "example.invalid/layer:v1",
			Files: []ociimage.File{
				{Path: "/usr/local/bin/run", Content: []byte("#!/bin/sh\n"), Mode: 0o755},
				{Path: "/etc/motd", Content: []byte("hi\n")},
				{Path: "/etc/empty"},
			},
			Symlinks: map[string]string{"/bin/run": "/usr/local/bin/run"},
			Dirs:     map[string]int64{"/tmp": 0o1777, "/usr/local": 0o750, "/data": 0o700},
			Owners:   map[string]ociimage.Owner{"/data": {UID: 7, GID: 8}, "/etc/motd": {UID: 9, GID: 9}},
		},
		Want: []ociimagetest.Entry{
			{Name: "bin/", Type: tar.TypeDir, Mode: 0o755},
			{Name: "bin/run", Type: tar.TypeSymlink, Mode: 0o777, Linkname: "/usr/local/bin/run"},
			{Name: "data/", Type: tar.TypeDir, Mode: 0o700, UID: 7, GID: 8},
			{Name: "etc/", Type: tar.TypeDir, Mode: 0o755},
			{Name: "etc/empty", Type: tar.TypeReg, Mode: 0o644},
			{Name: "etc/motd", Type: tar.TypeReg, Mode: 0o644, UID: 9, GID: 9, Content: "hi\n"},
			{Name: "tmp/", Type: tar.TypeDir, Mode: 0o1777},
			{Name: "usr/", Type: tar.TypeDir, Mode: 0o755},
			{Name: "usr/local/", Type: tar.TypeDir, Mode: 0o750},
			{Name: "usr/local/bin/", Type: tar.TypeDir, Mode: 0o755},
			{Name: "usr/local/bin/run", Type: tar.TypeReg, Mode: 0o755, Content: "#!/bin/sh\n"},
		},
	}, {
		Name: "mode zero takes the source's",
		Spec: ociimage.Spec{Ref: "example.invalid/layer:v2", Files: []ociimage.File{{Path: "/x", Source: bin}}},
		Want: []ociimagetest.Entry{{Name: "x", Type: tar.TypeReg, Mode: 0o700, Content: "pause binary"}},
	}})
}

func TestBuildIsDeterministic(t *testing.T) {
	a := ociimage.Spec{
		Ref: "example.invalid/det:v1",
		Files: []ociimage.File{
			{Path: "/a/one", Content: []byte("1")},
			{Path: "/b/two", Content: []byte("2"), Mode: 0o600},
		},
		Symlinks: map[string]string{"/l1": "/a/one", "/l2": "/b/two", "/l3": "/a"},
		Dirs:     map[string]int64{"/d1": 0o700, "/d2": 0o711, "/d3": 0o1777},
	}
	reordered := a
	reordered.Files = []ociimage.File{a.Files[1], a.Files[0]}
	otherUser := a
	otherUser.User = "1000"
	later := a
	later.Created = time.Unix(1, 0)
	arm := a
	arm.Platform = v1.Platform{OS: "linux", Architecture: "arm64"}
	if runtime.GOARCH == "arm64" {
		arm.Platform.Architecture = "amd64"
	}
	labelled := a
	labelled.Labels = map[string]string{"a": "b"}

	tests := []struct {
		name string
		x, y ociimage.Spec
		same bool
	}{
		{name: "same spec", x: a, y: a, same: true},
		{name: "files in another order", x: a, y: reordered, same: true},
		{name: "another user", x: a, y: otherUser, same: false},
		{name: "another time", x: a, y: later, same: false},
		{name: "another architecture", x: a, y: arm, same: false},
		{name: "a label", x: a, y: labelled, same: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, y := ociimagetest.Digest(t, ociimagetest.MustBuild(t, tt.x)), ociimagetest.Digest(t, ociimagetest.MustBuild(t, tt.y))
			if (x == y) != tt.same {
				t.Errorf("digests %s and %s, want same=%v", x, y, tt.same)
			}
		})
	}
}

func TestWriteArchive(t *testing.T) {
	bin := ociimagetest.WriteFile(t, "bin", "binary", 0o755)
	one := func(ref, user string) ociimage.Spec {
		return ociimage.Spec{Ref: ref, User: user, Files: []ociimage.File{{Path: "/bin/app", Source: bin}}}
	}
	specs := []ociimage.Spec{
		one("example.invalid/app:root", ""),
		one("example.invalid/app:uid-1000", "1000"),
		// The same image as app:root under a second name.
		one("example.invalid/other/app:v1", ""),
	}
	archive := filepath.Join(t.TempDir(), "images.tar")
	if err := ociimage.WriteArchive(archive, specs...); err != nil {
		t.Fatal(err)
	}
	want := ociimagetest.Archive{
		Digests: map[string]v1.Hash{},
		Tags: [][]string{
			{"example.invalid/app:root", "example.invalid/other/app:v1"},
			{"example.invalid/app:uid-1000"},
		},
	}
	for _, s := range specs {
		want.Digests[s.Ref] = ociimagetest.Digest(t, ociimagetest.MustBuild(t, s))
	}
	if diff := cmp.Diff(want, ociimagetest.ReadArchive(t, archive)); diff != "" {
		t.Errorf("archive (-want +got):\n%s", diff)
	}
}

func TestErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	file := ociimagetest.WriteFile(t, "file", "x", 0o644)

	tests := []struct {
		name  string
		specs []ociimage.Spec
		want  string
	}{{
		name:  "missing source with a hint",
		specs: []ociimage.Spec{{Ref: "example.invalid/x:1", Files: []ociimage.File{{Path: "/bin/busybox", Source: missing, Hint: "install busybox-static"}}}},
		want:  "building image example.invalid/x:1: reading " + missing + " for /bin/busybox (install busybox-static): open " + missing + ": no such file or directory",
	}, {
		name:  "missing source",
		specs: []ociimage.Spec{{Ref: "example.invalid/pause:1", Files: []ociimage.File{{Path: "/pause", Source: missing}}}},
		want:  "building image example.invalid/pause:1: reading " + missing + " for /pause: open " + missing + ": no such file or directory",
	}, {
		name:  "source and content",
		specs: []ociimage.Spec{{Ref: "example.invalid/x:1", Files: []ociimage.File{{Path: "/f", Source: file, Content: []byte("x")}}}},
		want:  "building image example.invalid/x:1: /f has both a source and content",
	}, {
		name:  "relative path",
		specs: []ociimage.Spec{{Ref: "example.invalid/x:1", Files: []ociimage.File{{Path: "etc/f"}}}},
		want:  `building image example.invalid/x:1: path "etc/f" is not a clean absolute path below /`,
	}, {
		name:  "unclean path",
		specs: []ociimage.Spec{{Ref: "example.invalid/x:1", Dirs: map[string]int64{"/tmp/": 0o777}}},
		want:  `building image example.invalid/x:1: path "/tmp/" is not a clean absolute path below /`,
	}, {
		name:  "path given twice",
		specs: []ociimage.Spec{{Ref: "example.invalid/x:1", Files: []ociimage.File{{Path: "/f"}}, Symlinks: map[string]string{"/f": "/g"}}},
		want:  "building image example.invalid/x:1: /f is given twice",
	}, {
		name:  "file under a file",
		specs: []ociimage.Spec{{Ref: "example.invalid/x:1", Files: []ociimage.File{{Path: "/f"}, {Path: "/f/g"}}}},
		want:  "building image example.invalid/x:1: /f/g needs /f to be a directory",
	}, {
		name:  "mode with a file type",
		specs: []ociimage.Spec{{Ref: "example.invalid/x:1", Dirs: map[string]int64{"/d": 0o40755}}},
		want:  "building image example.invalid/x:1: /d: mode 0o40755 has bits other than permissions",
	}, {
		name:  "owner of nothing",
		specs: []ociimage.Spec{{Ref: "example.invalid/x:1", Owners: map[string]ociimage.Owner{"/home/app": {UID: 1}}}},
		want:  "building image example.invalid/x:1: owner given for /home/app, which is not in the image",
	}, {
		name:  "architecture without an OS",
		specs: []ociimage.Spec{{Ref: "example.invalid/x:1", Platform: v1.Platform{Architecture: "arm64"}}},
		want:  `building image example.invalid/x:1: platform with OS "" and architecture "arm64": both are needed`,
	}, {
		name:  "unknown media type",
		specs: []ociimage.Spec{{Ref: "example.invalid/x:1", MediaType: types.DockerManifestList}},
		want:  `building image example.invalid/x:1: media type "application/vnd.docker.distribution.manifest.list.v2+json" is neither application/vnd.docker.distribution.manifest.v2+json nor application/vnd.oci.image.manifest.v1+json`,
	}, {
		name:  "no tag",
		specs: []ociimage.Spec{{Ref: "example.invalid/x"}},
		want:  `image reference "example.invalid/x": `,
	}, {
		name:  "no registry",
		specs: []ociimage.Spec{{Ref: "busybox:1"}},
		want:  `image reference "busybox:1": `,
	}, {
		name:  "reference given twice",
		specs: []ociimage.Spec{{Ref: "example.invalid/x:1"}, {Ref: "example.invalid/x:1"}},
		want:  "image reference example.invalid/x:1 given twice",
	}, {
		name: "no images",
		want: "writing an image archive: no images",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			archive := filepath.Join(t.TempDir(), "images.tar")
			err := ociimage.WriteArchive(archive, tt.specs...)
			if err == nil {
				t.Fatal("ociimage.WriteArchive succeeded")
			}
			// Errors from the name package end in its own wording.
			if _, statErr := os.Stat(archive); !errors.Is(statErr, fs.ErrNotExist) {
				t.Errorf("the archive exists after an error: %v", statErr)
			}
			if strings.HasSuffix(tt.want, ": ") {
				if !strings.HasPrefix(err.Error(), tt.want) {
					t.Errorf("error %q, want it to start with %q", err, tt.want)
				}
				return
			}
			if err.Error() != tt.want {
				t.Errorf("error %q, want %q", err, tt.want)
			}
			if len(tt.specs) == 1 {
				if _, err := ociimage.Build(tt.specs[0]); err == nil || err.Error() != tt.want {
					t.Errorf("Build: %v, want %q", err, tt.want)
				}
			}
		})
	}
}

func TestBuildErrorNamesPlatform(t *testing.T) {
	_, err := ociimage.Build(ociimage.Spec{Platform: v1.Platform{OS: "linux", Architecture: "arm64"}, Files: []ociimage.File{{Path: "x"}}})
	want := `building image for linux/arm64: path "x" is not a clean absolute path below /`
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}

func TestFingerprint(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "prog")
	write := func(content string) {
		if err := os.WriteFile(src, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	fingerprint := func(s ociimage.Spec) string {
		fp, err := ociimage.Fingerprint(s)
		if err != nil {
			t.Fatal(err)
		}
		return fp
	}
	write("one")
	spec := ociimage.Spec{Ref: "example.invalid/a:1", Files: []ociimage.File{{Path: "/prog", Source: src}}}
	first := fingerprint(spec)
	if again := fingerprint(spec); again != first {
		t.Fatalf("the same spec and files gave %s, then %s", first, again)
	}
	moved := filepath.Join(t.TempDir(), "prog")
	if err := os.Link(src, moved); err != nil {
		t.Fatal(err)
	}
	spec.Files[0].Source = moved
	if same := fingerprint(spec); same != first {
		t.Fatalf("the same content at another path changed the fingerprint from %s to %s", first, same)
	}
	spec.Files[0].Source = src
	write("two")
	if changed := fingerprint(spec); changed == first {
		t.Fatalf("a source file's new content kept fingerprint %s", first)
	}
	write("one")
	spec.User = "1000"
	if changed := fingerprint(spec); changed == first {
		t.Fatalf("a new image user kept fingerprint %s", first)
	}
	spec.User = ""
	spec.Created = time.Unix(1, 0)
	if changed := fingerprint(spec); changed == first {
		t.Fatalf("a new creation time kept fingerprint %s", first)
	}
	spec.Files[0].Source = filepath.Join(dir, "missing")
	if _, err := ociimage.Fingerprint(spec); err == nil || !strings.Contains(err.Error(), "missing: no such file") {
		t.Fatalf("a missing source: %v, want an error naming it", err)
	}
}
