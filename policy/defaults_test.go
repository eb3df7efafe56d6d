package policy

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// TestDefaultsGolden pins every default. A change here is a change to what
// every cluster without a policy gets: update docs/policy.md with it.
func TestDefaultsGolden(t *testing.T) {
	got, err := yaml.Marshal(Default())
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "defaults.golden.yaml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./policy -run TestDefaultsGolden -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("defaults changed; if intended, run with -update and document them.\ngot:\n%s\nwant:\n%s", got, want)
	}
}

// TestDefaultLoads checks the golden document is itself a valid policy
// that loads to the defaults, and that an empty document does too.
func TestDefaultLoads(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "defaults.golden.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string][]byte{
		"golden":  data,
		"minimal": []byte("apiVersion: taskgate.dev/v1alpha1\nkind: Policy\n"),
	} {
		p, err := Load(doc)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !semanticEqual(p, Default()) {
			t.Errorf("%s: loaded %+v, want the defaults", name, p)
		}
	}
}

func TestSetDefaultsKeepsSetFields(t *testing.T) {
	p := &Policy{Mode: ModeAudit, TTL: TTLPolicy{Explicit: ExplicitOverride, HookFloorSeconds: ptr[int32](0)}}
	SetDefaults(p)
	if p.Mode != ModeAudit || p.TTL.Explicit != ExplicitOverride || *p.TTL.HookFloorSeconds != 0 {
		t.Errorf("SetDefaults changed set fields: %+v", p)
	}
}
