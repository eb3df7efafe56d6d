package policy

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	psaapi "k8s.io/pod-security-admission/api"
	"sigs.k8s.io/yaml"
)

// FuzzLoad checks that Load never panics, and that whatever it accepts
// validates again, survives a marshal and reload unchanged, and can be
// evaluated. Seeds live in testdata/fuzz/FuzzLoad. Its security property:
// no policy lets a Task's pod below the namespace's Pod Security level, or
// lets it run privileged or with an added capability unless the policy
// says privileged (or audit).
func FuzzLoad(f *testing.F) {
	f.Add([]byte(exampleDoc))
	f.Add([]byte(header + weekAndHour))
	f.Add([]byte(header + "mode: audit\ntasks: {podSecurity: restricted}\n"))
	f.Add([]byte(header + "tasks: {allowPrivileged: true}\n"))
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
		assertPodSecurityFloor(t, p)
	})
}

// assertPodSecurityFloor checks the security property of an accepted
// policy p.
func assertPodSecurityFloor(t *testing.T, p *Policy) {
	t.Helper()
	for _, label := range []string{"", "privileged", "baseline", "restricted", "not-a-level"} {
		var labels map[string]string
		ns := psaapi.LevelPrivileged
		if label != "" {
			labels = map[string]string{psaapi.EnforceLevelLabel: label}
			if ns = psaapi.Level(label); !ns.Valid() {
				ns = psaapi.LevelRestricted // as PodSecurity admission reads it
			}
		}
		got := p.PodSecurityFor(labels).Level.Level
		if psaapi.CompareLevels(got, ns) < 0 || psaapi.CompareLevels(got, psaapi.Level(p.Tasks.PodSecurity)) < 0 {
			t.Fatalf("Pod Security level %s is below the namespace's %s or the policy's %s", got, ns, p.Tasks.PodSecurity)
		}
	}
	lax := p.Mode == ModeAudit || p.Tasks.PodSecurity == PodSecurityPrivileged
	uses := []PrivilegedUse{{Path: field.NewPath("spec", "securityContext", "privileged"), Setting: SettingPrivileged}}
	if errs, _ := p.ValidatePrivileges(uses); (len(errs) == 0) != lax {
		t.Fatalf("privileged: %d errors under podSecurity %s in mode %s", len(errs), p.Tasks.PodSecurity, p.Mode)
	}
	spec := &corev1.PodSpec{Containers: []corev1.Container{{Name: "step-main", SecurityContext: &corev1.SecurityContext{
		Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}},
	}}}}
	paths := PodSecurityPaths{Pod: field.NewPath("spec"), PodSecurityContext: field.NewPath("spec", "podSecurityContext"),
		SecurityContext: field.NewPath("spec", "securityContext"), Volumes: field.NewPath("spec", "volumes")}
	if errs, _ := p.ValidatePodSecurity(p.PodSecurityFor(nil), &metav1.ObjectMeta{}, spec, paths); (len(errs) == 0) != lax {
		t.Fatalf("SYS_ADMIN: %d errors under podSecurity %s in mode %s", len(errs), p.Tasks.PodSecurity, p.Mode)
	}
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
