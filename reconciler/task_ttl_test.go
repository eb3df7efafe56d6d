package reconciler

import (
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/policy"
)

func TestCompletionTTL(t *testing.T) {
	const rules = `ttl:
  rules:
  - {name: succeeded-hour, kinds: [Task], when: Succeeded, ttlSecondsAfterFinished: 3600}
  - {name: failed-week, kinds: [Task], when: Failed, ttlSecondsAfterFinished: 604800}
`
	finished := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	policyTTL := map[string]string{policy.AnnotationTTLSource: policy.TTLSourcePolicy}
	const setHour = "set ttlSecondsAfterFinished=3600 (rule succeeded-hour)"
	for _, tc := range []struct {
		name   string
		policy string // after the header; rules when empty
		state  v1alpha1.TaskState
		// The Task's spec TTL and annotations, as admission left them,
		// and the TTL in force its status shows so far.
		spec        *int32
		annotations map[string]string
		labels      map[string]string
		nsLabels    map[string]string // the namespace's
		was         *int32
		wasDecision string
		after       time.Duration // from the finish to now
		want        *int32
		decision    string
	}{
		{name: "no rule, no TTL", policy: "{}", state: v1alpha1.TaskStateSucceeded, after: time.Second},
		{name: "no rule: the spec's", policy: "{}", state: v1alpha1.TaskStateSucceeded, spec: ptr.To[int32](300), after: time.Second,
			want: ptr.To[int32](300)},
		{name: "a rule sets one", state: v1alpha1.TaskStateSucceeded, after: time.Second,
			want: ptr.To[int32](3600), decision: setHour},
		{name: "a rule shortens admission's", state: v1alpha1.TaskStateSucceeded, spec: ptr.To[int32](604800), annotations: policyTTL, after: time.Second,
			want: ptr.To[int32](3600), decision: "shortened ttlSecondsAfterFinished to 3600 (rule succeeded-hour)"},
		{name: "a rule no shorter keeps admission's", state: v1alpha1.TaskStateFailed, spec: ptr.To[int32](604800), annotations: policyTTL, after: time.Second,
			want: ptr.To[int32](604800)},
		{name: "cancelled counts as failed", state: v1alpha1.TaskStateCancelled, after: time.Second,
			want: ptr.To[int32](604800), decision: "set ttlSecondsAfterFinished=604800 (rule failed-week)"},
		{name: "the author's own TTL", state: v1alpha1.TaskStateSucceeded, spec: ptr.To[int32](86400), after: time.Second,
			want: ptr.To[int32](86400)},
		{name: "the author's TTL overridden", policy: "ttl:\n  explicit: Override\n" + rules[len("ttl:\n"):], state: v1alpha1.TaskStateSucceeded,
			spec: ptr.To[int32](86400), after: time.Second,
			want: ptr.To[int32](3600), decision: "shortened ttlSecondsAfterFinished to 3600 (rule succeeded-hour)"},
		{name: "opted out", state: v1alpha1.TaskStateSucceeded, spec: ptr.To[int32](604800), annotations: policyTTL,
			labels: map[string]string{"taskgate.dev/policy": "disabled"}, after: time.Second,
			want: ptr.To[int32](604800)},
		{name: "the namespace opted out", state: v1alpha1.TaskStateSucceeded,
			nsLabels: map[string]string{"taskgate.dev/policy": "disabled"}, after: time.Second},
		{name: "the namespace opted out: admission's TTL stays", state: v1alpha1.TaskStateSucceeded, spec: ptr.To[int32](604800), annotations: policyTTL,
			nsLabels: map[string]string{"taskgate.dev/policy": "disabled"}, after: time.Second,
			want: ptr.To[int32](604800)},
		{name: "a rule for the namespace's labels", policy: "ttl:\n  rules:\n  - {name: scratch-minute, kinds: [Task], when: Succeeded, namespaceSelector: {matchLabels: {tier: scratch}}, ttlSecondsAfterFinished: 60}\n" + rules[len("ttl:\n  rules:\n"):],
			state: v1alpha1.TaskStateSucceeded, spec: ptr.To[int32](604800), annotations: policyTTL, nsLabels: map[string]string{"tier": "scratch"}, after: time.Second,
			want: ptr.To[int32](60), decision: "shortened ttlSecondsAfterFinished to 60 (rule scratch-minute)"},
		{name: "a rule for other namespaces' labels", policy: "ttl:\n  rules:\n  - {name: scratch-minute, kinds: [Task], when: Succeeded, namespaceSelector: {matchLabels: {tier: scratch}}, ttlSecondsAfterFinished: 60}\n" + rules[len("ttl:\n  rules:\n"):],
			state: v1alpha1.TaskStateSucceeded, spec: ptr.To[int32](604800), annotations: policyTTL, nsLabels: map[string]string{"tier": "prod"}, after: time.Second,
			want: ptr.To[int32](3600), decision: "shortened ttlSecondsAfterFinished to 3600 (rule succeeded-hour)"},
		{name: "audit mode writes nothing", policy: "mode: audit\n" + rules, state: v1alpha1.TaskStateSucceeded, after: time.Second},
		{name: "late: the grace floor", state: v1alpha1.TaskStateSucceeded, after: 2 * time.Hour,
			want: ptr.To[int32](7260), decision: "set ttlSecondsAfterFinished=7260 (rule succeeded-hour, raised by ttl.completionGraceSeconds)"},
		// Decided again later, as every reconcile does.
		{name: "on time, again", state: v1alpha1.TaskStateSucceeded, was: ptr.To[int32](3600), wasDecision: setHour, after: time.Minute,
			want: ptr.To[int32](3600), decision: setHour},
		{name: "expired, again: not moved on by the grace floor", state: v1alpha1.TaskStateSucceeded, was: ptr.To[int32](3600), wasDecision: setHour,
			after: 3601 * time.Second,
			want:  ptr.To[int32](3600), decision: setHour},
		{name: "late, again: the first floor stays", state: v1alpha1.TaskStateSucceeded, was: ptr.To[int32](7260),
			wasDecision: "set ttlSecondsAfterFinished=7260 (rule succeeded-hour, raised by ttl.completionGraceSeconds)", after: 7250 * time.Second,
			want: ptr.To[int32](7260), decision: "set ttlSecondsAfterFinished=7260 (rule succeeded-hour, raised by ttl.completionGraceSeconds)"},
		{name: "a shorter rule since: shortened, with its floor", policy: "ttl:\n  rules:\n  - {name: succeeded-minute, kinds: [Task], when: Succeeded, ttlSecondsAfterFinished: 60}\n",
			state: v1alpha1.TaskStateSucceeded, was: ptr.To[int32](604800), wasDecision: "set ttlSecondsAfterFinished=604800 (rule succeeded-week)", after: time.Hour,
			want: ptr.To[int32](3660), decision: "set ttlSecondsAfterFinished=3660 (rule succeeded-minute, raised by ttl.completionGraceSeconds)"},
		{name: "a longer rule since", policy: "ttl:\n  rules:\n  - {name: succeeded-day, kinds: [Task], when: Succeeded, ttlSecondsAfterFinished: 86400}\n",
			state: v1alpha1.TaskStateSucceeded, was: ptr.To[int32](3600), wasDecision: setHour, after: time.Minute,
			want: ptr.To[int32](86400), decision: "set ttlSecondsAfterFinished=86400 (rule succeeded-day)"},
		{name: "the rule removed since: the spec's", policy: "{}", state: v1alpha1.TaskStateSucceeded, spec: ptr.To[int32](604800), annotations: policyTTL,
			was: ptr.To[int32](3600), wasDecision: setHour, after: time.Minute,
			want: ptr.To[int32](604800)},
		{name: "the spec's TTL lowered since", state: v1alpha1.TaskStateSucceeded, spec: ptr.To[int32](10), annotations: policyTTL,
			was: ptr.To[int32](3600), wasDecision: setHour, after: time.Minute,
			want: ptr.To[int32](10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.policy
			if doc == "" {
				doc = rules
			}
			if doc == "{}" {
				doc = ""
			}
			p, err := policy.Load([]byte("apiVersion: taskgate.dev/v1alpha1\nkind: Policy\n" + doc))
			if err != nil {
				t.Fatal(err)
			}
			spec := copyTTL(tc.spec)
			task := &v1alpha1.Task{
				ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "migrate", Labels: tc.labels, Annotations: tc.annotations},
				Spec:       v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: "shop"}, TTLSecondsAfterFinished: spec},
				Status: v1alpha1.TaskStatus{State: tc.state, TTLSecondsAfterFinished: tc.was, TTLDecision: tc.wasDecision, Conditions: []metav1.Condition{{
					Type: v1alpha1.ConditionSucceeded, Status: metav1.ConditionTrue, Reason: "Succeeded", LastTransitionTime: metav1.NewTime(finished),
				}}},
			}
			final := task.Status.DeepCopy()
			got, decision := CompletionTTL(p, task, final, tc.nsLabels, finished.Add(tc.after))
			if !ptr.Equal(got, tc.want) || decision != tc.decision {
				t.Errorf("CompletionTTL() = %v, %q; want %v, %q", ptrString(got), decision, ptrString(tc.want), tc.decision)
			}
			if got != nil && got == task.Spec.TTLSecondsAfterFinished {
				t.Errorf("CompletionTTL() returned the spec's pointer")
			}
			if !ptr.Equal(task.Spec.TTLSecondsAfterFinished, tc.spec) {
				t.Errorf("spec TTL changed to %v", ptrString(task.Spec.TTLSecondsAfterFinished))
			}
		})
	}
}

func ptrString(p *int32) string {
	if p == nil {
		return "nil"
	}
	return strconv.Itoa(int(*p))
}
