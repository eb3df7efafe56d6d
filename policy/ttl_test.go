package policy

import (
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"
)

// Facts builders: a plain Job or Task in a namespace, then options.
type factOpt func(*ObjectFacts)

func job(ns string, opts ...factOpt) ObjectFacts  { return facts(KindJob, ns, opts) }
func task(ns string, opts ...factOpt) ObjectFacts { return facts(KindTask, ns, opts) }

func facts(kind ObjectKind, ns string, opts []factOpt) ObjectFacts {
	f := ObjectFacts{Kind: kind, Namespace: ns}
	for _, o := range opts {
		o(&f)
	}
	return f
}

func objLabels(kv ...string) factOpt {
	return func(f *ObjectFacts) { f.Labels = pairs(kv) }
}

func nsLabels(kv ...string) factOpt {
	return func(f *ObjectFacts) { f.NamespaceLabels = pairs(kv) }
}

func annotations(kv ...string) factOpt {
	return func(f *ObjectFacts) { f.Annotations = pairs(kv) }
}

func owner(kind string) factOpt { return func(f *ObjectFacts) { f.OwnerKind = kind } }

// userTTL is a TTL the object's author wrote.
func userTTL(v int32) factOpt { return func(f *ObjectFacts) { f.TTL = &v } }

// policyTTL is a TTL taskgate wrote, marked by its annotation.
func policyTTL(v int32) factOpt {
	return func(f *ObjectFacts) {
		f.TTL = &v
		f.Annotations = map[string]string{AnnotationTTLSource: TTLSourcePolicy}
	}
}

