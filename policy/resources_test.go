package policy

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestResolveTaskResources(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		set    Resources
		want   ResourceDecision
	}{
		{
			name: "nothing set: every default",
			want: ResourceDecision{
				Resources: Resources{CPU: qty("100m"), Memory: qty("256Mi"), Disk: qty("1Gi")},
				Defaulted: []string{ResourceCPU, ResourceMemory, ResourceDisk},
				Rule:      RuleDefault, Outcome: OutcomeDefaulted,
			},
		},
		{
			name: "defaults fill only what is unset",
			set:  Resources{Memory: qty("1Gi")},
			want: ResourceDecision{
				Resources: Resources{CPU: qty("100m"), Memory: qty("1Gi"), Disk: qty("1Gi")},
				Defaulted: []string{ResourceCPU, ResourceDisk},
				Rule:      RuleDefault, Outcome: OutcomeDefaulted,
			},
		},
		{
			name: "everything set: unchanged",
			set:  Resources{CPU: qty("2"), Memory: qty("4Gi"), Disk: qty("10Gi")},
			want: ResourceDecision{
				Resources: Resources{CPU: qty("2"), Memory: qty("4Gi"), Disk: qty("10Gi")},
				Rule:      RuleDefault, Outcome: OutcomeUnchanged,
			},
		},
		{
			name:   "a default of 0 fills nothing",
			policy: "tasks: {resources: {defaults: {cpu: 0, memory: 512Mi}}}",
			want: ResourceDecision{
				Resources: Resources{Memory: qty("512Mi"), Disk: qty("1Gi")},
				Defaulted: []string{ResourceMemory, ResourceDisk},
				Rule:      RuleDefault, Outcome: OutcomeDefaulted,
			},
		},
		{
			name:   "audit reports the defaults",
			policy: "mode: audit",
			set:    Resources{CPU: qty("1"), Disk: qty("1Gi")},
			want: ResourceDecision{
				Resources: Resources{CPU: qty("1"), Memory: qty("256Mi"), Disk: qty("1Gi")},
				Defaulted: []string{ResourceMemory},
				Rule:      RuleDefault, Outcome: OutcomeDefaulted, Audit: true,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := load(t, tt.policy)
			got := p.ResolveTaskResources(tt.set)
			if !equality.Semantic.DeepEqual(got, tt.want) {
				t.Errorf("ResolveTaskResources:\n got %+v %s\nwant %+v %s", got, got, tt.want, tt.want)
			}
			// The result must not alias the policy's defaults.
			if got.Resources.Memory != nil {
				got.Resources.Memory.Add(*qty("1Ti"))
				if again := p.ResolveTaskResources(tt.set); !equality.Semantic.DeepEqual(again, tt.want) {
					t.Error("changing a returned quantity changed the policy")
				}
			}
		})
	}
}

func TestResourceDecisionString(t *testing.T) {
	p := load(t, "mode: audit")
	d := p.ResolveTaskResources(Resources{CPU: qty("1")})
	if got, want := d.String(), "audit: would set default memory=256Mi, disk=1Gi (tasks.resources.defaults)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

const ceilings = "tasks: {resources: {ceilings: {cpu: \"4\", memory: 8Gi, disk: 20Gi}}}"

func TestValidateTaskResources(t *testing.T) {
	spec := field.NewPath("spec")
	tests := []struct {
		name     string
		policy   string
		r        Resources
		errs     []string
		warnings []string
	}{
		{
			name: "no ceilings: anything goes",
			r:    Resources{CPU: qty("64"), Memory: qty("1Ti")},
		},
		{
			name:   "at the ceiling",
			policy: ceilings,
			r:      Resources{CPU: qty("4"), Memory: qty("8Gi"), Disk: qty("20Gi")},
		},
		{
			name:   "above the memory ceiling",
			policy: ceilings,
			r:      Resources{CPU: qty("1"), Memory: qty("16Gi")},
			errs: []string{
				`spec.memory: Invalid value: "16Gi": exceeds the cluster ceiling of 8Gi set in policy tasks.resources.ceilings.memory; ask for at most 8Gi`,
			},
		},
		{
			name:   "every ceiling exceeded",
			policy: ceilings,
			r:      Resources{CPU: qty("4500m"), Memory: qty("9Gi"), Disk: qty("21Gi")},
			errs: []string{
				`spec.cpu: Invalid value: "4500m": exceeds the cluster ceiling of 4 set in policy tasks.resources.ceilings.cpu; ask for at most 4`,
				`spec.memory: Invalid value: "9Gi": exceeds the cluster ceiling of 8Gi set in policy tasks.resources.ceilings.memory; ask for at most 8Gi`,
				`spec.disk: Invalid value: "21Gi": exceeds the cluster ceiling of 20Gi set in policy tasks.resources.ceilings.disk; ask for at most 20Gi`,
			},
		},
		{
			name:   "quantities too extreme to compare",
			policy: ceilings,
			r:      Resources{CPU: qty("1e1000000"), Memory: qty("1" + strings.Repeat("0", 99)), Disk: qty("1e-1000")},
			errs: []string{
				`spec.cpu: Invalid value: is too large or too precise a quantity; ask for at most 4`,
				`spec.memory: Invalid value: is too large or too precise a quantity; ask for at most 8Gi`,
			},
		},
		{
			name:   "audit turns errors into warnings",
			policy: "mode: audit\n" + ceilings,
			r:      Resources{Memory: qty("16Gi")},
			warnings: []string{
				"audit: would reject spec.memory=16Gi: above the ceiling 8Gi (tasks.resources.ceilings.memory)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs, warnings := load(t, tt.policy).ValidateTaskResources(tt.r, spec)
			assertErrors(t, errs, tt.errs)
			if !reflect.DeepEqual(warnings, tt.warnings) {
				t.Errorf("warnings = %q, want %q", warnings, tt.warnings)
			}
		})
	}
}

// assertErrors compares an ErrorList with the exact messages expected.
func assertErrors(t *testing.T, errs field.ErrorList, want []string) {
	t.Helper()
	got := make([]string, len(errs))
	for i, e := range errs {
		got[i] = e.Error()
	}
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
}
