package release

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/taskgate/taskgate/ociimage"
)

// The OCI annotation keys the image's labels use.
const (
	LabelSource   = "org.opencontainers.image.source"
	LabelRevision = "org.opencontainers.image.revision"
	LabelVersion  = "org.opencontainers.image.version"
	LabelCreated  = "org.opencontainers.image.created"
	LabelTitle    = "org.opencontainers.image.title"
)

// DefaultSource is the manager's source repository, for the image's
// source label.
const DefaultSource = "https://github.com/taskgate/taskgate"

// managerPackage is the manager's main package, relative to the module.
const managerPackage = "./cmd/taskgate"

// nonroot is distroless' unprivileged user and group, which the chart's
// security context runs the manager as.
const nonroot = 65532

// DefaultPlatforms are the manager image's platforms unless options name
// others.
var DefaultPlatforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64"},
}

// ManagerImageOptions say what to build the manager image from and for.
type ManagerImageOptions struct {
	// ModuleDir is the taskgate module's root; "" means the working
	// directory.
	ModuleDir string
	// Platforms are the image's platforms, linux only; nil means
	// DefaultPlatforms. A test on one node passes the host's.
	Platforms []v1.Platform
	// Version, Revision and Source are the image's OCI labels: the
	// release version (e.g. 0.1.0), the commit, and the repository
	// (DefaultSource if empty). An empty version or revision is left
	// out.
	Version, Revision, Source string
	// Created is the image's time, SOURCE_DATE_EPOCH's; zero means the
	// Unix epoch.
	Created time.Time
	// BinDir receives each platform's binary as taskgate-<os>-<arch>,
	// for SBOM; "" means a temporary directory, removed afterwards.
	BinDir string
	// Go is the go command; "" means "go" on PATH.
	Go string
}

// PlatformBuild is one platform's part of the manager image.
type PlatformBuild struct {
	Platform v1.Platform
	// Binary is the manager's binary on this machine; it is gone if
	// ManagerImageOptions.BinDir was empty.
	Binary string
	Image  v1.Image
}

// ManagerBuild is the manager image and what it was built from.
type ManagerBuild struct {
	Index     v1.ImageIndex
	Platforms []PlatformBuild
}

// ManagerImage builds the manager image: an OCI index with one image per
// platform, which a registry stores with remote.WriteIndex and containerd
// pulls for its node's platform.
func ManagerImage(ctx context.Context, opts ManagerImageOptions) (v1.ImageIndex, error) {
	b, err := BuildManager(ctx, opts)
	if err != nil {
		return nil, err
	}
	return b.Index, nil
}

// BuildManager is ManagerImage that also returns each platform's image
// and binary. Each image has one layer: a distroless-style static base
// (ManagerBase) and the binary at /taskgate, its entrypoint, run as
// 65532:65532.
func BuildManager(ctx context.Context, opts ManagerImageOptions) (*ManagerBuild, error) {
	platforms := opts.Platforms
	if len(platforms) == 0 {
		platforms = DefaultPlatforms
	}
	binDir := opts.BinDir
	if binDir == "" {
		tmp, err := os.MkdirTemp("", "taskgate-image-")
		if err != nil {
			return nil, fmt.Errorf("building the manager image: %w", err)
		}
		defer os.RemoveAll(tmp)
		binDir = tmp
	}
	b := &ManagerBuild{}
	images := make([]v1.Image, 0, len(platforms))
	for _, p := range platforms {
		bin := filepath.Join(binDir, "taskgate-"+platformSuffix(p))
		if err := GoBuild(ctx, opts.Go, opts.ModuleDir, p, managerPackage, bin); err != nil {
			return nil, fmt.Errorf("building the manager image for %s: %w", p, err)
		}
		img, err := ociimage.Build(ManagerSpec(p, bin, opts))
		if err != nil {
			return nil, fmt.Errorf("building the manager image: %w", err)
		}
		images = append(images, img)
		b.Platforms = append(b.Platforms, PlatformBuild{Platform: p, Binary: bin, Image: img})
	}
	idx, err := ociimage.Index(images...)
	if err != nil {
		return nil, fmt.Errorf("building the manager image: %w", err)
	}
	b.Index = idx
	return b, nil
}

