package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/taskgate/taskgate/manager"
)

// malformedInput is one bad input and what taskgate must answer to it.
type malformedInput struct {
	name string
	// send returns what the user (kubectl) or the API server (an
	// AdmissionReview's result) is told.
	send func(t *testing.T) string
	want string
}

// TestMalformedInputs sends bad Tasks, Apps and policies through the API
// server, and bad AdmissionReviews straight to the webhook server, and
// requires each to be refused with its message.
func TestMalformedInputs(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	t.Cleanup(func() { resetPolicy(t, c) })
	mustKubectl(t, appYAML, "apply", "-n", ns, "-f", "-")

	created := func(yaml string) func(*testing.T) string {
		return func(t *testing.T) string {
			out, err := kubectl(t, yaml, "create", "-n", ns, "-f", "-")
			if err == nil {
				t.Fatalf("kubectl create accepted it:\n%s", out)
			}
			return out
		}
	}
	policyDoc := func(doc string) func(*testing.T) string {
		return func(t *testing.T) string {
			out, err := kubectl(t, policyConfigMap(doc), "apply", "-f", "-")
			if err == nil {
				t.Fatalf("kubectl apply accepted the policy:\n%s", out)
			}
			return out
		}
	}
	task := func(spec string) func(*testing.T) string {
		return created("apiVersion: taskgate.dev/v1alpha1\nkind: Task\nmetadata: {name: bad}\nspec: " + spec + "\n")
	}
	app := func(spec string) func(*testing.T) string {
		return created("apiVersion: taskgate.dev/v1alpha1\nkind: App\nmetadata: {name: bad}\nspec: " + spec + "\n")
	}
	const header = "apiVersion: taskgate.dev/v1alpha1\nkind: Policy\n"
	webhookURL := webhookAddress()
	post := func(path, contentType string, body []byte) func(*testing.T) string {
		return func(t *testing.T) string { return postReview(t, webhookURL+path, contentType, body) }
	}
	review := func(path string, request map[string]any) func(*testing.T) string {
		body, err := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request})
		if err != nil {
			t.Fatal(err)
		}
		return post(path, "application/json", body)
	}
	create := func(group, version, kind, object string) map[string]any {
		return map[string]any{
			"uid": "e2e", "operation": "CREATE", "namespace": ns, "name": "bad",
			"kind":   map[string]string{"group": group, "version": version, "kind": kind},
			"object": json.RawMessage(object),
		}
	}
	job := create("batch", "v1", "Job", `{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"bad"}}`)
	withOperation := func(r map[string]any, op string) map[string]any {
		r["operation"] = op
		return r
	}

	inputs := []malformedInput{
		// Tasks.
		{"Task name in capitals", created("apiVersion: taskgate.dev/v1alpha1\nkind: Task\nmetadata: {name: Migrate}\nspec: {appRef: {name: shop}}\n"),
			`metadata.name: Invalid value: "Migrate": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters`},
		{"Task of an unserved version", created("apiVersion: taskgate.dev/v1\nkind: Task\nmetadata: {name: bad}\nspec: {appRef: {name: shop}}\n"),
			`no matches for kind "Task" in version "taskgate.dev/v1"`},
		{"Task spec not an object", task(`run`), `spec: Invalid value: "string": spec in body must be of type object: "string"`},
		{"Task timeout not a duration", task(`{appRef: {name: shop}, timeout: soon}`), `spec.timeout: Invalid value: "soon": must be a duration such as 90s, 30m or 1h30m`},
		{"Task with a command of 8 KiB and one byte", task(`{appRef: {name: shop}, command: ` + strings.Repeat("x", 8193) + `}`),
			`spec.command: Too long: may not be more than 8192 bytes`},
		{"Task with a negative TTL", task(`{appRef: {name: shop}, ttlSecondsAfterFinished: -1}`),
			`spec.ttlSecondsAfterFinished: Invalid value: -1: spec.ttlSecondsAfterFinished in body should be greater than or equal to 0`},
		{"Task with a negative retry count", task(`{appRef: {name: shop}, retries: -1}`),
			`spec.retries: Invalid value: -1: spec.retries in body should be greater than or equal to 0`},
		{"Task with an empty appRef name", task(`{appRef: {name: ""}}`),
			`spec.appRef.name: Invalid value: "": spec.appRef.name in body should be at least 1 chars long`},
		// Apps.
		{"App image with spaces", app(`{image: "registry.example.com/x v1"}`),
			`spec.image: Invalid value: "registry.example.com/x v1": must be an image reference without spaces, for example registry.example.com/team/app:v1`},
		{"App env var without a name", app(`{image: registry.example.com/x:v1, env: [{value: x}]}`), `spec.env[0].name: Required value`},
		{"App binding without a Secret", app(`{image: registry.example.com/x:v1, serviceBindings: [{name: db}]}`),
			`spec.serviceBindings[0].secretName: Required value`},
		{"App args not a list", app(`{image: registry.example.com/x:v1, args: "bundle exec puma"}`),
			`spec.args: Invalid value: "string": spec.args in body must be of type array: "string"`},
		// Policies.
		{"policy not YAML", policyDoc("ttl: [\n"),
			`data[policy.yaml]: Invalid value: not valid YAML: yaml: line 1: did not find expected node content`},
		{"policy not a mapping", policyDoc("- apiVersion: taskgate.dev/v1alpha1\n"),
			`data[policy.yaml]: Invalid value: must be a YAML mapping that starts with apiVersion: taskgate.dev/v1alpha1 and kind: Policy`},
		{"policy with a duplicate key", policyDoc(header + "mode: audit\nmode: enforce\n"),
			`data[policy.yaml]: Invalid value: not valid YAML: yaml: unmarshal errors: line 4: key "mode" already set in map`},
		{"policy of the wrong kind", policyDoc("apiVersion: v1\nkind: ConfigMap\n"),
			`data[policy.yaml].apiVersion: Unsupported value: "v1": supported values: "taskgate.dev/v1alpha1"`},
		{"policy field in the wrong case", policyDoc(header + "TTL: {}\n"),
			`data[policy.yaml].TTL: Invalid value: unknown field; did you mean "ttl"? fields here: apiVersion, exemptions, kind, mode, tasks, ttl`},
		{"policy in an unknown mode", policyDoc(header + "mode: dry-run\n"),
			`data[policy.yaml].mode: Unsupported value: "dry-run": supported values: "audit", "enforce"`},
		{"policy with a quantity out of range", policyDoc(header + "tasks: {resources: {ceilings: {cpu: \"1e65\"}}}\n"),
			`data[policy.yaml].tasks.resources.ceilings.cpu: Invalid value: "1e65": must be a quantity such as 500m, 2, 256Mi or 1Gi`},
		{"policy default timeout above its maximum", policyDoc(header + "tasks: {timeout: {default: 48h, max: 24h}}\n"),
			`data[policy.yaml].tasks.timeout.default: Invalid value: "48h0m0s": must not exceed tasks.timeout.max (24h)`},
		{"policy under the wrong key", func(t *testing.T) string {
			out, err := kubectl(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: taskgate-policy, namespace: "+managerNamespace+"}\ndata: {policy.yml: 'mode: audit'}\n", "apply", "-f", "-")
			if err == nil {
				t.Fatalf("kubectl apply accepted it:\n%s", out)
			}
			return out
		}, `data[policy.yaml]: Required value: the policy document goes under this key; see docs/policy.md`},
		// AdmissionReviews, as a broken or hostile client would send them.
		{"review with no body", post(manager.PathMutateJob, "application/json", nil), "400 request body is empty"},
		{"review as text", post(manager.PathMutateJob, "text/plain", []byte("{}")), "400 contentType=text/plain, expected application/json"},
		{"review not JSON", post(manager.PathValidateTask, "application/json", []byte("hello")),
			"400 couldn't get version/kind; json parse error: json: cannot unmarshal string into Go value"},
		{"review of 8 MiB", post(manager.PathMutateTask, "application/json", oversized(8<<20)),
			"413 request entity is too large; limit is 7340032 bytes"},
		{"review of an unknown version", post(manager.PathValidateApp, "application/json", []byte(`{"apiVersion":"admission.k8s.io/v2","kind":"AdmissionReview","request":{}}`)),
			`400 taskgate's webhooks take an AdmissionReview of admission.k8s.io/v1, not kind "AdmissionReview" of "admission.k8s.io/v2"; list v1 in the webhook configuration's admissionReviewVersions`},
		{"review of the wrong kind", post(manager.PathValidateApp, "application/json", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"Pod","request":{}}`)),
			`400 taskgate's webhooks take an AdmissionReview of admission.k8s.io/v1, not kind "Pod" of "admission.k8s.io/v1"; list v1 in the webhook configuration's admissionReviewVersions`},
		{"a Pod sent to the Job webhook", review(manager.PathMutateJob, create("", "v1", "Pod", `{"apiVersion":"v1","kind":"Pod"}`)),
			"400 this webhook admits batch/v1 Job, not v1 Pod; check the rules of taskgate's webhook configuration"},
		{"a Job sent to the Task webhook", review(manager.PathMutateTask, job),
			"400 this webhook admits taskgate.dev/v1alpha1 Task, not batch/v1 Job; check the rules of taskgate's webhook configuration"},
		{"a ConfigMap sent to the Task validator", review(manager.PathValidateTask, create("", "v1", "ConfigMap", `{"apiVersion":"v1","kind":"ConfigMap"}`)),
			"400 unable to decode /v1, Kind=ConfigMap into *v1alpha1.Task"},
		{"a review with no operation", review(manager.PathValidateApp, withOperation(create("taskgate.dev", "v1alpha1", "App", `{}`), "")),
			`400 unknown operation ""`},
		{"a review with no object", review(manager.PathValidateTask, create("taskgate.dev", "v1alpha1", "Task", `null`)),
			"400 there is no content to decode"},
		{"a Job that is not an object", review(manager.PathMutateJob, create("batch", "v1", "Job", `"job"`)),
			"400 json: cannot unmarshal string into Go value of type v1.Job"},
		{"an App with a field of the wrong type", review(manager.PathValidateApp, create("taskgate.dev", "v1alpha1", "App", `{"apiVersion":"taskgate.dev/v1alpha1","kind":"App","spec":{"image":5}}`)),
			"400 json: cannot unmarshal number into Go struct field AppSpec.spec.image of type string"},
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			if got := in.send(t); !strings.Contains(got, in.want) {
				t.Fatalf("answer:\n%s\nwant it to contain:\n%s", got, in.want)
			}
		})
	}
	t.Logf("%d malformed inputs refused with their messages", len(inputs))
}

// webhookAddress is the https URL of the manager's webhook server.
func webhookAddress() string {
	return "https://" + running.hooks.LocalServingHost + ":" + strconv.Itoa(running.hooks.LocalServingPort)
}

// TestWebhookServesTLS12WithoutHTTP2: the webhook server refuses TLS 1.0
// and 1.1, and answers HTTP/1.1 to a client that offers HTTP/2
// (CVE-2023-44487, HTTP/2 rapid reset).
func TestWebhookServesTLS12WithoutHTTP2(t *testing.T) {
	url := webhookAddress() + manager.PathMutateJob
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		_, err := webhookClient(t, &tls.Config{MinVersion: v, MaxVersion: v}).Post(url, "application/json", strings.NewReader("{}"))
		if err == nil || !strings.Contains(err.Error(), "protocol version not supported") {
			t.Errorf("%s: %v; want the handshake refused with protocol version not supported", tls.VersionName(v), err)
		}
	}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		resp, err := webhookClient(t, &tls.Config{MinVersion: v, MaxVersion: v}).Post(url, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatalf("%s: %v", tls.VersionName(v), err)
		}
		_ = resp.Body.Close()
		if resp.TLS.Version != v || resp.Proto != "HTTP/1.1" || resp.TLS.NegotiatedProtocol == "h2" {
			t.Errorf("%s offering h2: got %s over %s, ALPN %q; want HTTP/1.1", tls.VersionName(v), resp.Proto, tls.VersionName(resp.TLS.Version), resp.TLS.NegotiatedProtocol)
		}
	}
}

// webhookClient trusts the webhook server's CA, as the API server does.
func webhookClient(t *testing.T, cfg *tls.Config) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(running.hooks.LocalServingCAData) {
		t.Fatal("no CA certificate for the webhook server")
	}
	cfg.RootCAs = pool
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}}
}

// postReview sends body to a webhook path and returns the review result's
// code and message.
func postReview(t *testing.T, url, contentType string, body []byte) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		req.Body = http.NoBody
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := webhookClient(t, &tls.Config{}).Do(req)
	if err != nil {
		t.Fatalf("posting to %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(raw, &review); err != nil || review.Response == nil {
		t.Fatalf("the webhook answered %s with %q, not an AdmissionReview (%v)", resp.Status, raw, err)
	}
	if review.Response.Allowed || review.Response.Result == nil {
		t.Fatalf("the webhook allowed it: %s", raw)
	}
	return fmt.Sprintf("%d %s", review.Response.Result.Code, review.Response.Result.Message)
}

// oversized is an AdmissionReview of n bytes.
func oversized(n int) []byte {
	prefix := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"`
	return []byte(prefix + strings.Repeat("x", n-len(prefix)-3) + `"}}`)
}
