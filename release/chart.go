package release

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"sigs.k8s.io/yaml"
)

// ChartOptions say what chart to package and with which image.
type ChartOptions struct {
	// ChartDir is the chart's directory, e.g. charts/taskgate.
	ChartDir string
	// Dist receives <name>-<version>.tgz.
	Dist string
	// Version is the chart's version and appVersion, a SemVer.
	Version string
	// Digest is the manager image index's digest, pinned as
	// image.digest in the packaged values.yaml.
	Digest v1.Hash
	// Helm is the helm command and its first arguments, e.g. go tool
	// -modfile=tools/go.mod helm; ModuleDir is its working directory.
	Helm      []string
	ModuleDir string
	// Created dates the archive's entries, as SOURCE_DATE_EPOCH for
	// helm; zero means the Unix epoch.
	Created time.Time
}

// PackageChart packages a copy of the chart whose values.yaml pins the
// image's digest, with helm package, and returns the archive's path. The
// chart in the tree is not changed.
func PackageChart(ctx context.Context, opts ChartOptions) (string, error) {
	path, err := packageChart(ctx, opts)
	if err != nil {
		return "", fmt.Errorf("packaging chart %s: %w", opts.ChartDir, err)
	}
	return path, nil
}

func packageChart(ctx context.Context, opts ChartOptions) (string, error) {
	if len(opts.Helm) == 0 {
		return "", fmt.Errorf("no helm command given")
	}
	tmp, err := os.MkdirTemp("", "taskgate-chart-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	chart := filepath.Join(tmp, filepath.Base(opts.ChartDir))
	if err := copyTree(opts.ChartDir, chart); err != nil {
		return "", err
	}
	valuesPath := filepath.Join(chart, "values.yaml")
	values, err := os.ReadFile(valuesPath)
	if err != nil {
		return "", err
	}
	pinned, err := SetImageDigest(values, opts.Digest.String())
	if err != nil {
		return "", fmt.Errorf("%s: %w", valuesPath, err)
	}
	if err := os.WriteFile(valuesPath, pinned, 0o644); err != nil {
		return "", err
	}
	dist, err := filepath.Abs(opts.Dist)
	if err != nil {
		return "", err
	}
	created := opts.Created
	if created.IsZero() {
		created = time.Unix(0, 0)
	}
	args := append(append([]string(nil), opts.Helm[1:]...), "package", chart,
		"--version", opts.Version, "--app-version", opts.Version, "--destination", dist)
	cmd := exec.CommandContext(ctx, opts.Helm[0], args...)
	cmd.Dir = opts.ModuleDir
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+strconv.FormatInt(created.Unix(), 10))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("helm package: %w\n%s", err, strings.TrimSpace(string(out)))
	}
	name, err := chartName(chart)
	if err != nil {
		return "", err
	}
	archive := filepath.Join(dist, name+"-"+opts.Version+".tgz")
	if _, err := os.Stat(archive); err != nil {
		return "", fmt.Errorf("helm package wrote no %s: %w", archive, err)
	}
	return archive, nil
}

// imageDigestLine is the digest key of the image block in values.yaml,
// with whatever value and comment it has.
var imageDigestLine = regexp.MustCompile(`^(\s+digest:)[ \t]*(?:""|''|[^#\s]*)[ \t]*(#.*)?$`)

// SetImageDigest sets image.digest in a chart's values.yaml to digest,
// changing that line only, so the chart's comments stay for its users.
// The image block must hold the key once, directly.
func SetImageDigest(values []byte, digest string) ([]byte, error) {
	lines := strings.Split(string(values), "\n")
	inImage, found := false, -1
	for i, line := range lines {
		switch {
		case line == "image:" || strings.HasPrefix(line, "image: ") || strings.HasPrefix(line, "image:#"):
			inImage = true
		case inImage && line != "" && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "#"):
			inImage = false
		case inImage && imageDigestLine.MatchString(line) && indent(line) == 2:
			if found >= 0 {
				return nil, fmt.Errorf("image.digest is given twice")
			}
			found = i
		}
	}
	if found < 0 {
		return nil, fmt.Errorf("no image.digest key to pin the image's digest in")
	}
	m := imageDigestLine.FindStringSubmatch(lines[found])
	lines[found] = m[1] + ` "` + digest + `"`
	if m[2] != "" {
		lines[found] += " " + m[2]
	}
	out := []byte(strings.Join(lines, "\n"))

	// The edit must mean what it says to helm.
	var v struct {
		Image struct {
			Digest string `json:"digest"`
		} `json:"image"`
	}
	if err := yaml.Unmarshal(out, &v); err != nil {
		return nil, fmt.Errorf("values after pinning the digest: %w", err)
	}
	if v.Image.Digest != digest {
		return nil, fmt.Errorf("image.digest reads %q after pinning %q", v.Image.Digest, digest)
	}
	return out, nil
}

func indent(line string) int {
	return len(line) - len(strings.TrimLeft(line, " "))
}

// chartName is the name in dir's Chart.yaml, which helm names the
// archive after.
func chartName(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return "", err
	}
	var c struct {
		Name string `json:"name"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return "", fmt.Errorf("reading Chart.yaml: %w", err)
	}
	if c.Name == "" {
		return "", fmt.Errorf("Chart.yaml has no name")
	}
	return c.Name, nil
}

// copyTree copies the directory src to dst, files with their permission
// bits. Symlinks are refused: helm would follow them out of the chart.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, info.Mode().Perm())
		default:
			return fmt.Errorf("%s is not a regular file or directory", p)
		}
	})
}

// semver is a SemVer 2.0.0 version, without a leading v, as Helm wants
// a chart's.
var semver = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)
