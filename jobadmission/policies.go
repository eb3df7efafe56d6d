package jobadmission

import (
	"fmt"
	"strconv"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/patch"
	"github.com/taskgate/taskgate/policy"
)

// Name is the name the chart gives both policies and their bindings,
// after the release's own name.
const Name = "job-ttl"

// matchJobCreates is the one request both policies see: a Job's create.
var matchJobCreates = &admissionregistrationv1.MatchResources{
	ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
		RuleWithOperations: admissionregistrationv1.RuleWithOperations{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
			Rule: admissionregistrationv1.Rule{
				APIGroups: []string{"batch"}, APIVersions: []string{"v1"}, Resources: []string{"jobs"},
				Scope: ptr.To(admissionregistrationv1.NamespacedScope),
			},
		},
	}},
}

var paramKind = &admissionregistrationv1.ParamKind{APIVersion: v1alpha1.GroupVersion.String(), Kind: "JobTTLParams"}

// MutatingPolicy sets a new Job's TTL and its decision annotations as the
// Job webhook does (patch.JobTTL of policy's CreationTTL), and removes a
// completion-decided label the Job was created with (patch.JobUndecided).
// It fails open, as the webhook does: a Job must never be refused for its
// TTL.
func MutatingPolicy() *admissionregistrationv1.MutatingAdmissionPolicy {
	return &admissionregistrationv1.MutatingAdmissionPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionregistrationv1.SchemeGroupVersion.String(), Kind: "MutatingAdmissionPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: Name},
		Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{
			ParamKind:        paramKind,
			MatchConstraints: matchJobCreates.DeepCopy(),
			Variables:        decisionVariables(),
			// One mutation: kube-apiserver converts the Job for each.
			Mutations: []admissionregistrationv1.Mutation{{
				PatchType: admissionregistrationv1.PatchTypeJSONPatch,
				JSONPatch: &admissionregistrationv1.JSONPatch{Expression: ttlPatch() + " +\n" + undecidedPatch()},
			}},
			FailurePolicy: ptr.To(admissionregistrationv1.Ignore),
			// Never, where the Job webhook is IfNeeded: kube-apiserver
			// invokes an IfNeeded policy again after its own mutation,
			// whether or not anything changed the Job since, which doubled
			// what the policy cost every Job create (docs/performance.md,
			// run 27). So the decision is made on the Job as its author
			// sent it, before mutating webhooks.
			ReinvocationPolicy: admissionregistrationv1.NeverReinvocationPolicy,
		},
	}
}

// ValidatingPolicy gives the warnings the Job webhook gives: in audit
// mode, what the mutating policy would have set; with ttl.explicit:
// Override, that it replaced the author's TTL. It sees the Job after the
// mutating policy, so it decides again from the Job as admitted: audit
// mode changes nothing that decision reads, and a replaced TTL shows in
// the decision annotation the mutating policy wrote. Its audit annotation
// puts each decision the policies made in the audit log. As a Job can
// warn only in those two modes, its binding selects the params by
// WarningsLabel, which Params' labels carry only then: in the others
// kube-apiserver finds no params and skips the policy, which would cost
// every Job create a second conversion and decision.
func ValidatingPolicy() *admissionregistrationv1.ValidatingAdmissionPolicy {
	madeHere := variable("madeHere", fmt.Sprintf(`variables.audit ? variables.decides : (size(variables.best) > 0 && !variables.exempt &&
  has(object.spec.ttlSecondsAfterFinished) && object.spec.ttlSecondsAfterFinished == variables.outcome.ttlSecondsAfterFinished &&
  %s && %s in [variables.outcome.set, variables.outcome.replace])`,
		annotationIs(policy.AnnotationTTLSource, strconv.Quote(policy.TTLSourcePolicy)), annotation(policy.AnnotationDecision)))
	warns := variable("warns", fmt.Sprintf(`variables.madeHere && (variables.audit || %s == variables.outcome.replace)`, annotation(policy.AnnotationDecision)))
	return &admissionregistrationv1.ValidatingAdmissionPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionregistrationv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: Name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			ParamKind:        paramKind,
			MatchConstraints: matchJobCreates.DeepCopy(),
			Variables:        append(decisionVariables(), madeHere, warns),
			Validations: []admissionregistrationv1.Validation{{
				Expression: "!variables.warns",
				// Admitted, a replaced TTL is policy's: the message is the
				// replacement's, which the Job's annotation says it was.
				MessageExpression: `"taskgate: " + (variables.audit ? variables.message : variables.outcome.replace)`,
			}},
			AuditAnnotations: []admissionregistrationv1.AuditAnnotation{{
				Key:             "decision",
				ValueExpression: fmt.Sprintf(`variables.madeHere ? string(%s) : ""`, annotation(policy.AnnotationDecision)),
			}},
			FailurePolicy: ptr.To(admissionregistrationv1.Ignore),
		},
	}
}

