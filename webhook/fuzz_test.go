package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	kjson "sigs.k8s.io/json"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/facts"
	"github.com/taskgate/taskgate/inherit"
	"github.com/taskgate/taskgate/policy"
)

// The admission fuzzers feed each handler arbitrary objects, as
// AdmissionReviews, through the same entry points the manager registers.
// Every answer must be an allowance or a 4xx denial with a message, never a
// panic or a 5xx; an allowance's patch must apply to the object it was
// computed for and leave an object that still decodes; and the mutators
// must be idempotent: a second pass over their own output patches nothing,
// as the apiserver's reinvocation expects.
//
// They also assert security properties: a Task admitted runs its App's
// ServiceAccount, and the pod of an admitted Task or App meets the Pod
// Security level in force, as PodSecurity admission's own Evaluator judges
// it.

var jobSeeds = []string{
	`{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"nightly","namespace":"shop","labels":{"taskgate.dev/app":"web"}},"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"main","image":"x"}]}}}}`,
	`{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j","labels":{"taskgate.dev/app":"web"}},"spec":{"ttlSecondsAfterFinished":5,"template":{"spec":{"containers":[{"name":"a","image":"x","env":[{"name":"LOG_LEVEL","value":"debug"}]},{"name":"b","image":"y"}]}}}}`,
	`{"metadata":{"name":"plain"},"spec":{"template":{"spec":{"containers":[{"name":"main","image":"x"}]}}}}`,
	`{"metadata":{"name":"opted-out","labels":{"taskgate.dev/ttl":"off"}},"spec":{}}`,
	`{"metadata":{"annotations":{"a":"b"},"labels":{"taskgate.dev/app":"web"}},"spec":{"template":{"metadata":{"labels":{"x":"y"}},"spec":{"volumes":[],"containers":[{"name":"m","image":"x","envFrom":[],"volumeMounts":[]}]}}}}`,
	`{}`, `null`, `[]`, `{"spec":1}`, `{`,
}

var taskSeeds = []string{
	`{"apiVersion":"taskgate.dev/v1alpha1","kind":"Task","metadata":{"name":"migrate","namespace":"shop"},"spec":{"appRef":{"name":"web"},"command":"rake db:migrate"}}`,
	`{"metadata":{"name":"t","uid":"u"},"spec":{"appRef":{"name":"web"},"memory":"1Gi","cpu":"500m","disk":"2Gi","timeout":"1h","env":[{"name":"A","value":"b"}],"ttlSecondsAfterFinished":60}}`,
	`{"metadata":{"name":"t"},"spec":{"appRef":{"name":"web"},"resolved":{"image":"forged","command":["sh"]}}}`,
	`{"metadata":{"name":"t"},"spec":{"appRef":{"name":"missing"}}}`,
	`{"metadata":{"name":"t"},"spec":{"appRef":{"name":"web"},"memory":"1Ti"}}`,
	`{"metadata":{"name":"t"},"spec":{"appRef":{"name":"web"},"desiredState":"Cancelled"}}`,
	`{}`, `null`, `{"spec":{"appRef":{}}}`, `{`,
}

// fuzzDeps are benchDeps, with an App getter that knows only "web", so a
// Task naming anything else meets the unknown-App denial.
func fuzzDeps(t testing.TB) (facts.PolicySource, AppGetter, facts.NamespaceLabels) {
	pol, apps, namespaces := benchDeps(t)
	only := func(ctx context.Context, namespace, name string) (*v1alpha1.App, error) {
		if name != "web" {
			return nil, nil
		}
		return apps(ctx, namespace, name)
	}
	return pol, only, namespaces
}

func createReview(kind string, raw []byte) admission.Request {
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: "fuzz", Operation: admissionv1.Create, Namespace: "shop",
		Kind: reviewKind(kind), Object: runtime.RawExtension{Raw: raw},
	}}
}

// reviewKind is the kind the API server names in a review of kind.
func reviewKind(kind string) metav1.GroupVersionKind {
	switch kind {
	case "Job":
		return jobKind
	case "Task":
		return taskKind
	case "App":
		return metav1.GroupVersionKind{Group: "taskgate.dev", Version: "v1alpha1", Kind: kind}
	}
	return metav1.GroupVersionKind{Version: "v1", Kind: kind}
}

// checkAnswer fails on a response that is neither an allowance nor a
// client error with a message.
func checkAnswer(t *testing.T, resp admission.Response) {
	t.Helper()
	if resp.Allowed {
		return
	}
	if resp.Result == nil || resp.Result.Message == "" {
		t.Fatalf("denied without a message: %+v", resp)
	}
	if code := resp.Result.Code; code < http.StatusBadRequest || code >= http.StatusInternalServerError {
		t.Fatalf("denied with code %d, want 4xx: %s", code, resp.Result.Message)
	}
}

