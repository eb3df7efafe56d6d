package policy

import (
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// FuzzLoad checks that Load never panics, and that whatever it accepts
// validates again, survives a marshal and reload unchanged, and can be
// evaluated. Seeds live in testdata/fuzz/FuzzLoad.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(exampleDoc))
	f.Add([]byte(header + weekAndHour))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Load(data)
		if err != nil {
			_ = err.Error()
			return
		}
		if errs := Validate(p); len(errs) > 0 {
			t.Fatalf("Load accepted a policy Validate rejects: %v", errs)
		}
		out, err := yaml.Marshal(p)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		again, err := Load(out)
		if err != nil {
			t.Fatalf("reloading %q: %v", out, err)
		}
		if !semanticEqual(p, again) {
			t.Fatalf("round trip changed the policy:\n%s\nto\n%+v", out, again)
		}
		exercise(p)
	})
}

// exercise runs every decision on a few facts, to find panics.
func exercise(p *Policy) {
	now := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	for _, f := range []ObjectFacts{
		job("default"),
		job("team-a", objLabels("tier", "quick"), nsLabels("env", "prod"), owner("Workflow")),
		task("ci", policyTTL(3600), annotations("helm.sh/hook", "test")),
	} {
		_ = p.CreationTTL(f).String()
		_ = p.CompletionTTL(f, Completion{Result: ResultFailed, FinishedAt: now.Add(-time.Hour), Now: now}).String()
	}
	p.TaskCap(AppFacts{Namespace: "team-a", Tasks: []TaskFacts{{Name: "a", ID: 1, Finished: true}}})
	_ = p.ResolveTaskResources(Resources{}).String()
	p.ValidateTaskResources(Resources{Memory: qty("1Ti")}, nil)
	_ = p.ResolveTaskTimeout(nil).String()
	p.ValidateTaskTimeout(dur("1000h"), nil)
	p.TaskPending(now.Add(-time.Hour), now)
}