// inNamespaces is whether the request's namespace is one the
// v1alpha1.NamespaceMatch m matches: a regular expression is compiled, on
// each evaluation, only for a glob no name or prefix could stand for.
func inNamespaces(m string) string {
	return fmt.Sprintf(`(has(%[1]s.names) && request.namespace in %[1]s.names ||
  has(%[1]s.prefixes) && %[1]s.prefixes.exists(p, request.namespace.startsWith(p)) ||
  has(%[1]s.patterns) && %[1]s.patterns.exists(re, request.namespace.matches(re)))`, m)
}

// decisionVariables decide a Job's creation TTL as policy.CreationTTL
// does, from the Job, its namespace and the params: variables.decides says
// whether a TTL is set, variables.outcome what, and variables.message the
// decision in words.
func decisionVariables() []admissionregistrationv1.Variable {
	// holds is a label requirement q on the label map m.
	holds := func(m string) string {
		return fmt.Sprintf(`(q.operator == "Exists" ? q.key in %[1]s : q.operator == "DoesNotExist" ? !(q.key in %[1]s) :
    (q.key in %[1]s && has(q.values) && %[1]s[q.key] in q.values) == (q.operator == "In"))`, m)
	}
	hooks := make([]string, 0, 2)
	for _, k := range policy.HookAnnotations() {
		hooks = append(hooks, strconv.Quote(k)+" in variables.annotations")
	}
	return []admissionregistrationv1.Variable{
		variable("labels", `has(object.metadata.labels) ? object.metadata.labels : {}`),
		variable("annotations", `has(object.metadata.annotations) ? object.metadata.annotations : {}`),
		variable("namespaceLabels", `namespaceObject != null && has(namespaceObject.metadata.labels) ? namespaceObject.metadata.labels : {}`),
		variable("audit", `has(params.spec.audit) && params.spec.audit`),
		// policy.Exemption: a system, the manager's or an exempt
		// namespace; the opt-out label on the Job or its namespace.
		// Operator Jobs are exempt when no rule includes them, which the
		// rules' own matching decides below.
		variable("exempt", `has(params.spec.exemptNamespaces) && `+inNamespaces("params.spec.exemptNamespaces")+` ||
  (params.spec.optOutLabel in variables.labels && variables.labels[params.spec.optOutLabel] == "disabled") ||
  (params.spec.optOutLabel in variables.namespaceLabels && variables.namespaceLabels[params.spec.optOutLabel] == "disabled")`),
		variable("operatorJob", `has(object.metadata.ownerReferences) &&
  object.metadata.ownerReferences.exists(r, has(r.controller) && r.controller && r.kind != "CronJob")`),
		// The author's TTL: ttl.explicit: Respect keeps it, Override
		// replaces it, and says so.
		variable("authorTTL", fmt.Sprintf(`has(object.spec.ttlSecondsAfterFinished) && !%s`,
			annotationIs(policy.AnnotationTTLSource, strconv.Quote(policy.TTLSourcePolicy)))),
		variable("explicit", `variables.authorTTL && !(has(params.spec.overrideExplicit) && params.spec.overrideExplicit)`),
		// The rules that apply, in the policy's order.
		variable("matching", fmt.Sprintf(`!has(params.spec.rules) ? [] : params.spec.rules.filter(r,
  (has(r.includeOperatorJobs) && r.includeOperatorJobs || !variables.operatorJob) &&
  (!has(r.namespaces) || %s) &&
  (!has(r.namespaceSelector) || r.namespaceSelector.all(q, %s)) &&
  (!has(r.selector) || r.selector.all(q, %s)))`, inNamespaces("r.namespaces"), holds("variables.namespaceLabels"), holds("variables.labels"))),
		variable("created", `variables.matching.filter(r, r.when == "Created")`),
		variable("succeeded", `variables.matching.filter(r, r.when in ["Succeeded", "Finished"]) + variables.created`),
		variable("failed", `variables.matching.filter(r, r.when in ["Failed", "Finished"]) + variables.created`),
		// The first Created rule and the rules for success and failure:
		// the largest TTL wins, a tie goes to the earlier.
		variable("candidates", `(size(variables.created) > 0 ? [variables.created[0]] : []) +
  (size(variables.succeeded) > 0 ? [variables.succeeded[0]] : []) +
  (size(variables.failed) > 0 ? [variables.failed[0]] : [])`),
		variable("best", `variables.candidates.filter(c, variables.candidates.all(d, d.ttlSecondsAfterFinished <= c.ttlSecondsAfterFinished))`),
		variable("outcome", fmt.Sprintf(`%s ? variables.best[0].hook : variables.best[0].plain`, strings.Join(hooks, " || "))),
		variable("decides", `!variables.exempt && !variables.explicit && size(variables.best) > 0 &&
  !(has(object.spec.ttlSecondsAfterFinished) && object.spec.ttlSecondsAfterFinished == variables.outcome.ttlSecondsAfterFinished)`),
		variable("message", `variables.authorTTL ? variables.outcome.replace : variables.outcome.set`),
	}
}

