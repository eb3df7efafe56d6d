package jobadmission

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/policy"
)

func load(t *testing.T, doc string) *policy.Policy {
	t.Helper()
	p, err := policy.Load([]byte("apiVersion: taskgate.dev/v1alpha1\nkind: Policy\n" + doc))
	if err != nil {
		t.Fatalf("loading policy: %v", err)
	}
	p.ManagerNamespace = "taskgate-system"
	return p
}

func TestParams(t *testing.T) {
	p := load(t, `
mode: audit
ttl:
  explicit: Override
  minSeconds: 120
  maxSeconds: 90000
  hookFloorSeconds: 1800
  rules:
  - {name: tasks, kinds: [Task], when: Created, ttlSecondsAfterFinished: 5}
  - name: team
    kinds: [Task, Job]
    namespaces: ["team-*", ops, "x-*-y"]
    namespaceSelector: {matchLabels: {tier: prod, a: b}, matchExpressions: [{key: zone, operator: NotIn, values: [x, z]}]}
    selector: {matchExpressions: [{key: batch, operator: Exists}]}
    when: Failed
    ttlSecondsAfterFinished: 100000
  - {name: ops, kinds: [Job], when: Created, includeOperatorJobs: true, ttlSecondsAfterFinished: 60}
exemptions:
  optOutLabel: example.com/ttl
  namespaces: ["sandbox-?", scratch, "tmp-*"]
`)
	got, errs := Params(p)
	if len(errs) > 0 {
		t.Fatal(errs.ToAggregate())
	}
	want := v1alpha1.JobTTLParamsSpec{
		Audit:            ptr.To(true),
		OverrideExplicit: ptr.To(true),
		OptOutLabel:      "example.com/ttl",
		ExemptNamespaces: &v1alpha1.NamespaceMatch{
			Names:    []string{"kube-system", "kube-node-lease", "taskgate-system", "scratch"},
			Prefixes: []string{"tmp-"},
			Patterns: []string{`^(?:sandbox-[^/])$`},
		},
		Rules: []v1alpha1.JobTTLParamsRule{{
			Name: "team", When: "Failed", TTLSecondsAfterFinished: ptr.To[int32](100000),
			Namespaces: &v1alpha1.NamespaceMatch{Names: []string{"ops"}, Prefixes: []string{"team-"}, Patterns: []string{`^(?:x-[^/]*-y)$`}},
			NamespaceSelector: []v1alpha1.LabelRequirement{
				{Key: "a", Operator: "In", Values: []string{"b"}},
				{Key: "tier", Operator: "In", Values: []string{"prod"}},
				{Key: "zone", Operator: "NotIn", Values: []string{"x", "z"}},
			},
			Selector: []v1alpha1.LabelRequirement{{Key: "batch", Operator: "Exists"}},
			Plain: v1alpha1.JobTTLOutcome{
				TTLSecondsAfterFinished: ptr.To[int32](90000),
				Set:                     "audit: would set ttlSecondsAfterFinished=90000 (rule team, lowered to ttl.maxSeconds)",
				Replace:                 "audit: would replace ttlSecondsAfterFinished with 90000 (rule team, lowered to ttl.maxSeconds)",
			},
			Hook: v1alpha1.JobTTLOutcome{
				TTLSecondsAfterFinished: ptr.To[int32](90000),
				Set:                     "audit: would set ttlSecondsAfterFinished=90000 (rule team, lowered to ttl.maxSeconds)",
				Replace:                 "audit: would replace ttlSecondsAfterFinished with 90000 (rule team, lowered to ttl.maxSeconds)",
			},
		}, {
			Name: "ops", When: "Created", TTLSecondsAfterFinished: ptr.To[int32](60), IncludeOperatorJobs: ptr.To(true),
			Plain: v1alpha1.JobTTLOutcome{
				TTLSecondsAfterFinished: ptr.To[int32](120),
				Set:                     "audit: would set ttlSecondsAfterFinished=120 (rule ops, raised to ttl.minSeconds)",
				Replace:                 "audit: would replace ttlSecondsAfterFinished with 120 (rule ops, raised to ttl.minSeconds)",
			},
			Hook: v1alpha1.JobTTLOutcome{
				TTLSecondsAfterFinished: ptr.To[int32](1800),
				Set:                     "audit: would set ttlSecondsAfterFinished=1800 (rule ops, raised to ttl.hookFloorSeconds)",
				Replace:                 "audit: would replace ttlSecondsAfterFinished with 1800 (rule ops, raised to ttl.hookFloorSeconds)",
			},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Params (-want +got):\n%s", diff)
	}
}

func TestParamsDefaults(t *testing.T) {
	got, errs := Params(load(t, ""))
	if len(errs) > 0 {
		t.Fatal(errs.ToAggregate())
	}
	want := v1alpha1.JobTTLParamsSpec{
		OptOutLabel:      policy.DefaultOptOutLabel,
		ExemptNamespaces: &v1alpha1.NamespaceMatch{Names: []string{"kube-system", "kube-node-lease", "taskgate-system"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Params (-want +got):\n%s", diff)
	}
}

// TestNamespaceMatch checks that each glob gets the cheapest test that
// matches the names path.Match does.
func TestNamespaceMatch(t *testing.T) {
	tests := []struct {
		glob string
		want v1alpha1.NamespaceMatch
	}{
		{"team-a", v1alpha1.NamespaceMatch{Names: []string{"team-a"}}},
		{"team-*", v1alpha1.NamespaceMatch{Prefixes: []string{"team-"}}},
		{"*", v1alpha1.NamespaceMatch{Prefixes: []string{""}}},
		{"*-prod", v1alpha1.NamespaceMatch{Patterns: []string{`^(?:[^/]*-prod)$`}}},
		{"team-**", v1alpha1.NamespaceMatch{Patterns: []string{`^(?:team-[^/]*[^/]*)$`}}},
		{"team-?*", v1alpha1.NamespaceMatch{Patterns: []string{`^(?:team-[^/][^/]*)$`}}},
		{"team-[ab]*", v1alpha1.NamespaceMatch{Patterns: []string{`^(?:team-[\x{61}-\x{61}\x{62}-\x{62}][^/]*)$`}}},
		{`team\*`, v1alpha1.NamespaceMatch{Patterns: []string{`^(?:team\*)$`}}},
	}
	for _, tt := range tests {
		t.Run(tt.glob, func(t *testing.T) {
			got, errs := namespaceMatch([]string{tt.glob}, field.NewPath("namespaces"), 1)
			if len(errs) > 0 {
				t.Fatal(errs.ToAggregate())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("namespaceMatch(%q) (-want +got):\n%s", tt.glob, diff)
			}
		})
	}
	_, errs := namespaceMatch([]string{"ok", "team-[a"}, field.NewPath("namespaces"), 2)
	if want := `namespaces[1]: Invalid value: "team-[a": glob "team-[a": syntax error in pattern`; errs.ToAggregate() == nil || errs.ToAggregate().Error() != want {
		t.Errorf("namespaceMatch of a malformed glob: %v; want %s", errs.ToAggregate(), want)
	}
}

// TestParamsTooLarge checks that a policy the params cannot hold is
// refused at its own paths, with the way out.
func TestParamsTooLarge(t *testing.T) {
	var rules, globs strings.Builder
	for i := range maxRules + 1 {
		rules.WriteString("  - {name: r" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + ", kinds: [Job], when: Created, ttlSecondsAfterFinished: 60}\n")
	}
	for i := range maxNamespaces + 1 {
		globs.WriteString(`"ns-` + strings.Repeat("a", i+1) + `", `)
	}
	tests := []struct {
		name, doc, want string
	}{{
		name: "rules",
		doc:  "ttl:\n  rules:\n" + rules.String(),
		want: "ttl.rules: Too many: 65: must have at most 64 rules for Jobs while kube-apiserver's admission policies admit Jobs (the chart's jobAdmission: policy); use fewer, or install the chart with jobAdmission: webhook",
	}, {
		name: "namespaces",
		doc:  "ttl:\n  rules:\n  - {name: r, kinds: [Job], when: Created, ttlSecondsAfterFinished: 60, namespaces: [" + strings.TrimSuffix(globs.String(), ", ") + "]}\n",
		want: "ttl.rules[0].namespaces: Too many: 33: must have at most 32 namespaces",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := Params(load(t, tt.doc))
			if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), tt.want) {
				t.Fatalf("errors: %v\nwant one starting %q", errs, tt.want)
			}
		})
	}
}

// TestLabels checks that only params whose Jobs may be warned of carry
// WarningsLabel, the only ones the warnings' binding selects.
func TestLabels(t *testing.T) {
	for doc, want := range map[string]map[string]string{
		"":                                    nil,
		"mode: audit":                         {WarningsLabel: "true"},
		"ttl: {explicit: Override}":           {WarningsLabel: "true"},
		"ttl: {explicit: Respect}":            nil,
		"mode: enforce\nttl: {minSeconds: 5}": nil,
	} {
		spec, errs := Params(load(t, doc))
		if len(errs) > 0 {
			t.Fatal(errs.ToAggregate())
		}
		if got := Labels(spec); !cmp.Equal(got, want) {
			t.Errorf("policy %q: Labels = %v, want %v", doc, got, want)
		}
	}
}