func pairs(kv []string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func set(ttl int32, rule string) TTLDecision {
	return TTLDecision{TTL: &ttl, Rule: rule, Outcome: OutcomeSet}
}

func shortened(ttl int32, rule string) TTLDecision {
	return TTLDecision{TTL: &ttl, Rule: rule, Outcome: OutcomeShortened}
}

func bounded(d TTLDecision, b Bound) TTLDecision { d.Bound = b; return d }

func replaced(d TTLDecision) TTLDecision { d.Replaced = true; return d }

func unchanged(rule string) TTLDecision { return TTLDecision{Rule: rule, Outcome: OutcomeUnchanged} }

var (
	noRule   = TTLDecision{Rule: RuleDefault, Outcome: OutcomeNoRule}
	explicit = TTLDecision{Rule: RuleExplicit, Outcome: OutcomeExplicit, Reason: ReasonExplicit}
)

func exempt(reason string) TTLDecision {
	return TTLDecision{Rule: RuleExemptPrefix + reason, Outcome: OutcomeExempt, Exempt: true, Reason: reason}
}

func audited(d TTLDecision) TTLDecision { d.Audit = true; return d }

func show(d TTLDecision) string {
	ttl := "nil"
	if d.TTL != nil {
		ttl = fmt.Sprint(*d.TTL)
	}
	return fmt.Sprintf("{TTL:%s Rule:%q Outcome:%s Bound:%q Exempt:%v Reason:%q Audit:%v Replaced:%v}",
		ttl, d.Rule, d.Outcome, d.Bound, d.Exempt, d.Reason, d.Audit, d.Replaced)
}

// weekAndHour is the worked example of docs/policy.md: failed Jobs and
// Tasks kept a week, succeeded ones an hour.
const weekAndHour = `
ttl:
  rules:
  - {name: failed-week, kinds: [Job, Task], when: Failed, ttlSecondsAfterFinished: 604800}
  - {name: succeeded-hour, kinds: [Job, Task], when: Succeeded, ttlSecondsAfterFinished: 3600}
`

func TestCreationTTL(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		facts  ObjectFacts
		want   TTLDecision
	}{
		{
			name:   "no rules: no decision",
			policy: "",
			facts:  job("default"),
			want:   noRule,
		},
		{
			name:   "rules for another kind do not match",
			policy: "ttl: {rules: [{name: tasks, kinds: [Task], when: Created, ttlSecondsAfterFinished: 60}]}",
			facts:  job("default"),
			want:   noRule,
		},
		{
			name:   "a Created rule gives the creation TTL",
			policy: "ttl: {rules: [{name: day, kinds: [Job], when: Created, ttlSecondsAfterFinished: 86400}]}",
			facts:  job("default"),
			want:   set(86400, "day"),
		},
		{
			name: "creation TTL is the largest of the Created, Succeeded and Failed matches",
			policy: `
ttl:
  rules:
  - {name: created-hour, kinds: [Job], when: Created, ttlSecondsAfterFinished: 3600}
  - {name: failed-week, kinds: [Job], when: Failed, ttlSecondsAfterFinished: 604800}
  - {name: succeeded-day, kinds: [Job], when: Succeeded, ttlSecondsAfterFinished: 86400}`,
			facts: job("default"),
			want:  set(604800, "failed-week"),
		},
		{
			name: "a Created rule that is largest names itself",
			policy: `
ttl:
  rules:
  - {name: failed-week, kinds: [Job], when: Failed, ttlSecondsAfterFinished: 604800}
  - {name: created-month, kinds: [Job], when: Created, ttlSecondsAfterFinished: 2592000}`,
			facts: job("default"),
			want:  set(2592000, "created-month"),
		},
		{
			name: "on a tie the Created rule names the decision",
			policy: `
ttl:
  rules:
  - {name: finished-day, kinds: [Job], when: Finished, ttlSecondsAfterFinished: 86400}
  - {name: created-day, kinds: [Job], when: Created, ttlSecondsAfterFinished: 86400}`,
			facts: job("default"),
			want:  set(86400, "created-day"),
		},
		{
			name:   "with no Created rule the object still gets the largest completion TTL",
			policy: weekAndHour,
			facts:  task("default"),
			want:   set(604800, "failed-week"),
		},
		{
			name: "completion TTL on one outcome only still sets a creation TTL",
			policy: `
ttl:
  rules:
  - {name: succeeded-hour, kinds: [Job], when: Succeeded, ttlSecondsAfterFinished: 3600}`,
			facts: job("default"),
			want:  set(3600, "succeeded-hour"),
		},
		{
			name: "first matching Created rule wins",
			policy: `
ttl:
  rules:
  - {name: first, kinds: [Job], when: Created, ttlSecondsAfterFinished: 60}
  - {name: second, kinds: [Job], when: Created, ttlSecondsAfterFinished: 86400}`,
			facts: job("default"),
			want:  set(60, "first"),
		},
		{
			name: "an earlier Finished rule shadows a later Failed rule",
			policy: `
ttl:
  rules:
  - {name: finished-hour, kinds: [Job], when: Finished, ttlSecondsAfterFinished: 3600}
  - {name: failed-week, kinds: [Job], when: Failed, ttlSecondsAfterFinished: 604800}`,
			facts: job("default"),
			want:  set(3600, "finished-hour"),
		},
		{
			name: "namespace globs: a rule for team-* matches team-a",
			policy: `
ttl:
  rules:
  - {name: teams, kinds: [Job], namespaces: [ci, "team-*"], when: Created, ttlSecondsAfterFinished: 600}
  - {name: rest, kinds: [Job], when: Created, ttlSecondsAfterFinished: 60}`,
			facts: job("team-a"),
			want:  set(600, "teams"),
		},
		{
			name: "namespace globs: a rule for team-* does not match teams",
			policy: `
ttl:
  rules:
  - {name: teams, kinds: [Job], namespaces: ["team-*"], when: Created, ttlSecondsAfterFinished: 600}
  - {name: rest, kinds: [Job], when: Created, ttlSecondsAfterFinished: 60}`,
			facts: job("teams"),
			want:  set(60, "rest"),
		},
		{
			name: "namespaceSelector matches the namespace's labels",
			policy: `
ttl:
  rules:
  - {name: prod, kinds: [Job], namespaceSelector: {matchLabels: {env: prod}}, when: Created, ttlSecondsAfterFinished: 86400}
  - {name: rest, kinds: [Job], when: Created, ttlSecondsAfterFinished: 60}`,
			facts: job("shop", nsLabels("env", "prod")),
			want:  set(86400, "prod"),
		},
		{
			name: "namespaceSelector does not match other namespaces",
			policy: `
ttl:
  rules:
  - {name: prod, kinds: [Job], namespaceSelector: {matchLabels: {env: prod}}, when: Created, ttlSecondsAfterFinished: 86400}`,
			facts: job("shop", nsLabels("env", "dev")),
			want:  noRule,
		},
		{
			name: "selector matchExpressions on the object's labels",
			policy: `
ttl:
  rules:
  - name: nightly
    kinds: [Job]
    selector: {matchExpressions: [{key: schedule, operator: In, values: [nightly, weekly]}]}
    when: Created
    ttlSecondsAfterFinished: 172800`,
			facts: job("default", objLabels("schedule", "weekly")),
			want:  set(172800, "nightly"),
		},
		{
			name: "selector that does not match",
			policy: `
ttl:
  rules:
  - {name: nightly, kinds: [Job], selector: {matchLabels: {schedule: nightly}}, when: Created, ttlSecondsAfterFinished: 172800}`,
			facts: job("default", objLabels("schedule", "hourly")),
			want:  noRule,
		},
		{
			name:   "explicit TTL is respected by default",
			policy: weekAndHour,
			facts:  job("default", userTTL(100)),
			want:   explicit,
		},
		{
			name:   "explicit TTL is respected even when no rule matches",
			policy: "",
			facts:  job("default", userTTL(100)),
			want:   explicit,
		},
		{
			name:   "explicit: Override replaces the author's TTL",
			policy: "ttl: {explicit: Override, rules: [{name: day, kinds: [Job], when: Created, ttlSecondsAfterFinished: 86400}]}",
			facts:  job("default", userTTL(100)),
			want:   replaced(set(86400, "day")),
		},
		{
			name:   "explicit: Override with the same value changes nothing",
			policy: "ttl: {explicit: Override, rules: [{name: day, kinds: [Job], when: Created, ttlSecondsAfterFinished: 86400}]}",
			facts:  job("default", userTTL(86400)),
			want:   unchanged("day"),
		},
		{
			name:   "explicit: Override with no matching rule keeps the author's TTL",
			policy: "ttl: {explicit: Override}",
			facts:  job("default", userTTL(100)),
			want:   noRule,
		},
		{
			name:   "a TTL policy wrote is not explicit",
			policy: "ttl: {rules: [{name: day, kinds: [Job], when: Created, ttlSecondsAfterFinished: 86400}]}",
			facts:  job("default", policyTTL(100)),
			want:   set(86400, "day"),
		},
		{
			name:   "minSeconds raises a rule's TTL",
			policy: "ttl: {minSeconds: 300, rules: [{name: fast, kinds: [Task], when: Created, ttlSecondsAfterFinished: 10}]}",
			facts:  task("default"),
			want:   bounded(set(300, "fast"), BoundMinSeconds),
		},
		{
			name:   "maxSeconds lowers a rule's TTL",
			policy: "ttl: {maxSeconds: 86400, rules: [{name: forever, kinds: [Task], when: Created, ttlSecondsAfterFinished: 31536000}]}",
			facts:  task("default"),
			want:   bounded(set(86400, "forever"), BoundMaxSeconds),
		},
		{
			name:   "maxSeconds does not touch an explicit TTL",
			policy: "ttl: {maxSeconds: 86400, rules: [{name: forever, kinds: [Task], when: Created, ttlSecondsAfterFinished: 31536000}]}",
			facts:  task("default", userTTL(31536000)),
			want:   explicit,
		},
		{
			name:   "a Helm hook Job is raised to hookFloorSeconds",
			policy: "ttl: {rules: [{name: fast, kinds: [Job], when: Created, ttlSecondsAfterFinished: 60}]}",
			facts:  job("default", annotations("helm.sh/hook", "pre-install")),
			want:   bounded(set(3600, "fast"), BoundHookFloorSeconds),
		},
		{
			name:   "an Argo CD hook Job is raised to hookFloorSeconds",
			policy: "ttl: {hookFloorSeconds: 7200, rules: [{name: fast, kinds: [Job], when: Created, ttlSecondsAfterFinished: 60}]}",
			facts:  job("default", annotations("argocd.argoproj.io/hook", "PreSync")),
			want:   bounded(set(7200, "fast"), BoundHookFloorSeconds),
		},
		{
			name:   "a hook Job above the floor keeps its rule's TTL",
			policy: "ttl: {rules: [{name: day, kinds: [Job], when: Created, ttlSecondsAfterFinished: 86400}]}",
			facts:  job("default", annotations("helm.sh/hook", "post-install")),
			want:   set(86400, "day"),
		},
		{
			name:   "the hook floor applies after maxSeconds",
			policy: "ttl: {minSeconds: 0, maxSeconds: 3600, hookFloorSeconds: 3600, rules: [{name: fast, kinds: [Job], when: Created, ttlSecondsAfterFinished: 5}]}",
			facts:  job("default", annotations("helm.sh/hook", "test")),
			want:   bounded(set(3600, "fast"), BoundHookFloorSeconds),
		},
		{
			name:   "kube-system is always exempt",
			policy: weekAndHour,
			facts:  job("kube-system"),
			want:   exempt(ExemptSystemNamespace),
		},
		{
			name:   "kube-node-lease is always exempt",
			policy: weekAndHour,
			facts:  job("kube-node-lease"),
			want:   exempt(ExemptSystemNamespace),
		},
		{
			name:   "exemptions come before an explicit TTL",
			policy: weekAndHour,
			facts:  job("kube-system", userTTL(5)),
			want:   exempt(ExemptSystemNamespace),
		},
		{
			name:   "exemptions.namespaces globs",
			policy: weekAndHour + "exemptions: {namespaces: [\"legacy-*\"]}",
			facts:  job("legacy-billing"),
			want:   exempt(ExemptNamespace),
		},
		{
			name:   "opt-out label on the object",
			policy: weekAndHour,
			facts:  job("default", objLabels("taskgate.dev/policy", "disabled")),
			want:   exempt(ExemptOptOut),
		},
		{
			name:   "opt-out label on the namespace",
			policy: weekAndHour,
			facts:  task("default", nsLabels("taskgate.dev/policy", "disabled")),
			want:   exempt(ExemptNamespaceOptOut),
		},
		{
			name:   "the opt-out label with another value does not exempt",
			policy: weekAndHour,
			facts:  job("default", objLabels("taskgate.dev/policy", "enabled")),
			want:   set(604800, "failed-week"),
		},
		{
			name:   "a custom opt-out label",
			policy: weekAndHour + "exemptions: {optOutLabel: example.com/cleanup}",
			facts:  job("default", objLabels("example.com/cleanup", "disabled")),
			want:   exempt(ExemptOptOut),
		},
		{
			name:   "a custom opt-out label replaces the default one",
			policy: weekAndHour + "exemptions: {optOutLabel: example.com/cleanup}",
			facts:  job("default", objLabels("taskgate.dev/policy", "disabled")),
			want:   set(604800, "failed-week"),
		},
		{
			name:   "an operator's Job is exempt",
			policy: weekAndHour,
			facts:  job("default", owner("Workflow")),
			want:   exempt(ExemptOperatorJob),
		},
		{
			name:   "a CronJob's Job is not an operator Job",
			policy: weekAndHour,
			facts:  job("default", owner("CronJob")),
			want:   set(604800, "failed-week"),
		},
		{
			name:   "a Task with an owner is not an operator Job",
			policy: weekAndHour,
			facts:  task("default", owner("Workflow")),
			want:   set(604800, "failed-week"),
		},
		{
			name: "an operator's Job follows only rules with includeOperatorJobs",
			policy: `
ttl:
  rules:
  - {name: everything-week, kinds: [Job], when: Finished, ttlSecondsAfterFinished: 604800}
  - {name: operators-day, kinds: [Job], namespaces: [batch], when: Finished, ttlSecondsAfterFinished: 86400, includeOperatorJobs: true}`,
			facts: job("batch", owner("Workflow")),
			want:  set(86400, "operators-day"),
		},
		{
			name: "an operator's Job no opt-in rule matches is exempt",
			policy: `
ttl:
  rules:
  - {name: operators-day, kinds: [Job], namespaces: [batch], when: Finished, ttlSecondsAfterFinished: 86400, includeOperatorJobs: true}`,
			facts: job("default", owner("Workflow")),
			want:  exempt(ExemptOperatorJob),
		},
		{
			name:   "audit mode reports the decision",
			policy: "mode: audit\n" + weekAndHour,
			facts:  job("default"),
			want:   audited(set(604800, "failed-week")),
		},
		{
			name:   "audit mode marks exemptions too",
			policy: "mode: audit\n" + weekAndHour,
			facts:  job("kube-system"),
			want:   audited(exempt(ExemptSystemNamespace)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := load(t, tt.policy).CreationTTL(tt.facts)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("CreationTTL:\n got %s\nwant %s", show(got), show(tt.want))
			}
		})
	}
}