// ttlPatch is patch.JobTTL's operations, in CEL, a list.
func ttlPatch() string {
	decision, source := strconv.Quote(policy.AnnotationDecision), strconv.Quote(policy.AnnotationTTLSource)
	return fmt.Sprintf(`(!variables.decides ? [] :
  (variables.audit ? [] : [JSONPatch{op: "add", path: "/spec/ttlSecondsAfterFinished", value: variables.outcome.ttlSecondsAfterFinished}]) +
  (has(object.metadata.annotations) ?
    [JSONPatch{op: "add", path: "/metadata/annotations/" + jsonpatch.escapeKey(%[1]s), value: variables.message}] +
      (variables.audit ? [] : [JSONPatch{op: "add", path: "/metadata/annotations/" + jsonpatch.escapeKey(%[2]s), value: %[3]s}]) :
    [JSONPatch{op: "add", path: "/metadata/annotations", value: variables.audit ? {%[1]s: string(variables.message)} : {%[1]s: string(variables.message), %[2]s: %[3]s}}]))`,
		decision, source, strconv.Quote(policy.TTLSourcePolicy))
}

// undecidedPatch is patch.JobUndecided's operation, in CEL, a list.
func undecidedPatch() string {
	label := strconv.Quote(v1alpha1.LabelCompletionDecided)
	return fmt.Sprintf(`(has(object.metadata.labels) && %s in object.metadata.labels ?
  [JSONPatch{op: "remove", path: %s}] : [])`, label, strconv.Quote("/metadata/labels/"+patch.EscapeToken(v1alpha1.LabelCompletionDecided)))
}

func variable(name, expression string) admissionregistrationv1.Variable {
	return admissionregistrationv1.Variable{Name: name, Expression: expression}
}

// annotation is the Job's annotation key, "" when it has none.
func annotation(key string) string {
	return fmt.Sprintf(`(%[1]s in variables.annotations ? variables.annotations[%[1]s] : "")`, strconv.Quote(key))
}

func annotationIs(key, value string) string {
	return fmt.Sprintf(`(%[1]s in variables.annotations && variables.annotations[%[1]s] == %[2]s)`, strconv.Quote(key), value)
}
