package release

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"sigs.k8s.io/yaml"
)

// TestRun writes a release for this machine's platform only: every file
// is listed in SHA256SUMS with its checksum, the packaged chart pins the
// digest in the digest file, and each SBOM describes its binary.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the manager and the plugin")
	}
	dist := filepath.Join(t.TempDir(), "dist")
	created := time.Unix(1765000000, 0)
	host := []v1.Platform{{OS: "linux", Architecture: runtime.GOARCH}}
	files, err := Run(context.Background(), Options{
		ModuleDir:       "..",
		Dist:            dist,
		Version:         "0.3.0",
		Revision:        "0123abc",
		Created:         created,
		Platforms:       host,
		PluginPlatforms: host,
		Helm:            []string{"go", "tool", "-modfile=tools/go.mod", "helm"},
		ChartDir:        "charts/taskgate",
	})
	if err != nil {
		t.Fatal(err)
	}
	arch := runtime.GOARCH
	want := []string{
		"taskgate-0.3.0.oci.tar",
		"taskgate-0.3.0.digest",
		"taskgate-0.3.0-linux-" + arch + ".spdx.json",
		"taskgate-0.3.0.tgz",
		"kubectl-task-0.3.0-linux-" + arch,
		"SHA256SUMS",
	}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	entries, err := os.ReadDir(dist)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Errorf("dist holds %d files, want %d: %v", len(entries), len(want), entries)
	}

	// SHA256SUMS, checked as sha256sum -c would.
	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(sums))
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q", sc.Text())
		}
		got, err := fileSHA256(filepath.Join(dist, name))
		if err != nil {
			t.Fatal(err)
		}
		if got != sum {
			t.Errorf("%s: SHA256SUMS says %s, the file's is %s", name, sum, got)
		}
		listed[name] = true
	}
	for _, name := range want[:len(want)-1] {
		if !listed[name] {
			t.Errorf("SHA256SUMS does not list %s", name)
		}
	}

	digest, err := os.ReadFile(filepath.Join(dist, "taskgate-0.3.0.digest"))
	if err != nil {
		t.Fatal(err)
	}
	chart, err := os.ReadFile(filepath.Join(dist, "taskgate-0.3.0.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	var values struct {
		Image struct {
			Digest string `json:"digest"`
		} `json:"image"`
	}
	if err := yaml.Unmarshal(untgz(t, chart, created)["taskgate/values.yaml"], &values); err != nil {
		t.Fatal(err)
	}
	if got, want := values.Image.Digest, strings.TrimSpace(string(digest)); got != want || !strings.HasPrefix(want, "sha256:") {
		t.Errorf("the chart pins %q, the digest file says %q", got, want)
	}

	var sbom struct {
		Name     string `json:"name"`
		Packages []struct {
			Name        string `json:"name"`
			VersionInfo string `json:"versionInfo"`
		} `json:"packages"`
	}
	b, err := os.ReadFile(filepath.Join(dist, "taskgate-0.3.0-linux-"+arch+".spdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sbom); err != nil {
		t.Fatal(err)
	}
	if sbom.Name != "taskgate-0.3.0-linux-"+arch || len(sbom.Packages) < 3 ||
		sbom.Packages[0].Name != "github.com/taskgate/taskgate" || sbom.Packages[0].VersionInfo != "0.3.0" ||
		sbom.Packages[1].Name != "stdlib" || sbom.Packages[1].VersionInfo != runtime.Version() {
		t.Errorf("SBOM %s with packages %v, want taskgate 0.3.0, then stdlib %s, then modules", sbom.Name, sbom.Packages[:min(3, len(sbom.Packages))], runtime.Version())
	}
}

func TestRunRefusesANonSemVer(t *testing.T) {
	_, err := Run(context.Background(), Options{Version: "0bb2890", Dist: t.TempDir()})
	want := `release version "0bb2890" is not a SemVer such as 0.1.0, which a chart's version must be`
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}
