package inherit

import (
	"encoding/json"
	"testing"

	jsonpatch5 "github.com/evanphx/json-patch/v5"
	"gomodules.xyz/jsonpatch/v2"
	jsonpatch4 "gopkg.in/evanphx/json-patch.v4"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
	kjson "sigs.k8s.io/json"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/policy"
)

// FuzzJobInjection feeds JobInjection pod templates in any JSON the API
// server could send (seeds in testdata/fuzz/FuzzJobInjection) and checks that its operations apply, keep what the
// template had, inject the App, and leave nothing to do on a second run.
func FuzzJobInjection(f *testing.F) {
	app := jobApp()
	f.Fuzz(func(t *testing.T, doc []byte) {
		checkInjection(t, app, doc)
	})
}

// checkInjection runs the fuzz property on one template document. It
// skips documents the API server never sends, which Go and a JSON patch
// would read differently: ones that do not decode case-sensitively, have a
// duplicate key, or a null container.
func checkInjection(t *testing.T, app *v1alpha1.App, doc []byte) {
	t.Helper()
	before, ok := decodeTemplate(doc)
	if !ok {
		t.Skip("not a pod template the API server would send")
	}
	ops := JobInjection(app, before.DeepCopy(), "")
	if len(ops) == 0 {
		if len(before.Spec.Containers) > 0 {
			t.Fatalf("no operations for a template with containers: %s", doc)
		}
		return
	}
	out := applyOps(t, doc, ops)
	after, ok := decodeTemplate(out)
	if !ok {
		t.Fatalf("the patched template does not decode: %s", out)
	}
	if again := JobInjection(app, after.DeepCopy(), ""); len(again) != 0 {
		t.Fatalf("second run returned operations: %s\npatched: %s", toJSON(t, again), out)
	}

	// Kept: what the template had.
	for k, v := range before.Labels {
		if after.Labels[k] != v {
			t.Errorf("label %s changed from %q to %q", k, v, after.Labels[k])
		}
	}
	if !equality.Semantic.DeepEqual(before.Spec.Volumes, after.Spec.Volumes[:len(before.Spec.Volumes)]) {
		t.Errorf("volumes changed: %s", out)
	}
	pod := AppPod(app)
	for i, b := range before.Spec.Containers {
		a := after.Spec.Containers[i]
		if !equality.Semantic.DeepEqual(b.Env, a.Env[:len(b.Env)]) ||
			!equality.Semantic.DeepEqual(b.EnvFrom, a.EnvFrom[len(a.EnvFrom)-len(b.EnvFrom):]) ||
			!equality.Semantic.DeepEqual(b.VolumeMounts, a.VolumeMounts[:len(b.VolumeMounts)]) {
			t.Errorf("container %d: env, envFrom or volumeMounts changed: %s", i, out)
		}
		for _, l := range []struct{ before, after corev1.ResourceList }{
			{b.Resources.Requests, a.Resources.Requests}, {b.Resources.Limits, a.Resources.Limits},
		} {
			for name, q := range l.before {
				if got := l.after[name]; got.Cmp(q) != 0 {
					t.Errorf("container %d: resource %s changed from %s to %s", i, name, &q, &got)
				}
			}
		}
		// Injected: the App's env, wherever the Job had not set it.
		for _, v := range pod.Env {
			if envIndex(a.Env, v.Name) < 0 {
				t.Errorf("container %d lacks %s: %s", i, v.Name, out)
			}
		}
	}
	if _, ok := after.Labels[v1alpha1.LabelApp]; !ok {
		t.Errorf("no %s label: %s", v1alpha1.LabelApp, out)
	}
	assertNoMorePower(t, before, after)
}

// assertNoMorePower is the injection's security property: the Job's pod
// gets env, bindings (Secret volumes) and labels, and nothing that changes
// what it may do: not its ServiceAccount, security contexts, host
// namespaces or host paths.
func assertNoMorePower(t *testing.T, before, after *corev1.PodTemplateSpec) {
	t.Helper()
	b, a := before.Spec, after.Spec
	if a.ServiceAccountName != b.ServiceAccountName || a.HostNetwork != b.HostNetwork || a.HostPID != b.HostPID || a.HostIPC != b.HostIPC ||
		!equality.Semantic.DeepEqual(a.SecurityContext, b.SecurityContext) {
		t.Errorf("the pod's ServiceAccount, host namespaces or security context changed")
	}
	for i := range b.Containers {
		if !equality.Semantic.DeepEqual(a.Containers[i].SecurityContext, b.Containers[i].SecurityContext) {
			t.Errorf("container %d: security context changed", i)
		}
	}
	for _, v := range a.Volumes[len(b.Volumes):] {
		if v.Projected == nil || len(v.Projected.Sources) != 2 || v.Projected.Sources[0].Secret == nil || v.Projected.Sources[1].Secret == nil {
			t.Errorf("injected volume %s is not a projection of two Secrets: %+v", v.Name, v.VolumeSource)
		}
	}
}

