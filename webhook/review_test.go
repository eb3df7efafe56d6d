package webhook

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
)

func TestRequireReviewV1(t *testing.T) {
	tests := []struct {
		name, body string
		passed     bool
		want       string
	}{
		{name: "v1", body: `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u"}}`, passed: true},
		{name: "kind after the request", body: `{"request":{"uid":"u","kind":{"kind":"Job"}},"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1"}`, passed: true},
		{name: "not an object", body: `hello`, passed: true},
		{name: "v2", body: `{"apiVersion":"admission.k8s.io/v2","kind":"AdmissionReview","request":{}}`,
			want: `taskgate's webhooks take an AdmissionReview of admission.k8s.io/v1, not kind "AdmissionReview" of "admission.k8s.io/v2"; list v1 in the webhook configuration's admissionReviewVersions`},
		{name: "v1beta1", body: `{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{}}`,
			want: `taskgate's webhooks take an AdmissionReview of admission.k8s.io/v1, not kind "AdmissionReview" of "admission.k8s.io/v1beta1"; list v1 in the webhook configuration's admissionReviewVersions`},
		{name: "another kind", body: `{"apiVersion":"admission.k8s.io/v1","kind":"Pod"}`,
			want: `taskgate's webhooks take an AdmissionReview of admission.k8s.io/v1, not kind "Pod" of "admission.k8s.io/v1"; list v1 in the webhook configuration's admissionReviewVersions`},
		{name: "no envelope", body: `{"request":{"uid":"u"}}`,
			want: `taskgate's webhooks take an AdmissionReview of admission.k8s.io/v1, not kind "" of ""; list v1 in the webhook configuration's admissionReviewVersions`},
		{name: "kind not a string", body: `{"kind":7}`, want: `kind must be a string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			next := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got = string(b)
			})
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			RequireReviewV1(next).ServeHTTP(rec, req)
			if tt.passed {
				if got != tt.body {
					t.Fatalf("next got %q, want the body unchanged", got)
				}
				return
			}
			var review admissionv1.AdmissionReview
			if err := json.Unmarshal(rec.Body.Bytes(), &review); err != nil || review.Response == nil || review.Response.Result == nil {
				t.Fatalf("answer %q is no AdmissionReview response (%v)", rec.Body.String(), err)
			}
			if r := review.Response; got != "" || r.Allowed || r.Result.Code != http.StatusBadRequest || r.Result.Message != tt.want {
				t.Fatalf("answer allowed=%t %d %q (next got %q); want a 400 denial %q", r.Allowed, r.Result.Code, r.Result.Message, got, tt.want)
			}
		})
	}
}
