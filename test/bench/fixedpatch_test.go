package bench

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// The fixed-patch webhook's answer, applied to the bench's Job, makes the
// mutation waitForAdmission checks for: the creation TTL and the App's env.
func TestFixedPatchWebhookMakesThePolicysMutation(t *testing.T) {
	fixed, err := fixedPatch()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(patchWith(fixed))
	defer srv.Close()
	raw, err := json.Marshal(benchJob("shop", "report"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request:  &admissionv1.AdmissionRequest{UID: "0c1f", Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw}},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(srv.URL, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var review admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&review); err != nil {
		t.Fatal(err)
	}
	r := review.Response
	if review.Request != nil || r == nil || r.UID != "0c1f" || !r.Allowed || ptr.Deref(r.PatchType, "") != admissionv1.PatchTypeJSONPatch {
		t.Fatalf("review = %+v, want no request and an allowed response to 0c1f with a JSON patch", review)
	}
	p, err := jsonpatch.DecodePatch(r.Patch)
	if err != nil {
		t.Fatal(err)
	}
	patched, err := p.Apply(raw)
	if err != nil {
		t.Fatal(err)
	}
	var job batchv1.Job
	if err := json.Unmarshal(patched, &job); err != nil {
		t.Fatal(err)
	}
	if got := ptr.Deref(job.Spec.TTLSecondsAfterFinished, -1); got != creationTTL {
		t.Errorf("ttlSecondsAfterFinished = %d, want %d", got, creationTTL)
	}
	if got, want := job.Spec.Template.Spec.Containers[0].Env, benchApp("").Spec.Env; !reflect.DeepEqual(got, want) {
		t.Errorf("env = %v, want %v", got, want)
	}
}

func TestFixedPatchWebhookRefusesWhatIsNotAReview(t *testing.T) {
	srv := httptest.NewServer(patchWith([]byte("[]")))
	defer srv.Close()
	for _, body := range []string{"not json", `{"kind":"AdmissionReview"}`} {
		resp, err := http.Post(srv.URL, "application/json", bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want %d", body, resp.StatusCode, http.StatusBadRequest)
		}
	}
}

// The fixed-patch webhook is registered as taskgate's Job webhook is, at
// its own address, for its own setup's namespaces only.
func TestFixedPatchWebhookConfiguration(t *testing.T) {
	jobHook := admissionregistrationv1.MutatingWebhook{
		Name:         jobWebhook,
		ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://127.0.0.1:9443/mutate-batch-v1-job"), CABundle: []byte("ca")},
		NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"kube-system"}},
		}},
		ObjectSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "taskgate.dev/cleanup", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"disabled"}},
		}},
		FailurePolicy: ptr.To(admissionregistrationv1.Ignore),
	}
	hook := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "taskgate"},
		Webhooks:   []admissionregistrationv1.MutatingWebhook{{Name: "tasks.taskgate.dev"}, jobHook},
	}
	before := hook.DeepCopy()
	cfg, err := fixedPatchWebhookConfiguration(hook, "127.0.0.1:20001")
	if err != nil {
		t.Fatal(err)
	}
	want := *jobHook.DeepCopy()
	want.Name = fixedPatchWebhook
	want.ClientConfig.URL = ptr.To("https://127.0.0.1:20001/mutate-batch-v1-job")
	want.NamespaceSelector.MatchExpressions = append(want.NamespaceSelector.MatchExpressions,
		metav1.LabelSelectorRequirement{Key: setupLabel, Operator: metav1.LabelSelectorOpIn, Values: []string{keyFixed}})
	if cfg.Name != fixedPatchConfiguration || len(cfg.Webhooks) != 1 || !reflect.DeepEqual(cfg.Webhooks[0], want) {
		t.Errorf("configuration:\n got %s %+v\nwant %s [%+v]", cfg.Name, cfg.Webhooks, fixedPatchConfiguration, want)
	}
	if !reflect.DeepEqual(hook, before) {
		t.Errorf("taskgate's configuration changed: %+v", hook.Webhooks)
	}

	hook.Webhooks[1].ClientConfig = admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Name: "taskgate"}}
	if _, err := fixedPatchWebhookConfiguration(hook, "127.0.0.1:20001"); err == nil {
		t.Error("a Job webhook served by a Service: no error, want one")
	}
}