func TestManagerNamespaceIsExempt(t *testing.T) {
	s := NewStore("taskgate-system")
	if err := s.Update([]byte("apiVersion: taskgate.dev/v1alpha1\nkind: Policy\n" + weekAndHour)); err != nil {
		t.Fatal(err)
	}
	got := s.Current().CreationTTL(job("taskgate-system"))
	if want := exempt(ExemptManagerNamespace); !reflect.DeepEqual(got, want) {
		t.Errorf("got %s, want %s", show(got), show(want))
	}
	if got := s.Current().CreationTTL(job("default")); got.Outcome != OutcomeSet {
		t.Errorf("another namespace: got %s, want a TTL set", show(got))
	}
}

func TestCompletionTTL(t *testing.T) {
	now := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	tenMinutesAgo := now.Add(-10 * time.Minute)
	succeeded := Completion{Result: ResultSucceeded, FinishedAt: tenMinutesAgo, Now: now}
	failed := Completion{Result: ResultFailed, FinishedAt: tenMinutesAgo, Now: now}
	finishedAgo := func(r Result, d time.Duration) Completion {
		return Completion{Result: r, FinishedAt: now.Add(-d), Now: now}
	}

	tests := []struct {
		name       string
		policy     string
		facts      ObjectFacts
		completion Completion
		want       TTLDecision
	}{
		{
			name:       "a finished object without a TTL gets one",
			policy:     weekAndHour,
			facts:      job("default"),
			completion: failed,
			want:       set(604800, "failed-week"),
		},
		{
			name:       "the creation TTL is shortened for the actual outcome",
			policy:     weekAndHour,
			facts:      job("default", policyTTL(604800)),
			completion: succeeded,
			want:       shortened(3600, "succeeded-hour"),
		},
		{
			name:       "a failed object keeps the week it was created with",
			policy:     weekAndHour,
			facts:      task("default", policyTTL(604800)),
			completion: failed,
			want:       unchanged("failed-week"),
		},
		{
			name:       "shorten only: a shorter TTL is never raised",
			policy:     weekAndHour,
			facts:      job("default", policyTTL(600)),
			completion: failed,
			want:       unchanged("failed-week"),
		},
		{
			name: "an earlier Finished rule shadows a later Succeeded rule",
			policy: `
ttl:
  rules:
  - {name: finished-day, kinds: [Job], when: Finished, ttlSecondsAfterFinished: 86400}
  - {name: succeeded-hour, kinds: [Job], when: Succeeded, ttlSecondsAfterFinished: 3600}`,
			facts:      job("default", policyTTL(604800)),
			completion: succeeded,
			want:       shortened(86400, "finished-day"),
		},
		{
			name: "a Failed rule does not apply to success; the Created rule does",
			policy: `
ttl:
  rules:
  - {name: failed-week, kinds: [Job], when: Failed, ttlSecondsAfterFinished: 604800}
  - {name: created-hour, kinds: [Job], when: Created, ttlSecondsAfterFinished: 3600}`,
			facts:      job("default", policyTTL(604800)),
			completion: succeeded,
			want:       shortened(3600, "created-hour"),
		},
		{
			name:       "a Created rule gives a TTL to an object admission missed",
			policy:     "ttl: {rules: [{name: created-day, kinds: [Job], when: Created, ttlSecondsAfterFinished: 86400}]}",
			facts:      job("default"),
			completion: failed,
			want:       set(86400, "created-day"),
		},
		{
			name:       "no matching rule: no decision",
			policy:     "ttl: {rules: [{name: tasks, kinds: [Task], when: Finished, ttlSecondsAfterFinished: 60}]}",
			facts:      job("default", policyTTL(600)),
			completion: failed,
			want:       noRule,
		},
		{
			name:       "grace floor: a backlog is not deleted at once",
			policy:     weekAndHour,
			facts:      job("default"),
			completion: finishedAgo(ResultSucceeded, 2*time.Hour),
			want:       bounded(set(7260, "succeeded-hour"), BoundCompletionGraceSeconds),
		},
		{
			name:       "grace floor while shortening",
			policy:     weekAndHour,
			facts:      job("default", policyTTL(604800)),
			completion: finishedAgo(ResultSucceeded, 2*time.Hour),
			want:       bounded(shortened(7260, "succeeded-hour"), BoundCompletionGraceSeconds),
		},
		{
			name:       "grace floor never raises an existing TTL",
			policy:     weekAndHour,
			facts:      job("default", policyTTL(3600)),
			completion: finishedAgo(ResultSucceeded, 2*time.Hour),
			want:       bounded(unchanged("succeeded-hour"), BoundCompletionGraceSeconds),
		},
		{
			name:       "grace floor beats maxSeconds",
			policy:     "ttl: {maxSeconds: 3600, rules: [{name: day, kinds: [Job], when: Finished, ttlSecondsAfterFinished: 86400}]}",
			facts:      job("default"),
			completion: finishedAgo(ResultFailed, 2*time.Hour),
			want:       bounded(set(7260, "day"), BoundCompletionGraceSeconds),
		},
		{
			name:       "grace floor counts a started second as a whole one",
			policy:     "ttl: {rules: [{name: now, kinds: [Task], when: Finished, ttlSecondsAfterFinished: 0}]}",
			facts:      task("default"),
			completion: finishedAgo(ResultFailed, 1500*time.Millisecond),
			want:       bounded(set(62, "now"), BoundCompletionGraceSeconds),
		},
		{
			// Not late: the TTL counts from the finish time, still ahead.
			name:       "no grace floor with a finish time in the future (clock skew)",
			policy:     "ttl: {rules: [{name: now, kinds: [Task], when: Finished, ttlSecondsAfterFinished: 0}]}",
			facts:      task("default"),
			completion: finishedAgo(ResultFailed, -time.Minute),
			want:       set(0, "now"),
		},
		{
			name:       "no grace floor for an on-time decision",
			policy:     "ttl: {rules: [{name: quick, kinds: [Job], when: Succeeded, ttlSecondsAfterFinished: 5}]}",
			facts:      job("default"),
			completion: finishedAgo(ResultSucceeded, time.Second),
			want:       set(5, "quick"),
		},
		{
			name:       "grace floor of 0",
			policy:     "ttl: {completionGraceSeconds: 0, rules: [{name: now, kinds: [Task], when: Finished, ttlSecondsAfterFinished: 0}]}",
			facts:      task("default"),
			completion: finishedAgo(ResultFailed, 0),
			want:       set(0, "now"),
		},
		{
			name:       "an unknown finish time keeps the object as long as a TTL can",
			policy:     weekAndHour,
			facts:      job("default"),
			completion: Completion{Result: ResultFailed, Now: now},
			want:       bounded(set(math.MaxInt32, "failed-week"), BoundCompletionGraceSeconds),
		},
		{
			name:       "a rule above the grace floor is untouched",
			policy:     weekAndHour,
			facts:      job("default"),
			completion: succeeded,
			want:       set(3600, "succeeded-hour"),
		},
		{
			name:       "explicit TTL is left alone",
			policy:     weekAndHour,
			facts:      job("default", userTTL(604800)),
			completion: succeeded,
			want:       explicit,
		},
		{
			name:       "explicit: Override shortens the author's TTL",
			policy:     "ttl:\n  explicit: Override\n" + weekAndHour[len("\nttl:\n"):],
			facts:      job("default", userTTL(604800)),
			completion: succeeded,
			want:       shortened(3600, "succeeded-hour"),
		},
		{
			name:       "explicit: Override never raises the author's TTL",
			policy:     "ttl:\n  explicit: Override\n" + weekAndHour[len("\nttl:\n"):],
			facts:      job("default", userTTL(60)),
			completion: failed,
			want:       unchanged("failed-week"),
		},
		{
			name:       "hook floor at completion",
			policy:     "ttl: {rules: [{name: fast, kinds: [Job], when: Finished, ttlSecondsAfterFinished: 60}]}",
			facts:      job("default", policyTTL(604800), annotations("helm.sh/hook", "pre-upgrade", AnnotationTTLSource, TTLSourcePolicy)),
			completion: succeeded,
			want:       bounded(shortened(3600, "fast"), BoundHookFloorSeconds),
		},
		{
			name:       "minSeconds at completion",
			policy:     "ttl: {minSeconds: 1800, rules: [{name: fast, kinds: [Job], when: Finished, ttlSecondsAfterFinished: 60}]}",
			facts:      job("default", policyTTL(604800)),
			completion: succeeded,
			want:       bounded(shortened(1800, "fast"), BoundMinSeconds),
		},
		{
			name:       "exempt at completion",
			policy:     weekAndHour,
			facts:      job("default", nsLabels("taskgate.dev/policy", "disabled")),
			completion: failed,
			want:       exempt(ExemptNamespaceOptOut),
		},
		{
			name: "an operator Job whose opt-in rule is for the other outcome is not exempt",
			policy: `
ttl:
  rules:
  - {name: operator-successes, kinds: [Job], when: Succeeded, ttlSecondsAfterFinished: 600, includeOperatorJobs: true}`,
			facts:      job("default", owner("Workflow")),
			completion: failed,
			want:       noRule,
		},
		{
			name:       "an operator Job with no opt-in rule is exempt at completion",
			policy:     weekAndHour,
			facts:      job("default", owner("Workflow")),
			completion: failed,
			want:       exempt(ExemptOperatorJob),
		},
		{
			name:       "audit mode reports the shortening",
			policy:     "mode: audit\n" + weekAndHour,
			facts:      job("default", policyTTL(604800)),
			completion: succeeded,
			want:       audited(shortened(3600, "succeeded-hour")),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := load(t, tt.policy).CompletionTTL(tt.facts, tt.completion)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("CompletionTTL:\n got %s\nwant %s", show(got), show(tt.want))
			}
		})
	}
}

