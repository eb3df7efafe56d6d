package release

import (
	"archive/tar"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"io"
	"log"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/taskgate/taskgate/ociimage"
	"github.com/taskgate/taskgate/ociimage/ociimagetest"
)

func TestManagerSpec(t *testing.T) {
	bin := ociimagetest.WriteFile(t, "taskgate", "manager", 0o700)
	created := time.Unix(1765000000, 0).UTC()
	p := v1.Platform{OS: "linux", Architecture: "arm64"}
	spec := ManagerSpec(p, bin, ManagerImageOptions{Version: "0.1.0", Revision: "0123abc", Created: created})
	img := ociimagetest.MustBuild(t, spec)
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	wantConfig := v1.Config{
		Entrypoint: []string{"/taskgate"},
		Env:        []string{ociimage.DefaultPath},
		User:       "65532:65532",
		Labels: map[string]string{
			"org.opencontainers.image.title":    "taskgate",
			"org.opencontainers.image.source":   "https://github.com/taskgate/taskgate",
			"org.opencontainers.image.version":  "0.1.0",
			"org.opencontainers.image.revision": "0123abc",
			"org.opencontainers.image.created":  "2025-12-06T05:46:40Z",
		},
	}
	if diff := cmp.Diff(wantConfig, cfg.Config); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if cfg.OS != "linux" || cfg.Architecture != "arm64" || !cfg.Created.Equal(created) {
		t.Errorf("config for %s/%s created %v, want linux/arm64 at %v", cfg.OS, cfg.Architecture, cfg.Created, created)
	}
	if mt, err := img.MediaType(); err != nil || mt != types.OCIManifestSchema1 {
		t.Errorf("media type %s (%v), want %s", mt, err, types.OCIManifestSchema1)
	}
	dir := func(name string, mode int64, owner int) ociimagetest.Entry {
		return ociimagetest.Entry{Name: name, Type: tar.TypeDir, Mode: mode, UID: owner, GID: owner}
	}
	file := func(name string, mode int64, content string) ociimagetest.Entry {
		return ociimagetest.Entry{Name: name, Type: tar.TypeReg, Mode: mode, Content: content}
	}
	want := []ociimagetest.Entry{
		dir("etc/", 0o755, 0),
		file("etc/group", 0o644, "root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n"),
		file("etc/nsswitch.conf", 0o644, "hosts: files dns\n"),
		file("etc/passwd", 0o644, "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"),
		dir("home/", 0o755, 0),
		dir("home/nonroot/", 0o700, 65532),
		dir("root/", 0o700, 0),
		file("taskgate", 0o755, "manager"),
		dir("tmp/", 0o1777, 0),
	}
	ociimagetest.CheckLayer(t, spec, created, want)
}

func TestGoEnv(t *testing.T) {
	tests := []struct {
		platform v1.Platform
		want     []string
		err      string
	}{
		{platform: v1.Platform{OS: "linux", Architecture: "amd64"}, want: []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64"}},
		{platform: v1.Platform{OS: "darwin", Architecture: "arm64"}, want: []string{"CGO_ENABLED=0", "GOOS=darwin", "GOARCH=arm64"}},
		{platform: v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, want: []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64"}},
		{platform: v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, want: []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm", "GOARM=7"}},
		{platform: v1.Platform{OS: "linux", Architecture: "amd64", Variant: "v3"}, err: `platform linux/amd64/v3: variant "v3" is not one go build can target`},
		{platform: v1.Platform{Architecture: "amd64"}, err: `platform with OS "" and architecture "amd64": both are needed`},
	}
	for _, tt := range tests {
		got, err := goEnv(tt.platform)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("goEnv(%s): error %v, want %q", tt.platform, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("goEnv(%s): %v", tt.platform, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("goEnv(%s) (-want +got):\n%s", tt.platform, diff)
		}
	}
}

// TestManagerImageIsReproducible builds the real manager for this
// machine's platform twice: the same options give the same digest, the
// binary is static, stripped and without a VCS stamp, built with
// -trimpath, and a registry on loopback serves the pushed index as is.
func TestManagerImageIsReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the manager twice")
	}
	ctx := context.Background()
	opts := ManagerImageOptions{
		ModuleDir: "..",
		Platforms: []v1.Platform{{OS: "linux", Architecture: runtime.GOARCH}},
		Version:   "0.1.0",
		Revision:  "0123abc",
		Created:   time.Unix(1765000000, 0),
		BinDir:    t.TempDir(),
	}
	first, err := BuildManager(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	bin := first.Platforms[0].Binary
	opts.BinDir = ""
	second, err := ManagerImage(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	a, b := ociimagetest.Digest(t, first.Index), ociimagetest.Digest(t, second)
	if a != b {
		t.Errorf("two builds of the same commit: %s and %s", a, b)
	}
	opts.Revision = "4567def"
	other, err := ManagerImage(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if c := ociimagetest.Digest(t, other); c == a {
		t.Errorf("another revision kept digest %s", a)
	}

	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	// With -trimpath, go leaves -ldflags out of the build info.
	wantSettings := map[string]string{
		"-buildmode": "exe", "-compiler": "gc", "-trimpath": "true",
		"CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": runtime.GOARCH,
	}
	for k, v := range wantSettings {
		if settings[k] != v {
			t.Errorf("build setting %s=%q, want %q", k, settings[k], v)
		}
	}
	if _, ok := settings["vcs.revision"]; ok {
		t.Errorf("the binary is stamped with a VCS revision: %v", settings)
	}
	if info.Path != "github.com/taskgate/taskgate/cmd/taskgate" {
		t.Errorf("main package %s, want github.com/taskgate/taskgate/cmd/taskgate", info.Path)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: it is not static")
		}
	}
	if s := f.Section(".symtab"); s != nil {
		t.Error("the binary has a symbol table: it is not stripped")
	}

	// A registry takes the index as it is, as the harness's on 127.0.0.1
	// does, and gives back the same digest and this platform's image.
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	ref, err := name.ParseReference(strings.TrimPrefix(reg.URL, "http://")+"/taskgate/taskgate:0.1.0", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, first.Index, remote.WithContext(ctx)); err != nil {
		t.Fatalf("pushing the index: %v", err)
	}
	pulled, err := remote.Index(ref, remote.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if got := ociimagetest.Digest(t, pulled); got != a {
		t.Errorf("the registry serves digest %s, want %s", got, a)
	}
	if err := validate.Index(pulled); err != nil {
		t.Errorf("the pulled index is not valid: %v", err)
	}
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ociimagetest.Digest(t, img), ociimagetest.Digest(t, first.Platforms[0].Image); got != want {
		t.Errorf("the registry resolves linux/%s to %s, want %s", runtime.GOARCH, got, want)
	}
}