// applyResponse applies resp's patch to raw and returns the result.
func applyResponse(t *testing.T, raw []byte, resp admission.Response) []byte {
	t.Helper()
	ops, err := json.Marshal(resp.Patches)
	if err != nil {
		t.Fatal(err)
	}
	p, err := jsonpatch.DecodePatch(ops)
	if err != nil {
		t.Fatalf("decoding the patch: %v\npatch: %s", err, ops)
	}
	out, err := p.Apply(raw)
	if err != nil {
		t.Fatalf("applying the patch: %v\nobject: %s\npatch:  %s", err, raw, ops)
	}
	return out
}

// canonical re-encodes raw the way the apiserver sends an object: decoded
// into its type and encoded again. ok is false when raw is not that type;
// the handler has already been asked about raw itself.
func canonical[T any](raw []byte) ([]byte, bool) {
	obj := new(T)
	if err := json.Unmarshal(raw, obj); err != nil {
		return nil, false
	}
	out, err := json.Marshal(obj)
	return out, err == nil
}

// fuzzMutator checks one mutating handler's properties on raw, decoded as T.
func fuzzMutator[T any](t *testing.T, h admission.Handler, kind string, raw []byte) {
	ctx := context.Background()
	checkAnswer(t, h.Handle(ctx, createReview(kind, raw)))
	doc, ok := canonical[T](raw)
	if !ok {
		return
	}
	resp := h.Handle(ctx, createReview(kind, doc))
	checkAnswer(t, resp)
	if !resp.Allowed || len(resp.Patches) == 0 {
		return
	}
	patched := applyResponse(t, doc, resp)
	if err := json.Unmarshal(patched, new(T)); err != nil {
		t.Fatalf("the patched object does not decode: %v\n%s", err, patched)
	}
	again := h.Handle(ctx, createReview(kind, patched))
	if !again.Allowed || len(again.Patches) != 0 {
		t.Fatalf("a second pass changed the object again: allowed=%v patches=%v\nfirst: %s", again.Allowed, again.Patches, patched)
	}
}

func FuzzJobDefaulter(f *testing.F) {
	for _, s := range jobSeeds {
		f.Add([]byte(s))
	}
	pol, apps, namespaces := fuzzDeps(f)
	h := &JobDefaulter{Policy: pol, Apps: apps, Namespaces: namespaces}
	f.Fuzz(func(t *testing.T, raw []byte) { fuzzMutator[batchv1.Job](t, h, "Job", raw) })
}

func FuzzTaskDefaulter(f *testing.F) {
	for _, s := range taskSeeds {
		f.Add([]byte(s))
	}
	pol, apps, _ := fuzzDeps(f)
	h := &TaskDefaulter{Policy: pol, Apps: apps, Namespaces: restrictedNamespace}
	app, err := apps(context.Background(), "shop", "web")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fuzzMutator[v1alpha1.Task](t, h, "Task", raw)
		doc, ok := canonical[v1alpha1.Task](raw)
		if !ok {
			return
		}
		resp := h.Handle(context.Background(), createReview("Task", doc))
		if !resp.Allowed || len(resp.Patches) == 0 {
			return
		}
		task := &v1alpha1.Task{}
		if err := decodeAsAdmitted(applyResponse(t, doc, resp), task); err != nil || task.Spec.Resolved == nil {
			t.Fatalf("an admitted Task without spec.resolved: %v", err)
		}
		if sa := task.Spec.Resolved.ServiceAccountName; sa != app.Spec.ServiceAccountName {
			t.Fatalf("an admitted Task runs as ServiceAccount %q, its App as %q", sa, app.Spec.ServiceAccountName)
		}
		assertMeetsPodSecurity(t, psaapi.LevelRestricted, task.Spec.Resolved)
	})
}

// restrictedNamespace labels every namespace restricted, the strictest
// Pod Security level.
func restrictedNamespace(context.Context, string) (map[string]string, error) {
	return map[string]string{psaapi.EnforceLevelLabel: string(psaapi.LevelRestricted)}, nil
}

// assertMeetsPodSecurity fails unless the pod of run meets level, as
// PodSecurity admission's Evaluator judges it.
func assertMeetsPodSecurity(t *testing.T, level psaapi.Level, run *v1alpha1.ResolvedRun) {
	t.Helper()
	evaluator, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	meta, spec := inherit.RunPod(run)
	lv := psaapi.LevelVersion{Level: level, Version: psaapi.LatestVersion()}
	if r := psapolicy.AggregateCheckResults(evaluator.EvaluatePod(lv, meta, spec)); !r.Allowed {
		t.Fatalf("admitted, yet the pod violates PodSecurity %q: %s", lv, r.ForbiddenDetail())
	}
}

// fuzzValidator sends raw as a CREATE and, against each seed as the old
// object, as an UPDATE, through the typed webhook the manager registers.
// admitted, when set, checks each object a CREATE allows.
func fuzzValidator(f *testing.F, h *admission.Webhook, kind string, seeds []string, admitted func(*testing.T, []byte)) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ctx := context.Background()
		resp := h.Handle(ctx, createReview(kind, raw))
		checkAnswer(t, resp)
		if resp.Allowed && admitted != nil {
			admitted(t, raw)
		}
		for _, old := range seeds[:2] {
			req := createReview(kind, raw)
			req.Operation = admissionv1.Update
			req.OldObject = runtime.RawExtension{Raw: []byte(old)}
			checkAnswer(t, h.Handle(ctx, req))
		}
	})
}