// TestCreationCoversCompletion checks the invariant the design rests on:
// for any facts, the TTL written at creation is at least the TTL any
// completion could want, so the reconciler never needs to raise it.
func TestCreationCoversCompletion(t *testing.T) {
	p := load(t, `
ttl:
  minSeconds: 120
  maxSeconds: 1209600
  rules:
  - {name: quick, kinds: [Task], selector: {matchLabels: {tier: quick}}, when: Created, ttlSecondsAfterFinished: 10}
  - {name: teams, kinds: [Job], namespaces: ["team-*"], when: Finished, ttlSecondsAfterFinished: 7200}
  - {name: failed-month, kinds: [Job, Task], when: Failed, ttlSecondsAfterFinished: 2592000}
  - {name: succeeded-hour, kinds: [Job, Task], when: Succeeded, ttlSecondsAfterFinished: 3600}
  - {name: ops, kinds: [Job], when: Created, ttlSecondsAfterFinished: 900, includeOperatorJobs: true}
`)
	now := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	for _, f := range []ObjectFacts{
		job("default"), job("team-a"), task("default"), task("default", objLabels("tier", "quick")),
		job("default", owner("Workflow")), job("team-b", annotations("helm.sh/hook", "test")),
	} {
		created := p.CreationTTL(f)
		if created.TTL == nil {
			t.Errorf("%+v: no creation TTL (%s)", f, show(created))
			continue
		}
		f.TTL, f.Annotations = created.TTL, map[string]string{AnnotationTTLSource: TTLSourcePolicy}
		for _, r := range []Result{ResultSucceeded, ResultFailed} {
			d := p.CompletionTTL(f, Completion{Result: r, FinishedAt: now, Now: now})
			if d.Outcome != OutcomeShortened && d.Outcome != OutcomeUnchanged {
				t.Errorf("%+v %s: completion %s would not only shorten %d", f, r, show(d), *created.TTL)
			}
		}
	}
}

func TestDecidesBy(t *testing.T) {
	for annotation, want := range map[string]bool{
		AnnotationTTLSource:       true,
		AnnotationDecision:        false,
		"helm.sh/hook":            true,
		"argocd.argoproj.io/hook": true,
		"helm.sh/hook-weight":     false,
		"kubectl.kubernetes.io/last-applied-configuration": false,
		"team":              false,
		"taskgate.dev":      false,
		"xtaskgate.dev/ttl": false,
	} {
		if got := DecidesBy(annotation); got != want {
			t.Errorf("DecidesBy(%q) = %t, want %t", annotation, got, want)
		}
	}
}
