package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// maxReview is the largest AdmissionReview read, as controller-runtime's
// limit: two objects of at most 3 MiB and the envelope.
const maxReview = 7 << 20

// RequireReviewV1 answers 400, with the reason, to a request that is not
// an admission.k8s.io/v1 AdmissionReview, and passes the others to next.
// controller-runtime decodes any envelope into a v1 review, so an unknown
// version or kind would reach the handlers as an empty request and be
// denied for a reason that hides the real one. It reads only the
// envelope's apiVersion and kind, which come first.
func RequireReviewV1(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		// One byte over the limit is enough for controller-runtime to
		// answer 413 after us.
		body, err := io.ReadAll(io.LimitReader(r.Body, maxReview+1))
		_ = r.Body.Close()
		if err == nil && len(body) <= maxReview && r.Header.Get("Content-Type") == "application/json" {
			err = checkEnvelope(body)
		}
		if err != nil {
			refuse(w, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// checkEnvelope requires apiVersion admission.k8s.io/v1 and kind
// AdmissionReview at the top level of the JSON document review.
func checkEnvelope(review []byte) error {
	dec := json.NewDecoder(bytes.NewReader(review))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		// Not a JSON object: controller-runtime's decoder says so.
		return nil
	}
	var apiVersion, kind string
	for dec.More() && (apiVersion == "" || kind == "") {
		key, err := dec.Token()
		if err != nil {
			return nil
		}
		var target *string
		switch key {
		case "apiVersion":
			target = &apiVersion
		case "kind":
			target = &kind
		}
		if target == nil {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil
			}
			continue
		}
		if err := dec.Decode(target); err != nil {
			return fmt.Errorf("%s must be a string", key)
		}
	}
	want := admissionv1.SchemeGroupVersion.String()
	if apiVersion != want || kind != "AdmissionReview" {
		return fmt.Errorf("taskgate's webhooks take an AdmissionReview of %s, not kind %q of %q; list v1 in the webhook configuration's admissionReviewVersions", want, kind, apiVersion)
	}
	return nil
}

// refuse writes a v1 AdmissionReview that denies with 400 and err.
func refuse(w http.ResponseWriter, err error) {
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "AdmissionReview"},
		Response: &admissionv1.AdmissionResponse{Result: &metav1.Status{Code: http.StatusBadRequest, Message: err.Error()}},
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(review)
}