// FuzzResolveTaskPodSecurity resolves Tasks of Apps with any security
// contexts (seeds in testdata/fuzz/FuzzResolveTaskPodSecurity) in
// namespaces of each Pod Security level, under policies of each level. Its
// security property: a Task ResolveTaskIn admits runs its App's
// ServiceAccount and security contexts (or the hardened defaults), and its
// pod meets the stricter level, as PodSecurity admission's own Evaluator
// judges it.
func FuzzResolveTaskPodSecurity(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"securityContext":{"capabilities":{"add":["SYS_ADMIN"]}}}`,
		`{"securityContext":{"privileged":true}}`,
		`{"podSecurityContext":{"runAsUser":0,"seccompProfile":{"type":"Unconfined"}},"securityContext":{"procMount":"Unmasked"}}`,
		`{"podSecurityContext":{"sysctls":[{"name":"kernel.msgmax","value":"1"}],"appArmorProfile":{"type":"Unconfined"}}}`,
		`{"securityContext":{"seLinuxOptions":{"type":"spc_t"},"windowsOptions":{"hostProcess":true}}}`,
		`{"podSecurityContext":{"runAsNonRoot":true,"seccompProfile":{"type":"RuntimeDefault"}},"securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"],"add":["NET_BIND_SERVICE"]}}}`,
	} {
		for _, levels := range []uint8{0, 1, 2, 5, 8} {
			f.Add([]byte(s), levels)
		}
	}
	evaluator, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		f.Fatal(err)
	}
	levels := []string{"privileged", "baseline", "restricted"}
	f.Fuzz(func(t *testing.T, doc []byte, pick uint8) {
		var spec struct {
			PodSecurityContext *corev1.PodSecurityContext `json:"podSecurityContext"`
			SecurityContext    *corev1.SecurityContext    `json:"securityContext"`
			ServiceAccountName string                     `json:"serviceAccountName"`
		}
		if _, err := kjson.UnmarshalStrict(doc, &spec); err != nil {
			t.Skip("not an App's security")
		}
		app := jobApp()
		app.Spec.PodSecurityContext, app.Spec.SecurityContext, app.Spec.ServiceAccountName = spec.PodSecurityContext, spec.SecurityContext, spec.ServiceAccountName
		nsLevel, policyLevel := levels[int(pick)%3], levels[int(pick)/3%3]
		p, err := policy.Load([]byte("apiVersion: taskgate.dev/v1alpha1\nkind: Policy\ntasks: {podSecurity: " + policyLevel + "}\n"))
		if err != nil {
			t.Fatal(err)
		}
		labels := map[string]string{psaapi.EnforceLevelLabel: nsLevel}
		task := &v1alpha1.Task{Spec: v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: app.Name}, Command: "true"}}
		res := ResolveTaskIn(app, task, p, labels)
		if len(res.Errors) > 0 {
			return
		}
		run := res.Resolved
		psc, sc := securityContexts(AppPod(app))
		if run.ServiceAccountName != app.Spec.ServiceAccountName || !equality.Semantic.DeepEqual(run.PodSecurityContext, psc) ||
			!equality.Semantic.DeepEqual(run.SecurityContext, sc) {
			t.Fatalf("the resolved ServiceAccount or security contexts are not the App's: %s", toJSON(t, run))
		}
		level := psaapi.Level(nsLevel)
		if psaapi.CompareLevels(psaapi.Level(policyLevel), level) > 0 {
			level = psaapi.Level(policyLevel)
		}
		meta, pod := RunPod(run)
		lv := psaapi.LevelVersion{Level: level, Version: psaapi.LatestVersion()}
		if r := psapolicy.AggregateCheckResults(evaluator.EvaluatePod(lv, meta, pod)); !r.Allowed {
			t.Fatalf("admitted at %s (namespace %s, policy %s), yet the pod violates it: %s", lv, nsLevel, policyLevel, r.ForbiddenDetail())
		}
	})
}

// decodeTemplate decodes doc as the API server decodes JSON:
// case-sensitively, and refusing duplicate keys.
func decodeTemplate(doc []byte) (*corev1.PodTemplateSpec, bool) {
	var tmpl corev1.PodTemplateSpec
	strict, err := kjson.UnmarshalStrict(doc, &tmpl, kjson.DisallowDuplicateFields)
	if err != nil || len(strict) > 0 {
		return nil, false
	}
	var generic struct {
		Spec struct {
			Containers []json.RawMessage `json:"containers"`
		} `json:"spec"`
	}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(doc, &generic); err != nil {
		return nil, false
	}
	for _, c := range generic.Spec.Containers {
		if string(c) == "null" {
			return nil, false
		}
	}
	return &tmpl, true
}

// applyOps applies ops to doc as the API server does (json-patch v4) and
// with json-patch v5, and checks that both give the same document.
func applyOps(t testing.TB, doc []byte, ops []jsonpatch.JsonPatchOperation) []byte {
	t.Helper()
	raw, err := json.Marshal(ops)
	if err != nil {
		t.Fatal(err)
	}
	p5, err := jsonpatch5.DecodePatch(raw)
	if err != nil {
		t.Fatalf("decode patch: %v", err)
	}
	out, err := p5.Apply(doc)
	if err != nil {
		t.Fatalf("apply (v5): %v\ndoc:   %s\npatch: %s", err, doc, raw)
	}
	p4, err := jsonpatch4.DecodePatch(raw)
	if err != nil {
		t.Fatalf("decode patch: %v", err)
	}
	out4, err := p4.Apply(doc)
	if err != nil {
		t.Fatalf("apply (v4): %v\ndoc:   %s\npatch: %s", err, doc, raw)
	}
	if !jsonpatch5.Equal(out, out4) {
		t.Fatalf("json-patch v4 and v5 disagree:\nv5: %s\nv4: %s", out, out4)
	}
	return out
}
