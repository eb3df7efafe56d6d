package release

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"sigs.k8s.io/yaml"

	"github.com/taskgate/taskgate/ociimage/ociimagetest"
)

const testDigest = "sha256:4f265c802c3d9aff409471ba9f9eee41a9bd15e7da1da3960fbb7c0635105b4e"

func TestSetImageDigest(t *testing.T) {
	tests := []struct {
		name   string
		values string
		want   string
		err    string
	}{{
		name:   "the chart's layout",
		values: "replicaCount: 2\n\nimage:\n  repository: ghcr.io/taskgate/taskgate\n  # digest (sha256:...), when set, is used instead of the tag.\n  digest: \"\"\n  pullPolicy: IfNotPresent\n\nimagePullSecrets: []\n",
		want:   "replicaCount: 2\n\nimage:\n  repository: ghcr.io/taskgate/taskgate\n  # digest (sha256:...), when set, is used instead of the tag.\n  digest: \"" + testDigest + "\"\n  pullPolicy: IfNotPresent\n\nimagePullSecrets: []\n",
	}, {
		name:   "a comment after the value stays",
		values: "image:\n  digest: '' # pin one\n",
		want:   "image:\n  digest: \"" + testDigest + "\" # pin one\n",
	}, {
		name:   "a digest already set is replaced",
		values: "image:\n  digest: sha256:0000\n  tag: v1\n",
		want:   "image:\n  digest: \"" + testDigest + "\"\n  tag: v1\n",
	}, {
		name:   "another block's digest is left alone",
		values: "sidecar:\n  digest: \"\"\nimage:\n  tag: \"\"\n  digest:\n",
		want:   "sidecar:\n  digest: \"\"\nimage:\n  tag: \"\"\n  digest: \"" + testDigest + "\"\n",
	}, {
		name:   "a nested digest is not the image's",
		values: "image:\n  extra:\n    digest: \"\"\n",
		err:    "no image.digest key to pin the image's digest in",
	}, {
		name:   "no image block",
		values: "digest: \"\"\n",
		err:    "no image.digest key to pin the image's digest in",
	}, {
		name:   "twice",
		values: "image:\n  digest: \"\"\n  digest: \"\"\n",
		err:    "image.digest is given twice",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SetImageDigest([]byte(tt.values), testDigest)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Errorf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPackageChart packages the real chart with the pinned helm, twice:
// the archive's values pin the digest, its Chart.yaml has the version,
// the chart in the tree is unchanged, and the archive is reproducible,
// every entry dated at Created.
func TestPackageChart(t *testing.T) {
	digest, err := v1.NewHash(testDigest)
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile("../charts/taskgate/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	created := time.Unix(1765000000, 0)
	var archives [][]byte
	for range 2 {
		dist := t.TempDir()
		path, err := PackageChart(context.Background(), ChartOptions{
			ChartDir:  "../charts/taskgate",
			Dist:      dist,
			Version:   "0.2.0-rc.1",
			Digest:    digest,
			Helm:      []string{"go", "tool", "-modfile=tools/go.mod", "helm"},
			ModuleDir: "..",
			Created:   created,
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(dist, "taskgate-0.2.0-rc.1.tgz"); path != want {
			t.Errorf("archive %s, want %s", path, want)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		archives = append(archives, b)
	}
	if !bytes.Equal(archives[0], archives[1]) {
		t.Error("the same chart and digest gave two different archives")
	}
	after, err := os.ReadFile("../charts/taskgate/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("packaging changed the chart's values.yaml in the tree")
	}

	files := untgz(t, archives[0], created)
	var values struct {
		Image struct {
			Repository string `json:"repository"`
			Digest     string `json:"digest"`
		} `json:"image"`
	}
	if err := yaml.Unmarshal(files["taskgate/values.yaml"], &values); err != nil {
		t.Fatal(err)
	}
	if values.Image.Digest != testDigest || values.Image.Repository != "ghcr.io/taskgate/taskgate" {
		t.Errorf("packaged image values %+v, want ghcr.io/taskgate/taskgate at %s", values.Image, testDigest)
	}
	var chart struct {
		Name       string `json:"name"`
		Version    string `json:"version"`
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(files["taskgate/Chart.yaml"], &chart); err != nil {
		t.Fatal(err)
	}
	if chart.Name != "taskgate" || chart.Version != "0.2.0-rc.1" || chart.AppVersion != "0.2.0-rc.1" {
		t.Errorf("packaged Chart.yaml %+v, want taskgate at version and appVersion 0.2.0-rc.1", chart)
	}
	if _, ok := files["taskgate/values.schema.json"]; !ok {
		t.Error("the archive has no values.schema.json")
	}
}

// untgz reads a chart archive's files by name, failing on any entry not
// dated at mtime.
func untgz(t *testing.T, b []byte, mtime time.Time) map[string][]byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range ociimagetest.ReadTar(t, zr, mtime) {
		files[e.Name] = []byte(e.Content)
	}
	return files
}
