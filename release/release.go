package release

import (
	"context"
	"debug/buildinfo"
	"fmt"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/taskgate/taskgate/ociimage"
)

// DefaultPluginPlatforms are the platforms kubectl-task is built for.
var DefaultPluginPlatforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64"},
	{OS: "darwin", Architecture: "amd64"},
	{OS: "darwin", Architecture: "arm64"},
}

// pluginPackage is the kubectl plugin's main package.
const pluginPackage = "./cmd/kubectl-task"

// Options say what a release is built from and where it goes.
type Options struct {
	// ModuleDir is the taskgate module's root; "" means the working
	// directory.
	ModuleDir string
	// Dist receives every file; it is created if missing.
	Dist string
	// Version is the release's version, a SemVer such as 0.1.0: the
	// image's version label, the chart's version and appVersion, and part
	// of every file's name.
	Version string
	// Revision and Source are the image's revision and source labels.
	Revision, Source string
	// Created is SOURCE_DATE_EPOCH's time; zero means the Unix epoch.
	Created time.Time
	// Platforms are the image's; nil means DefaultPlatforms.
	Platforms []v1.Platform
	// PluginPlatforms are kubectl-task's; nil means
	// DefaultPluginPlatforms.
	PluginPlatforms []v1.Platform
	// Go is the go command; "" means "go" on PATH.
	Go string
	// Helm is the helm command and its first arguments; ChartDir is the
	// chart (relative to ModuleDir unless absolute).
	Helm     []string
	ChartDir string
}

// Image is what WriteImage wrote.
type Image struct {
	// Index is the manager image, and Digest its index's digest.
	Index  v1.ImageIndex
	Digest v1.Hash
	// Files are the names, in Dist, of the OCI layout tarball, the
	// digest file and each platform's SBOM.
	Files []string
}

// ImageFileNames are the names WriteImage gives the image's layout
// tarball and its digest file for version.
func ImageFileNames(version string) (layout, digest string) {
	return "taskgate-" + version + ".oci.tar", "taskgate-" + version + ".digest"
}

// WriteImage builds the manager image and writes into opts.Dist its OCI
// layout tarball (the index under the name opts.Version), its digest
// ("sha256:...") and, for each platform, the SPDX SBOM of its binary:
// what `make image` writes.
func WriteImage(ctx context.Context, opts Options) (*Image, error) {
	if err := os.MkdirAll(opts.Dist, 0o755); err != nil {
		return nil, fmt.Errorf("writing the manager image: %w", err)
	}
	bins, err := os.MkdirTemp("", "taskgate-release-")
	if err != nil {
		return nil, fmt.Errorf("writing the manager image: %w", err)
	}
	defer os.RemoveAll(bins)
	b, err := BuildManager(ctx, ManagerImageOptions{
		ModuleDir: opts.ModuleDir, Platforms: opts.Platforms,
		Version: opts.Version, Revision: opts.Revision, Source: opts.Source,
		Created: opts.Created, BinDir: bins, Go: opts.Go,
	})
	if err != nil {
		return nil, err
	}
	d, err := b.Index.Digest()
	if err != nil {
		return nil, fmt.Errorf("writing the manager image: %w", err)
	}
	out := &Image{Index: b.Index, Digest: d}
	layout, digestFile := ImageFileNames(opts.Version)
	if err := ociimage.WriteLayout(filepath.Join(opts.Dist, layout), b.Index, opts.Version, opts.Created); err != nil {
		return nil, fmt.Errorf("writing the manager image: %w", err)
	}
	if err := os.WriteFile(filepath.Join(opts.Dist, digestFile), []byte(d.String()+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("writing the manager image's digest: %w", err)
	}
	out.Files = append(out.Files, layout, digestFile)
	for _, p := range b.Platforms {
		name := "taskgate-" + opts.Version + "-" + platformSuffix(p.Platform) + ".spdx.json"
		if err := writeSBOM(p.Binary, filepath.Join(opts.Dist, name), opts); err != nil {
			return nil, err
		}
		out.Files = append(out.Files, name)
	}
	return out, nil
}

// writeSBOM writes the SBOM of binary to path.
func writeSBOM(binary, path string, opts Options) error {
	info, err := buildinfo.ReadFile(binary)
	if err != nil {
		return fmt.Errorf("reading the build info of %s: %w", binary, err)
	}
	sum, err := fileSHA256(binary)
	if err != nil {
		return err
	}
	name := filepath.Base(path[:len(path)-len(".spdx.json")])
	source := opts.Source
	if source == "" {
		source = DefaultSource
	}
	sbom, err := SBOM(info, SBOMOptions{
		Name:      name,
		Namespace: source + "/spdx/" + name + "-" + sum,
		Version:   opts.Version,
		Created:   opts.Created,
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, sbom, 0o644); err != nil {
		return fmt.Errorf("writing an SBOM: %w", err)
	}
	return nil
}

// BuildPlugins builds kubectl-task for each platform into dist as
// kubectl-task-<version>-<os>-<arch> and returns their names.
func BuildPlugins(ctx context.Context, opts Options, platforms []v1.Platform) ([]string, error) {
	if len(platforms) == 0 {
		platforms = DefaultPluginPlatforms
	}
	dist, err := filepath.Abs(opts.Dist)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, p := range platforms {
		name := "kubectl-task-" + opts.Version + "-" + platformSuffix(p)
		if err := GoBuild(ctx, opts.Go, opts.ModuleDir, p, pluginPackage, filepath.Join(dist, name)); err != nil {
			return nil, fmt.Errorf("building the kubectl-task plugin: %w", err)
		}
		names = append(names, name)
	}
	return names, nil
}

// Run writes a release into opts.Dist: what WriteImage writes, the chart
// packaged with the image's digest pinned, kubectl-task (for linux and
// darwin on amd64 and arm64 by default), and SHA256SUMS over them all. It returns the
// names of the files, SHA256SUMS last.
func Run(ctx context.Context, opts Options) ([]string, error) {
	if !semver.MatchString(opts.Version) {
		return nil, fmt.Errorf("release version %q is not a SemVer such as 0.1.0, which a chart's version must be", opts.Version)
	}
	img, err := WriteImage(ctx, opts)
	if err != nil {
		return nil, err
	}
	files := append([]string(nil), img.Files...)
	chartDir := opts.ChartDir
	if !filepath.IsAbs(chartDir) {
		chartDir = filepath.Join(opts.ModuleDir, chartDir)
	}
	chart, err := PackageChart(ctx, ChartOptions{
		ChartDir: chartDir, Dist: opts.Dist, Version: opts.Version, Digest: img.Digest,
		Helm: opts.Helm, ModuleDir: opts.ModuleDir, Created: opts.Created,
	})
	if err != nil {
		return nil, err
	}
	files = append(files, filepath.Base(chart))
	plugins, err := BuildPlugins(ctx, opts, opts.PluginPlatforms)
	if err != nil {
		return nil, err
	}
	files = append(files, plugins...)
	if err := WriteChecksums(opts.Dist, files); err != nil {
		return nil, err
	}
	return append(files, ChecksumsFile), nil
}
