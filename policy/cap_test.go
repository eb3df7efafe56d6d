package policy

import (
	"reflect"
	"testing"
	"time"
)

const capOverrides = `
tasks:
  cap:
    overrides:
    - {name: team-a, namespaces: [team-a], maxTasks: 50}
    - {name: big-teams, namespaceSelector: {matchLabels: {size: big}}, maxTasks: 5000}
    - {name: migrations, appSelector: {matchLabels: {kind: migrations}}, maxTasks: 10}
    - {name: team-a-too-late, namespaces: ["team-*"], maxTasks: 1}
`

func TestTaskCapRule(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		facts  AppFacts
		want   CapDecision
	}{
		{
			name:  "default cap is 500",
			facts: AppFacts{Namespace: "shop"},
			want:  CapDecision{Max: 500, Rule: RuleDefault, Outcome: OutcomeWithinCap},
		},
		{
			name:   "a configured default",
			policy: "tasks: {cap: {default: 20}}",
			facts:  AppFacts{Namespace: "shop"},
			want:   CapDecision{Max: 20, Rule: RuleDefault, Outcome: OutcomeWithinCap},
		},
		{
			name:   "override by namespace",
			policy: capOverrides,
			facts:  AppFacts{Namespace: "team-a"},
			want:   CapDecision{Max: 50, Rule: "team-a", Outcome: OutcomeWithinCap},
		},
		{
			name:   "override by namespace labels",
			policy: capOverrides,
			facts:  AppFacts{Namespace: "shop", NamespaceLabels: map[string]string{"size": "big"}},
			want:   CapDecision{Max: 5000, Rule: "big-teams", Outcome: OutcomeWithinCap},
		},
		{
			name:   "override by App labels",
			policy: capOverrides,
			facts:  AppFacts{Namespace: "shop", AppLabels: map[string]string{"kind": "migrations"}},
			want:   CapDecision{Max: 10, Rule: "migrations", Outcome: OutcomeWithinCap},
		},
		{
			name:   "first matching override wins",
			policy: capOverrides,
			facts:  AppFacts{Namespace: "team-a", AppLabels: map[string]string{"kind": "migrations"}},
			want:   CapDecision{Max: 50, Rule: "team-a", Outcome: OutcomeWithinCap},
		},
		{
			name:   "no matching override: the default",
			policy: capOverrides,
			facts:  AppFacts{Namespace: "shop"},
			want:   CapDecision{Max: 500, Rule: RuleDefault, Outcome: OutcomeWithinCap},
		},
		{
			name:   "exemptions do not apply to the cap",
			policy: "tasks: {cap: {default: 20}}",
			facts:  AppFacts{Namespace: "kube-system", AppLabels: map[string]string{DefaultOptOutLabel: OptOutValue}},
			want:   CapDecision{Max: 20, Rule: RuleDefault, Outcome: OutcomeWithinCap},
		},
		{
			name:   "audit",
			policy: "mode: audit",
			facts:  AppFacts{Namespace: "shop"},
			want:   CapDecision{Max: 500, Rule: RuleDefault, Outcome: OutcomeWithinCap, Audit: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := load(t, tt.policy).TaskCap(tt.facts)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("TaskCap:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestTaskCapSelectsOldestFinished(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	tasks := []TaskFacts{ // deliberately out of order
		{Name: "t3", ID: 3, Created: t0.Add(3 * time.Minute), Finished: true},
		{Name: "t1", ID: 1, Created: t0.Add(1 * time.Minute), Finished: true},
		{Name: "t5", ID: 5, Created: t0.Add(5 * time.Minute), Finished: false},
		{Name: "t2", ID: 2, Created: t0.Add(2 * time.Minute), Finished: false}, // old but running
		{Name: "t4", ID: 4, Created: t0.Add(4 * time.Minute), Finished: true},
		{Name: "new", ID: 0, Created: t0, Finished: false}, // no ID yet: newest
	}
	tests := []struct {
		name   string
		policy string
		tasks  []TaskFacts
		want   CapDecision
	}{
		{
			name:   "within the cap",
			policy: "tasks: {cap: {default: 6}}",
			tasks:  tasks,
			want:   CapDecision{Max: 6, Rule: RuleDefault, Outcome: OutcomeWithinCap},
		},
		{
			name:   "past the cap, only finished Tasks go, newest first",
			policy: "tasks: {cap: {default: 2}}",
			tasks:  tasks,
			want:   CapDecision{Max: 2, Rule: RuleDefault, Outcome: OutcomeOverCap, Delete: []string{"t4", "t3", "t1"}},
		},
		{
			name:   "cap 0 keeps no finished Task",
			policy: "tasks: {cap: {default: 0}}",
			tasks:  tasks,
			want:   CapDecision{Max: 0, Rule: RuleDefault, Outcome: OutcomeOverCap, Delete: []string{"t4", "t3", "t1"}},
		},
		{
			name:   "past the cap with only running Tasks there",
			policy: "tasks: {cap: {default: 4}}",
			tasks:  tasks,
			want:   CapDecision{Max: 4, Rule: RuleDefault, Outcome: OutcomeOverCap, Delete: []string{"t1"}},
		},
		{
			name:   "over the count but every old Task still runs",
			policy: "tasks: {cap: {default: 1}}",
			tasks:  []TaskFacts{{Name: "a", ID: 2, Finished: true}, {Name: "b", ID: 1}},
			want:   CapDecision{Max: 1, Rule: RuleDefault, Outcome: OutcomeWithinCap},
		},
		{
			name:   "equal IDs fall back to creation time, then name",
			policy: "tasks: {cap: {default: 1}}",
			tasks: []TaskFacts{
				{Name: "b", Created: t0, Finished: true},
				{Name: "a", Created: t0, Finished: true},
				{Name: "c", Created: t0.Add(time.Second), Finished: true},
			},
			want: CapDecision{Max: 1, Rule: RuleDefault, Outcome: OutcomeOverCap, Delete: []string{"a", "b"}},
		},
		{
			name:   "audit lists what would go",
			policy: "mode: audit\ntasks: {cap: {default: 4}}",
			tasks:  tasks,
			want:   CapDecision{Max: 4, Rule: RuleDefault, Outcome: OutcomeOverCap, Delete: []string{"t1"}, Audit: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]TaskFacts(nil), tt.tasks...)
			got := load(t, tt.policy).TaskCap(AppFacts{Namespace: "shop", Tasks: tt.tasks})
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("TaskCap:\n got %+v\nwant %+v", got, tt.want)
			}
			if !reflect.DeepEqual(in, tt.tasks) {
				t.Error("TaskCap reordered the caller's slice")
			}
		})
	}
}