func fuzzScheme(t testing.TB) *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func FuzzTaskValidator(f *testing.F) {
	pol, apps, _ := fuzzDeps(f)
	fuzzValidator(f, admission.WithValidator(fuzzScheme(f), &TaskValidator{Policy: pol, Apps: apps, Namespaces: restrictedNamespace}), "Task", taskSeeds,
		func(t *testing.T, raw []byte) {
			task := &v1alpha1.Task{}
			if err := decodeAsAdmitted(raw, task); err != nil || task.Spec.Resolved == nil {
				t.Fatalf("admitted a Task without spec.resolved: %v", err)
			}
			assertMeetsPodSecurity(t, psaapi.LevelRestricted, task.Spec.Resolved)
		})
}

func FuzzAppValidator(f *testing.F) {
	pol, _, _ := fuzzDeps(f)
	seeds := []string{
		`{"apiVersion":"taskgate.dev/v1alpha1","kind":"App","metadata":{"name":"web","namespace":"shop"},"spec":{"image":"registry.example.com/shop/web:v1","args":["puma"]}}`,
		`{"apiVersion":"taskgate.dev/v1alpha1","kind":"App","metadata":{"name":"web"},"spec":{"image":"x","securityContext":{"privileged":true},"serviceBindings":[{"name":"db","secretName":"s"}],"env":[{"name":"A","valueFrom":{"secretKeyRef":{"name":"s","key":"k"}}}]}}`,
		`{"spec":{"image":"UPPER/case:tag"}}`, `{"spec":{"image":"a@sha256:0"}}`, `{}`, `null`, `{`,
		`{"metadata":{"name":"web"},"spec":{"image":"x","securityContext":{"capabilities":{"add":["SYS_ADMIN"]},"seccompProfile":{"type":"Unconfined"}}}}`,
		`{"metadata":{"name":"web"},"spec":{"image":"x","podSecurityContext":{"runAsUser":0,"sysctls":[{"name":"kernel.msgmax","value":"1"}]},"securityContext":{"procMount":"Unmasked"}}}`,
		`{"metadata":{"name":"web"},"spec":{"image":"x","podSecurityContext":{"runAsNonRoot":true,"seccompProfile":{"type":"RuntimeDefault"}},"securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"],"add":["NET_BIND_SERVICE"]}}}}`,
	}
	fuzzValidator(f, admission.WithValidator(fuzzScheme(f), &AppValidator{Policy: pol, Namespaces: restrictedNamespace}), "App", seeds,
		func(t *testing.T, raw []byte) {
			app := &v1alpha1.App{}
			if err := decodeAsAdmitted(raw, app); err != nil {
				t.Fatalf("admitted an App that does not decode: %v", err)
			}
			// What any Task of the App would run.
			run := inherit.ResolveTask(app, &v1alpha1.Task{Spec: v1alpha1.TaskSpec{Command: "true"}}, pol.Current()).Resolved
			if run.ServiceAccountName != app.Spec.ServiceAccountName {
				t.Fatalf("the App's Tasks run as ServiceAccount %q, the App names %q", run.ServiceAccountName, app.Spec.ServiceAccountName)
			}
			assertMeetsPodSecurity(t, psaapi.LevelRestricted, run)
		})
}

func FuzzPolicyConfigMapValidator(f *testing.F) {
	seeds := []string{
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"taskgate-policy","namespace":"taskgate-system"},"data":{"policy.yaml":"apiVersion: taskgate.dev/v1alpha1\nkind: Policy\n"}}`,
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"taskgate-policy"},"data":{"policy.yaml":"apiVersion: taskgate.dev/v1alpha1\nkind: Policy\nttl:\n  rules:\n  - {name: r, kinds: [Job], when: Failed, ttlSecondsAfterFinished: 60}\n"}}`,
		`{"data":{"policy.yaml":"kind: Policy\nttl: {rules: [{name: x, ttlSecondsAfterFinished: -1}]}"}}`,
		`{"data":{"other":"x"}}`, `{"data":{"policy.yaml":"{"}}`, `{}`, `null`, `{`,
	}
	fuzzValidator(f, admission.WithValidator(fuzzScheme(f), &PolicyConfigMapValidator{Namespace: "taskgate-system", Name: policy.ConfigMapName}), "ConfigMap", seeds, nil)
}

// decodeAsAdmitted decodes an object as the webhooks and the API server
// do: field names match case-sensitively. encoding/json would read
// "SeCuritYConteXt" as securityContext, which the webhook never saw, and
// hold the webhook to a field it was not sent.
func decodeAsAdmitted(raw []byte, obj any) error {
	return kjson.UnmarshalCaseSensitivePreserveInts(raw, obj)
}