// ManagerSpec is the manager image's spec for platform p with the binary
// bin: ManagerBase, /taskgate, and opts' labels and time.
func ManagerSpec(p v1.Platform, bin string, opts ManagerImageOptions) ociimage.Spec {
	s := ManagerBase()
	s.Platform = p
	s.Created = opts.Created
	s.MediaType = types.OCIManifestSchema1
	s.Entrypoint = []string{"/taskgate"}
	s.User = fmt.Sprintf("%d:%d", nonroot, nonroot)
	s.Files = append(s.Files, ociimage.File{Path: "/taskgate", Source: bin, Mode: 0o755})
	source := opts.Source
	if source == "" {
		source = DefaultSource
	}
	created := opts.Created
	if created.IsZero() {
		created = time.Unix(0, 0)
	}
	s.Labels = map[string]string{
		LabelTitle:   "taskgate",
		LabelSource:  source,
		LabelCreated: created.UTC().Format(time.RFC3339),
	}
	if opts.Version != "" {
		s.Labels[LabelVersion] = opts.Version
	}
	if opts.Revision != "" {
		s.Labels[LabelRevision] = opts.Revision
	}
	return s
}

// ManagerBase is the manager image's base, as gcr.io/distroless/static
// lays it out for what a static Go binary needs: users root, nonroot
// (65532) and nobody with their groups, nonroot's home, root's, a
// world-writable /tmp (controller-runtime's default certificate
// directory is under it), and an nsswitch.conf that makes Go's resolver
// read /etc/hosts before DNS. No shell, no package manager.
//
// Left out: CA certificates, since the manager only talks to the API
// server, trusting the ServiceAccount's ca.crt, and serves its webhooks
// with cert-manager's certificate, and copying this machine's bundle
// would make the image depend on where it was built; tzdata, since the
// manager keeps time in UTC; /etc/os-release and Debian's package
// database and licences, since no Debian package is in it (the SBOM
// lists what is).
func ManagerBase() ociimage.Spec {
	return ociimage.Spec{
		Files: []ociimage.File{
			{Path: "/etc/passwd", Content: []byte(basePasswd), Mode: 0o644},
			{Path: "/etc/group", Content: []byte(baseGroup), Mode: 0o644},
			{Path: "/etc/nsswitch.conf", Content: []byte(baseNsswitch), Mode: 0o644},
		},
		Dirs: map[string]int64{
			"/tmp":          0o1777,
			"/root":         0o700,
			"/home/nonroot": 0o700,
		},
		Owners: map[string]ociimage.Owner{"/home/nonroot": {UID: nonroot, GID: nonroot}},
	}
}

const (
	basePasswd = `root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
`
	baseGroup = `root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
`
	baseNsswitch = `hosts: files dns
`
)

// GoBuild builds the main package pkg of the module in dir for platform p
// into out, reproducibly and statically: CGO_ENABLED=0, -trimpath, no VCS
// stamp, stripped, with an empty build ID.
func GoBuild(ctx context.Context, goCmd, dir string, p v1.Platform, pkg, out string) error {
	if goCmd == "" {
		goCmd = "go"
	}
	cmd := exec.CommandContext(ctx, goCmd, "build", "-trimpath", "-buildvcs=false",
		"-ldflags=-s -w -buildid=", "-o", out, pkg)
	cmd.Dir = dir
	env, err := goEnv(p)
	if err != nil {
		return err
	}
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s for %s: %w\n%s", pkg, p, err, strings.TrimSpace(string(b)))
	}
	return nil
}

// goEnv is the environment that makes go build for p.
func goEnv(p v1.Platform) ([]string, error) {
	if p.OS == "" || p.Architecture == "" {
		return nil, fmt.Errorf("platform with OS %q and architecture %q: both are needed", p.OS, p.Architecture)
	}
	env := []string{"CGO_ENABLED=0", "GOOS=" + p.OS, "GOARCH=" + p.Architecture}
	switch {
	case p.Variant == "":
	case p.Architecture == "arm" && strings.HasPrefix(p.Variant, "v"):
		env = append(env, "GOARM="+strings.TrimPrefix(p.Variant, "v"))
	case p.Architecture == "arm64" && p.Variant == "v8":
	default:
		return nil, fmt.Errorf("platform %s: variant %q is not one go build can target", p, p.Variant)
	}
	return env, nil
}

// platformSuffix names a file for p, e.g. linux-arm64 or linux-arm-v7.
func platformSuffix(p v1.Platform) string {
	s := p.OS + "-" + p.Architecture
	if p.Variant != "" {
		s += "-" + p.Variant
	}
	return s
}
