package chart

import (
	"reflect"
	"slices"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/taskgate/taskgate/jobadmission"
)

// TestJobAdmission checks what jobAdmission renders: with policy, the
// generated admission policies as package jobadmission builds them, bound
// to the params in the release namespace and scoped as the Job webhook is,
// which then sees only Jobs labelled with their App; with webhook, none of
// that; and auto resolving by the API versions the cluster serves.
func TestJobAdmission(t *testing.T) {
	const mapAPI = "admissionregistration.k8s.io/v1/MutatingAdmissionPolicy"
	for _, tc := range []struct {
		name   string
		args   []string
		policy bool
	}{
		{"auto on a cluster without the API", nil, false},
		{"auto on a cluster with it", []string{"--api-versions", mapAPI}, true},
		{"policy", []string{"--set", "jobAdmission=policy"}, true},
		{"webhook on a cluster with it", []string{"--set", "jobAdmission=webhook", "--api-versions", mapAPI}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := render(t, tc.args...)
			mode := "webhook"
			if tc.policy {
				mode = "policy"
			}
			args := field[[]any](find(t, objs, "Deployment", fullname), "spec", "template", "spec", "containers", 0, "args")
			if !slices.Contains(args, any("--job-admission="+mode)) {
				t.Errorf("the manager's args %v lack --job-admission=%s", args, mode)
			}
			var selector any
			for _, w := range field[[]any](find(t, objs, "MutatingWebhookConfiguration", fullname), "webhooks") {
				if field[string](w, "name") == "jobs.taskgate.dev" {
					selector = field[any](w, "objectSelector", "matchExpressions")
				}
			}
			wantSelector := []any{map[string]any{"key": "taskgate.dev/policy", "operator": "NotIn", "values": []any{"disabled"}}}
			if tc.policy {
				wantSelector = append(wantSelector, map[string]any{"key": "taskgate.dev/app", "operator": "Exists"})
			}
			if !reflect.DeepEqual(selector, any(wantSelector)) {
				t.Errorf("the Job webhook's objectSelector expressions %v, want %v", selector, wantSelector)
			}

			kinds := []string{"MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
			if !tc.policy {
				for _, k := range kinds {
					if n := len(all(objs, k)); n != 0 {
						t.Errorf("%d %s rendered, want none", n, k)
					}
				}
				return
			}
			name := fullname + "-" + jobadmission.Name
			for kind, built := range map[string]any{
				"MutatingAdmissionPolicy":   jobadmission.MutatingPolicy(),
				"ValidatingAdmissionPolicy": jobadmission.ValidatingPolicy(),
			} {
				got := find(t, objs, kind, name)
				b, err := yaml.Marshal(built)
				if err != nil {
					t.Fatal(err)
				}
				var want map[string]any
				if err := yaml.Unmarshal(b, &want); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got["spec"], want["spec"]) {
					t.Errorf("%s's spec is not package jobadmission's; run make generate", kind)
				}
				binding := find(t, objs, kind+"Binding", name)
				if got := field[string](binding, "spec", "policyName"); got != name {
					t.Errorf("%sBinding binds %q, want %q", kind, got, name)
				}
				wantRef := map[string]any{"name": "taskgate-job-ttl", "namespace": namespace, "parameterNotFoundAction": "Allow"}
				if kind == "ValidatingAdmissionPolicy" {
					// Only params that may warn.
					delete(wantRef, "name")
					wantRef["selector"] = map[string]any{"matchLabels": map[string]any{jobadmission.WarningsLabel: "true"}}
				}
				if got := field[map[string]any](binding, "spec", "paramRef"); !reflect.DeepEqual(got, wantRef) {
					t.Errorf("%sBinding's paramRef %v, want %v", kind, got, wantRef)
				}
				if got := field[any](binding, "spec", "matchResources", "objectSelector", "matchExpressions"); !reflect.DeepEqual(got, any(wantSelector[:1])) {
					t.Errorf("%sBinding's objectSelector %v, want %v", kind, got, wantSelector[:1])
				}
				nsSel := field[[]any](binding, "spec", "matchResources", "namespaceSelector", "matchExpressions")
				wantNS := map[string]any{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": []any{"kube-system", "kube-node-lease", namespace}}
				if !slices.ContainsFunc(nsSel, func(e any) bool { return reflect.DeepEqual(e, any(wantNS)) }) {
					t.Errorf("%sBinding's namespaceSelector %v lacks %v", kind, nsSel, wantNS)
				}
			}
			if got := field[[]any](find(t, objs, "ValidatingAdmissionPolicyBinding", name), "spec", "validationActions"); !reflect.DeepEqual(got, []any{"Warn"}) {
				t.Errorf("the warnings' binding has validationActions %v, want [Warn]", got)
			}
		})
	}
}
