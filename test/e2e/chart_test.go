package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/manager"
	"github.com/taskgate/taskgate/policy"
	"github.com/taskgate/taskgate/test/chartrender"
	"github.com/taskgate/taskgate/test/localcluster"
)

// The chart tests install a release of their own, never the one the suite's
// manager serves (release taskgate in taskgate-system), so they cannot
// clobber its webhook configurations.
const (
	chartRelease   = "tgchart"
	chartNamespace = "tgchart-system"
	// chartFullname is what taskgate.fullname makes of chartRelease.
	chartFullname = "tgchart-taskgate"
	// chartServiceAccount is the manager's ServiceAccount in the release.
	chartServiceAccount = "system:serviceaccount:" + chartNamespace + ":" + chartFullname
)

// helm runs the pinned helm from the repository root.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return chartrender.Helm(cluster.RepoRoot, args...)
}

// renderChart renders the chart as release tgchart in tgchart-system, with
// extra helm template arguments, and returns its objects.
func renderChart(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	out, err := helm(t, append([]string{"template", chartRelease, "charts/taskgate", "--namespace", chartNamespace}, args...)...)
	if err != nil {
		t.Fatalf("helm template %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	objs, err := chartrender.Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// manifest joins objects into a YAML stream for kubectl.
func manifest(t *testing.T, objs []map[string]any) string {
	t.Helper()
	docs := make([]string, 0, len(objs))
	for _, obj := range objs {
		b, err := yaml.Marshal(obj)
		if err != nil {
			t.Fatalf("encoding %v: %v", obj["kind"], err)
		}
		docs = append(docs, string(b))
	}
	return strings.Join(docs, "---\n")
}

// find returns the rendered object of a kind and name; name "" matches any.
func find(t *testing.T, objs []map[string]any, kind, name string) map[string]any {
	t.Helper()
	obj := chartrender.Find(objs, kind, name)
	if obj == nil {
		t.Fatalf("the chart renders no %s %q", kind, name)
	}
	return obj
}

func kinds(objs []map[string]any) []string {
	var ks []string
	for _, obj := range objs {
		ks = append(ks, fmt.Sprint(obj["kind"]))
	}
	sort.Strings(ks)
	return slices.Compact(ks)
}

// field is chartrender.Field, short for the many uses here.
func field[T any](obj any, path ...any) T { return chartrender.Field[T](obj, path...) }

// chartNamespaceFor creates tgchart-system for one test, enforcing the
// restricted Pod Security Standard, and deletes it afterwards.
func chartNamespaceFor(t *testing.T) {
	t.Helper()
	c := newClient(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: chartNamespace, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted",
		"pod-security.kubernetes.io/warn":    "restricted",
	}}}
	eventually(t, time.Minute, "a fresh "+chartNamespace, func() (bool, error) {
		err := c.Create(context.Background(), ns)
		return err == nil, err // AlreadyExists while an earlier test's copy terminates
	})
	t.Cleanup(func() { _ = c.Delete(context.Background(), ns) })
}

// testCABundle makes a throw-away self-signed CA, base64-encoded PEM, as
// certificate.caBundle wants it.
func testCABundle(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tgchart-test-ca"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestChartLint(t *testing.T) {
	for _, args := range [][]string{{}, {"--strict"}} {
		out, err := helm(t, append([]string{"lint", "charts/taskgate"}, args...)...)
		if err != nil || !strings.Contains(out, "0 chart(s) failed") {
			t.Errorf("helm lint %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

func TestChartRejectsUnknownValues(t *testing.T) {
	for _, tc := range []struct {
		set, want string
	}{
		{"foo=bar", "at '': additional properties 'foo' not allowed"},
		{"manager.leaderElection.enable=true", "at '/manager/leaderElection': additional properties 'enable' not allowed"},
		{"policy.ttl.rulez=1", "at '/policy/ttl': additional properties 'rulez' not allowed"},
		{"replicaCount=two", "at '/replicaCount'"},
		{"manager.shutdownDrain=5 seconds", "at '/manager/shutdownDrain'"},
		{"manager.gcPercent=5", "at '/manager/gcPercent'"},
	} {
		for _, verb := range []string{"template", "lint"} {
			args := []string{verb, "charts/taskgate", "--set", tc.set}
			if verb == "template" {
				args = []string{verb, chartRelease, "charts/taskgate", "--set", tc.set}
			}
			out, err := helm(t, args...)
			if err == nil && verb == "template" {
				t.Errorf("helm %s --set %s succeeded; want it rejected", verb, tc.set)
				continue
			}
			if !strings.Contains(out, "values don't meet the specifications of the schema") || !strings.Contains(out, tc.want) {
				t.Errorf("helm %s --set %s says:\n%s\nwant the schema error %q", verb, tc.set, out, tc.want)
			}
		}
	}
	// Mistakes the schema cannot see fail with the chart's own message.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--set", "certManager.enabled=false"}, "is required when certManager.enabled is false"},
		{[]string{"--set", "certManager.enabled=false", "--set", "certificate.secretName=s", "--set", "certificate.caBundle=aGVsbG8="}, "certificate.caBundle must be base64-encoded PEM"},
		{[]string{"--set", "terminationGracePeriodSeconds=35"}, "terminationGracePeriodSeconds (35) must exceed manager.shutdownDrain + manager.gracefulShutdownTimeout (5s + 30s = 35s)"},
	} {
		out, err := helm(t, append([]string{"template", chartRelease, "charts/taskgate"}, tc.args...)...)
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("helm template %s: err %v, output:\n%s\nwant %q", strings.Join(tc.args, " "), err, out, tc.want)
		}
	}
}

// TestChartSchemaCoversPolicy keeps the policy section of values.schema.json
// in step with policy.Policy: every field the manager decodes is allowed, and
// nothing else is.
func TestChartSchemaCoversPolicy(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(cluster.RepoRoot, "charts", "taskgate", "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatalf("values.schema.json: %v", err)
	}
	var compare func(path string, typ reflect.Type, s map[string]any)
	compare = func(path string, typ reflect.Type, s map[string]any) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
			if items, ok := s["items"].(map[string]any); ok {
				s = items
			}
		}
		if typ.Kind() != reflect.Struct || typ.PkgPath() != reflect.TypeFor[policy.Policy]().PkgPath() {
			return // label selectors, quantities and durations: see definitions
		}
		if s["additionalProperties"] != false {
			t.Errorf("schema %s: additionalProperties is not false", path)
		}
		props, _ := s["properties"].(map[string]any)
		var want, got []string
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			want = append(want, name)
			if sub, ok := props[name].(map[string]any); ok {
				compare(path+"."+name, f.Type, sub)
			}
		}
		for name := range props {
			got = append(got, name)
		}
		sort.Strings(want)
		sort.Strings(got)
		if !slices.Equal(want, got) {
			t.Errorf("schema %s allows %v; policy.%s decodes %v", path, got, typ.Name(), want)
		}
	}
	compare("policy", reflect.TypeFor[policy.Policy](), field[map[string]any](schema, "properties", "policy"))
}

// TestChartRenders applies the chart, rendered with the defaults and with
// other values, to the apiserver as a server-side dry run, in a namespace
// that enforces the restricted Pod Security Standard. The local cluster has
// no Prometheus Operator, so the ServiceMonitor is checked against the
// metrics Service it must select instead of by the apiserver.
func TestChartRenders(t *testing.T) {
	if err := cluster.StartCertManager(context.Background()); err != nil {
		t.Fatalf("starting cert-manager: %v", err) // for its CRDs
	}
	chartNamespaceFor(t)
	caBundle := testCABundle(t)
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte(`replicaCount: 3
image:
  repository: registry.example.com/platform/taskgate
  digest: sha256:`+strings.Repeat("ab", 32)+`
manager:
  logVerbosity: 2
  gcPercent: 200
  extraArgs: [--vmodule=policy=4]
  shutdownDrain: 10s
  leaderElection: {leaseDuration: 30s, renewDeadline: 20s, retryPeriod: 5s}
terminationGracePeriodSeconds: 60
certManager: {enabled: false}
certificate:
  secretName: tgchart-serving-cert
  caBundle: `+caBundle+`
metrics:
  service: {enabled: true}
  serviceMonitor: {enabled: true, interval: 1m, labels: {release: prometheus}}
podDisruptionBudget: {minAvailable: 2}
nodeSelector: {kubernetes.io/os: linux}
tolerations: [{key: dedicated, operator: Equal, value: platform, effect: NoSchedule}]
priorityClassName: system-cluster-critical
podAnnotations: {example.com/team: platform}
policy:
  apiVersion: taskgate.dev/v1alpha1
  kind: Policy
  mode: audit
  ttl:
    hookFloorSeconds: 600
    rules:
    - {name: failed-jobs, kinds: [Job], when: Failed, ttlSecondsAfterFinished: 86400, namespaceSelector: {matchLabels: {team: a}}}
  tasks:
    cap: {default: 50}
    resources: {defaults: {cpu: 200m, memory: 512Mi}}
    timeout: {default: 30m, max: 2h}
  exemptions: {namespaces: [ci-*], optOutLabel: example.com/cleanup}
`), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("defaults", func(t *testing.T) {
		objs := renderChart(t)
		// Job: the uninstall hook (test/chart's TestUninstallHook).
		wantKinds := []string{"Certificate", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "CustomResourceDefinition", "Deployment", "Issuer", "Job",
			"MutatingWebhookConfiguration", "PodDisruptionBudget", "Role", "RoleBinding", "Service", "ServiceAccount",
			"ValidatingWebhookConfiguration"}
		if got := kinds(objs); !slices.Equal(got, wantKinds) {
			t.Errorf("kinds rendered: %v, want %v", got, wantKinds)
		}
		dep := find(t, objs, "Deployment", chartFullname)
		if n := field[float64](dep, "spec", "replicas"); n != 2 {
			t.Errorf("replicas %v, want 2", n)
		}
		cert := find(t, objs, "Certificate", chartFullname+"-webhook")
		secret := field[string](cert, "spec", "secretName")
		if got := field[string](dep, "spec", "template", "spec", "volumes", 0, "secret", "secretName"); got != secret {
			t.Errorf("the manager mounts Secret %q; the serving Certificate writes %q", got, secret)
		}
		wantDNS := []any{chartFullname + "-webhook." + chartNamespace + ".svc", chartFullname + "-webhook." + chartNamespace + ".svc.cluster.local"}
		if got := field[[]any](cert, "spec", "dnsNames"); !reflect.DeepEqual(got, wantDNS) {
			t.Errorf("serving certificate dnsNames %v, want %v", got, wantDNS)
		}
		for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
			hooks := find(t, objs, kind, chartFullname)
			if got := field[string](hooks, "metadata", "annotations", "cert-manager.io/inject-ca-from"); got != chartNamespace+"/"+chartFullname+"-webhook" {
				t.Errorf("%s inject-ca-from %q", kind, got)
			}
			for i := range field[[]any](hooks, "webhooks") {
				if svc := field[string](hooks, "webhooks", i, "clientConfig", "service", "name"); svc != chartFullname+"-webhook" {
					t.Errorf("%s webhook %d calls Service %q", kind, i, svc)
				}
			}
		}
		// The bench runs the manager with what it reads from the values;
		// it must be what the pods get.
		runtimeEnv, err := localcluster.ChartRuntimeEnv(cluster.RepoRoot)
		if err != nil {
			t.Fatal(err)
		}
		if got := "GOGC=" + containerEnv(t, dep, "GOGC"); !slices.Contains(runtimeEnv, got) {
			t.Errorf("the manager runs with %s; localcluster.ChartRuntimeEnv reads %v", got, runtimeEnv)
		}
		assertOptOutSelector(t, objs, "taskgate.dev/policy")
		assertRBACIsGenerated(t, objs)
		dryRun(t, objs)
	})

	t.Run("non-default", func(t *testing.T) {
		objs := renderChart(t, "--values", values)
		for _, kind := range []string{"Certificate", "Issuer"} {
			for _, obj := range objs {
				if obj["kind"] == kind {
					t.Errorf("certManager.enabled=false still renders %s %v", kind, field[string](obj, "metadata", "name"))
				}
			}
		}
		dep := find(t, objs, "Deployment", chartFullname)
		if n := field[float64](dep, "spec", "replicas"); n != 3 {
			t.Errorf("replicas %v, want 3", n)
		}
		if got := field[string](dep, "spec", "template", "spec", "volumes", 0, "secret", "secretName"); got != "tgchart-serving-cert" {
			t.Errorf("the manager mounts Secret %q, want the one given", got)
		}
		if got := field[string](dep, "spec", "template", "spec", "containers", 0, "image"); got != "registry.example.com/platform/taskgate@sha256:"+strings.Repeat("ab", 32) {
			t.Errorf("image %q, want the digest", got)
		}
		if args := field[[]any](dep, "spec", "template", "spec", "containers", 0, "args"); !slices.Contains(args, any("--vmodule=policy=4")) || !slices.Contains(args, any("--shutdown-drain=10s")) {
			t.Errorf("manager args %v lack the values given", args)
		}
		if got := containerEnv(t, dep, "GOGC"); got != "200" {
			t.Errorf("GOGC %q, want manager.gcPercent's 200", got)
		}
		for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
			hooks := find(t, objs, kind, chartFullname)
			if a := field[map[string]any](hooks, "metadata", "annotations"); len(a) > 0 {
				t.Errorf("%s has annotations %v without cert-manager", kind, a)
			}
			for i := range field[[]any](hooks, "webhooks") {
				if got := field[string](hooks, "webhooks", i, "clientConfig", "caBundle"); got != caBundle {
					t.Errorf("%s webhook %d caBundle %q, want the value given", kind, i, got)
				}
			}
		}
		assertOptOutSelector(t, objs, "example.com/cleanup")
		var cm map[string]any
		if err := yaml.Unmarshal([]byte(field[string](find(t, objs, "ConfigMap", "taskgate-policy"), "data", "policy.yaml")), &cm); err != nil || cm["mode"] != "audit" {
			t.Errorf("policy ConfigMap: %v, %v", cm, err)
		}
		// The ServiceMonitor must select the metrics Service and name its
		// port; the apiserver here cannot check it without the CRD.
		svc := find(t, objs, "Service", chartFullname+"-metrics")
		sm := find(t, objs, "ServiceMonitor", chartFullname)
		for k, v := range field[map[string]any](sm, "spec", "selector", "matchLabels") {
			if field[string](svc, "metadata", "labels", k) != v {
				t.Errorf("ServiceMonitor selects %s=%v; the metrics Service has labels %v", k, v, field[map[string]any](svc, "metadata", "labels"))
			}
		}
		if port := field[string](sm, "spec", "endpoints", 0, "port"); port != field[string](svc, "spec", "ports", 0, "name") {
			t.Errorf("ServiceMonitor scrapes port %q; the Service's port is %q", port, field[string](svc, "spec", "ports", 0, "name"))
		}
		if field[string](sm, "metadata", "labels", "release") != "prometheus" || field[string](sm, "spec", "endpoints", 0, "interval") != "1m" {
			t.Errorf("ServiceMonitor ignores its values: %v", sm)
		}
		var rest []map[string]any
		for _, obj := range objs {
			if obj["kind"] != "ServiceMonitor" {
				rest = append(rest, obj)
			}
		}
		dryRun(t, rest)
	})

	// The chart's ci/ values files (test/chart renders them without a
	// cluster): the API server takes what they render, and the pods meet
	// restricted. watchnamespaces-values.yaml names namespaces that do not
	// exist here; TestRBACNamespacedMode covers that mode.
	for _, values := range []string{"custom", "existing-serviceaccount", "no-certmanager", "openshift"} {
		t.Run("ci/"+values, func(t *testing.T) {
			dryRun(t, renderChart(t, "--values", filepath.Join("charts", "taskgate", "ci", values+"-values.yaml")))
		})
	}
}

// containerEnv returns the value of the manager container's env var name.
func containerEnv(t *testing.T, dep map[string]any, name string) string {
	t.Helper()
	for i := range field[[]any](dep, "spec", "template", "spec", "containers", 0, "env") {
		if field[string](dep, "spec", "template", "spec", "containers", 0, "env", i, "name") == name {
			return field[string](dep, "spec", "template", "spec", "containers", 0, "env", i, "value")
		}
	}
	t.Fatalf("the manager container has no env var %s", name)
	return ""
}

// dryRun server-side applies objects as a dry run and fails on any error or
// Pod Security warning.
func dryRun(t *testing.T, objs []map[string]any) {
	t.Helper()
	out, err := kubectl(t, manifest(t, objs), "apply", "--server-side", "--dry-run=server", "--field-manager=tgchart-e2e", "-f", "-")
	if err != nil {
		t.Fatalf("server-side dry run: %v\n%s", err, out)
	}
	if strings.Contains(out, "PodSecurity") || strings.Contains(out, "Warning") {
		t.Errorf("server-side dry run warns:\n%s", out)
	}
	if n := strings.Count(out, "serverside-applied (server dry run)"); n != len(objs) {
		t.Errorf("dry run applied %d of %d objects:\n%s", n, len(objs), out)
	}
}

// assertRBACIsGenerated checks the chart grants exactly the generated
// rules, no wildcard among them, and binds them to its ServiceAccount.
func assertRBACIsGenerated(t *testing.T, objs []map[string]any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cluster.RepoRoot, "charts", "taskgate", "files", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(b), "\n---") {
		gen := map[string]any{}
		if err := yaml.Unmarshal([]byte(doc), &gen); err != nil || len(gen) == 0 {
			continue
		}
		kind := gen["kind"].(string)
		role := find(t, objs, kind, chartFullname+"-manager")
		if !reflect.DeepEqual(role["rules"], gen["rules"]) {
			t.Errorf("%s rules differ from files/rbac/role.yaml:\n%v\n%v", kind, role["rules"], gen["rules"])
		}
		if kind == "Role" && field[string](role, "metadata", "namespace") != chartNamespace {
			t.Errorf("Role is in %q, want the release namespace", field[string](role, "metadata", "namespace"))
		}
		if strings.Contains(fmt.Sprint(role["rules"]), "*") {
			t.Errorf("%s has a wildcard: %v", kind, role["rules"])
		}
		binding := find(t, objs, kind+"Binding", chartFullname+"-manager")
		if got := field[string](binding, "subjects", 0, "name"); got != chartFullname || field[string](binding, "roleRef", "name") != chartFullname+"-manager" {
			t.Errorf("%sBinding binds %v to %v", kind, binding["roleRef"], binding["subjects"])
		}
	}
}

// TestCertManagerInjectsCABundle runs the real cert-manager controller and
// cainjector, installs the chart's Issuers, Certificates and webhook
// configurations, and checks that the serving certificate is issued for the
// webhook Service and that its CA lands in both webhook configurations.
// assertOptOutSelector checks that the Job webhook skips, by label, the
// Jobs labelled with the policy's opt-out label set to disabled, and
// nothing else.
func assertOptOutSelector(t *testing.T, objs []map[string]any, label string) {
	t.Helper()
	hooks := find(t, objs, "MutatingWebhookConfiguration", chartFullname)
	for i := range field[[]any](hooks, "webhooks") {
		if field[string](hooks, "webhooks", i, "name") != "jobs.taskgate.dev" {
			continue
		}
		want := map[string]any{"matchExpressions": []any{map[string]any{"key": label, "operator": "NotIn", "values": []any{"disabled"}}}}
		if got := field[map[string]any](hooks, "webhooks", i, "objectSelector"); !reflect.DeepEqual(got, want) {
			t.Errorf("the Job webhook's objectSelector is %v, want %v", got, want)
		}
		if got := field[[]any](hooks, "webhooks", i, "matchConditions"); len(got) != 0 {
			t.Errorf("the Job webhook has matchConditions %v; the opt-out label is its objectSelector's", got)
		}
		return
	}
	t.Error("no jobs.taskgate.dev webhook rendered")
}

func TestCertManagerInjectsCABundle(t *testing.T) {
	start := time.Now()
	if err := cluster.StartCertManager(context.Background()); err != nil {
		t.Fatalf("starting cert-manager: %v", err)
	}
	t.Logf("cert-manager ready in %s", time.Since(start).Round(10*time.Millisecond))
	chartNamespaceFor(t)
	c := newClient(t)
	ctx := context.Background()

	objs := renderChart(t, "--show-only", "templates/certificates.yaml", "--show-only", "templates/webhooks.yaml")
	// No manager serves this release, and its Task and App webhooks fail
	// closed: an object selector no object carries keeps them from ever
	// being called, so other tests are not affected while they exist.
	// Injection does not look at rules or selectors.
	for _, obj := range objs {
		for _, hook := range field[[]any](obj, "webhooks") {
			hook.(map[string]any)["objectSelector"] = map[string]any{"matchLabels": map[string]any{"e2e.taskgate.dev/never": "true"}}
		}
	}
	t.Cleanup(func() {
		for _, o := range []client.Object{
			&admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: chartFullname}},
			&admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: chartFullname}},
		} {
			if err := c.Delete(ctx, o); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("deleting %s: %v", o.GetName(), err)
			}
		}
	})
	mustKubectl(t, manifest(t, objs), "apply", "--server-side", "--field-manager=tgchart-e2e", "-f", "-")

	issued := time.Now()
	mustKubectl(t, "", "wait", "-n", chartNamespace, "--for=condition=Ready", "--timeout=2m",
		"certificate/"+chartFullname+"-ca", "certificate/"+chartFullname+"-webhook")
	t.Logf("certificates ready in %s", time.Since(issued).Round(10*time.Millisecond))

	caSecret, servingSecret := &corev1.Secret{}, &corev1.Secret{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: chartNamespace, Name: chartFullname + "-ca"}, caSecret); err != nil {
		t.Fatalf("reading the CA Secret: %v", err)
	}
	if err := c.Get(ctx, types.NamespacedName{Namespace: chartNamespace, Name: chartFullname + "-webhook-tls"}, servingSecret); err != nil {
		t.Fatalf("reading the serving Secret: %v", err)
	}
	ca := caSecret.Data["ca.crt"]
	if len(ca) == 0 {
		t.Fatalf("the CA Secret has no ca.crt")
	}
	// The serving certificate chains to that CA for the Service's name.
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca) {
		t.Fatalf("ca.crt is not PEM: %q", ca)
	}
	block, _ := pem.Decode(servingSecret.Data["tls.crt"])
	if block == nil {
		t.Fatalf("the serving Secret has no certificate")
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: chartFullname + "-webhook." + chartNamespace + ".svc"}); err != nil {
		t.Errorf("the serving certificate does not verify for the webhook Service: %v", err)
	}

	injected := time.Now()
	eventually(t, time.Minute, "the CA in both webhook configurations", func() (bool, error) {
		mutating := &admissionregistrationv1.MutatingWebhookConfiguration{}
		validating := &admissionregistrationv1.ValidatingWebhookConfiguration{}
		if err := c.Get(ctx, types.NamespacedName{Name: chartFullname}, mutating); err != nil {
			return false, err
		}
		if err := c.Get(ctx, types.NamespacedName{Name: chartFullname}, validating); err != nil {
			return false, err
		}
		var bundles [][]byte
		for _, h := range mutating.Webhooks {
			bundles = append(bundles, h.ClientConfig.CABundle)
		}
		for _, h := range validating.Webhooks {
			bundles = append(bundles, h.ClientConfig.CABundle)
		}
		if len(mutating.Webhooks) == 0 || len(validating.Webhooks) == 0 {
			return false, fmt.Errorf("%d mutating and %d validating webhooks", len(mutating.Webhooks), len(validating.Webhooks))
		}
		for i, b := range bundles {
			if !bytes.Equal(b, ca) {
				return false, fmt.Errorf("webhook %d has caBundle %q", i, b)
			}
		}
		return true, nil
	})
	t.Logf("CA injected into both configurations in %s", time.Since(injected).Round(10*time.Millisecond))
}

// TestRBACManagerPermissions installs the chart's ServiceAccount and RBAC
// and asks the apiserver what that ServiceAccount may do: what the manager
// needs, and nothing around it.
func TestRBACManagerPermissions(t *testing.T) {
	chartNamespaceFor(t)
	objs := renderChart(t, "--show-only", "templates/serviceaccount.yaml", "--show-only", "templates/rbac.yaml")
	stream := manifest(t, objs)
	mustKubectl(t, stream, "apply", "--server-side", "--field-manager=tgchart-e2e", "-f", "-")
	t.Cleanup(func() {
		if out, err := kubectl(t, stream, "delete", "--ignore-not-found", "-f", "-"); err != nil {
			t.Errorf("deleting RBAC: %v\n%s", err, out)
		}
	})
	other := newNamespace(t, newClient(t))

	canI := func(args ...string) bool {
		out, err := kubectl(t, "", append([]string{"auth", "can-i", "--as=" + chartServiceAccount}, args...)...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		answer := lines[len(lines)-1] // after any warning
		if answer != "yes" && answer != "no" {
			t.Fatalf("kubectl auth can-i %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return answer == "yes"
	}
	// RBAC takes effect through the authorizer's informers: wait for the
	// first rule before asking in earnest.
	eventually(t, 30*time.Second, "the RoleBinding to take effect", func() (bool, error) {
		return canI("get", "configmaps", "-n", chartNamespace), nil
	})

	// The exact rules in effect, as the authorizer lists them: each one
	// is a reconciler's or webhook's need (docs/reliability.md), and any
	// rule added or widened fails here until it is reviewed.
	cluster := []string{
		"apps.taskgate.dev [] [] [get list watch]",
		"apps.taskgate.dev/status [] [] [patch update]",
		"cronjobs.batch [] [] [get]",
		"daemonsets.apps [] [] [get]",
		"deployments.apps [] [] [get]",
		"events.events.k8s.io [] [] [create patch]",
		"jobs.batch [] [] [get list patch watch]",
		"namespaces [] [] [get list watch]",
		"pipelineruns.tekton.dev [] [] [create get list patch watch]",
		"pods [] [] [list]",
		"secrets [] [] [create delete get update]",
		"statefulsets.apps [] [] [get]",
		"subjectaccessreviews.authorization.k8s.io [] [] [create]",
		"taskruns.tekton.dev [] [] [get list patch watch]",
		"tasks.taskgate.dev [] [] [create delete get list patch watch]",
		"tasks.taskgate.dev/finalizers [] [] [update]",
		"tasks.taskgate.dev/status [] [] [patch]",
		"taskschedules.taskgate.dev [] [] [get list watch]",
		"taskschedules.taskgate.dev/status [] [] [patch]",
		"tokenreviews.authentication.k8s.io [] [] [create]",
	}
	// What the API server grants every authenticated user, and every
	// service account (issuer discovery).
	everyone := []string{
		"[/.well-known/openid-configuration/] [] [get]",
		"[/.well-known/openid-configuration] [] [get]",
		"[/openid/v1/jwks/] [] [get]",
		"[/openid/v1/jwks] [] [get]",
		"selfsubjectreviews.authentication.k8s.io [] [] [create]",
		"selfsubjectaccessreviews.authorization.k8s.io [] [] [create]",
		"selfsubjectrulesreviews.authorization.k8s.io [] [] [create]",
		"[/api/*] [] [get]",
		"[/api] [] [get]",
		"[/apis/*] [] [get]",
		"[/apis] [] [get]",
		"[/healthz] [] [get]",
		"[/healthz] [] [get]",
		"[/livez] [] [get]",
		"[/livez] [] [get]",
		"[/openapi/*] [] [get]",
		"[/openapi] [] [get]",
		"[/readyz] [] [get]",
		"[/readyz] [] [get]",
		"[/version/] [] [get]",
		"[/version/] [] [get]",
		"[/version] [] [get]",
		"[/version] [] [get]",
	}
	// The Role also grants Events, for the namespaced mode; here the
	// ClusterRole's identical rule already lists them once.
	own := []string{
		"configmaps [] [] [get list watch]",
		"jobttlparams.taskgate.dev [] [] [create get update]",
		"leases.coordination.k8s.io [] [] [create get update]",
	}
	for ns, want := range map[string][]string{other: slices.Concat(cluster, everyone), chartNamespace: slices.Concat(cluster, own, everyone)} {
		got := rulesOf(t, mustKubectl(t, "", "auth", "can-i", "--list", "--as="+chartServiceAccount, "-n", ns))
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("the manager's rules in namespace %s:\n%s\nwant exactly:\n%s", ns, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}

	for _, args := range [][]string{
		{"list", "namespaces"},
		{"watch", "namespaces"},
		{"create", "events.events.k8s.io", "-n", other},
		{"patch", "events.events.k8s.io", "-n", other},
		{"get", "configmaps", "-n", chartNamespace},
		{"watch", "configmaps", "-n", chartNamespace},
		{"get", "leases.coordination.k8s.io", "-n", chartNamespace},
		{"create", "leases.coordination.k8s.io", "-n", chartNamespace},
		{"update", "leases.coordination.k8s.io", "-n", chartNamespace},
		// Reviewed in templates/rbac.yaml: the App reconciler GETs the
		// Secrets an App binds, one at a time, and writes and deletes the
		// Apps' VCAP_SERVICES Secrets.
		{"get", "secrets", "-n", other},
		{"delete", "secrets", "-n", other},
		// An App's spec.from: the workload and its pods' digests.
		{"get", "deployments.apps", "-n", other},
		{"get", "cronjobs.batch", "-n", other},
		{"list", "pods", "-n", other},
	} {
		if !canI(args...) {
			t.Errorf("the manager cannot %s; it needs to", strings.Join(args, " "))
		}
	}
	for _, args := range [][]string{
		{"delete", "namespaces"},
		{"create", "namespaces"},
		{"update", "namespaces"},
		{"get", "configmaps", "-n", other},
		{"get", "configmaps", "-n", "kube-system"},
		{"update", "configmaps", "-n", chartNamespace},
		{"update", "leases.coordination.k8s.io", "-n", other},
		{"update", "leases.coordination.k8s.io", "-n", "kube-system"},
		{"delete", "leases.coordination.k8s.io", "-n", chartNamespace},
		{"create", "pods", "-n", other},
		{"create", "pods", "--subresource=exec", "-n", other},
		// Workloads and pods are read live, one at a time: no cache of
		// the cluster's, and no write.
		{"list", "deployments.apps", "-n", other},
		{"watch", "pods", "-n", other},
		{"get", "pods", "--subresource=log", "-n", other},
		{"update", "deployments.apps", "-n", other},
		{"create", "serviceaccounts", "--subresource=token", "-n", chartNamespace},
		{"create", "clusterrolebindings"},
		{"escalate", "clusterroles"},
		{"update", "mutatingwebhookconfigurations"},
		// The chart installs the Job admission policies; the manager
		// writes only their params, in its own namespace.
		{"create", "mutatingadmissionpolicies.admissionregistration.k8s.io"},
		{"update", "mutatingadmissionpolicybindings.admissionregistration.k8s.io"},
		{"update", "jobttlparams.taskgate.dev", "-n", other},
		{"delete", "jobttlparams.taskgate.dev", "-n", chartNamespace},
		// A Task's TTL in force is in its status; the only write of a
		// Task's spec is a TaskSchedule's cancel, a patch.
		{"update", "tasks.taskgate.dev", "-n", other},
		// RBAC cannot narrow these to the Apps' own Secrets.
		{"list", "secrets", "-n", other},
		{"watch", "secrets", "-n", other},
		{"*", "*"},
	} {
		if canI(args...) {
			t.Errorf("the manager can %s; it must not", strings.Join(args, " "))
		}
	}
}

// rulesOf reads the table of kubectl auth can-i --list into sorted rows of
// single-spaced fields.
func rulesOf(t *testing.T, out string) []string {
	t.Helper()
	var rows []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] == "Resources" || strings.HasPrefix(line, "Warning:") {
			continue
		}
		rows = append(rows, strings.Join(fields, " "))
	}
	slices.Sort(rows)
	return rows
}

// splitGeneratedRules returns the generated ClusterRole's rules on
// cluster-scoped resources, which watchNamespaces keeps cluster-wide, and
// the rest, which it grants per watched namespace.
func splitGeneratedRules(t *testing.T) (clusterRole, namespaced, ownRole []any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cluster.RepoRoot, "charts", "taskgate", "files", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	clusterScoped := map[string]bool{"/namespaces": true, "authentication.k8s.io/tokenreviews": true, "authorization.k8s.io/subjectaccessreviews": true}
	for _, doc := range strings.Split(string(b), "\n---") {
		gen := map[string]any{}
		if err := yaml.Unmarshal([]byte(doc), &gen); err != nil || len(gen) == 0 {
			continue
		}
		if gen["kind"] == "Role" {
			ownRole = field[[]any](gen, "rules")
			continue
		}
		for _, rule := range field[[]any](gen, "rules") {
			key := field[string](rule, "apiGroups", 0) + "/" + field[string](rule, "resources", 0)
			if clusterScoped[key] {
				clusterRole = append(clusterRole, rule)
			} else {
				namespaced = append(namespaced, rule)
			}
		}
	}
	return clusterRole, namespaced, ownRole
}

// TestRBACNamespacedMode renders the chart with watchNamespaces and checks
// that the ClusterRole keeps only the cluster-scoped rules, that the watched
// namespace gets the rest as a Role, and that the webhooks and the manager
// are scoped to it; then installs the RBAC and, impersonating the manager's
// ServiceAccount, reads Tasks where it may and is refused where it may not.
func TestRBACNamespacedMode(t *testing.T) {
	chartNamespaceFor(t)
	c := newClient(t)
	watched, other := newNamespace(t, c), newNamespace(t, c)

	// A namespace name is checked by the schema.
	if out, err := helm(t, "template", chartRelease, "charts/taskgate", "--set", "watchNamespaces={Team_A}"); err == nil ||
		!strings.Contains(out, "values don't meet the specifications of the schema") || !strings.Contains(out, "at '/watchNamespaces/0'") {
		t.Errorf("watchNamespaces={Team_A}: %v\n%s\nwant the schema error at /watchNamespaces/0", err, out)
	}
	// The release namespace is never managed.
	if out, err := helm(t, "template", chartRelease, "charts/taskgate", "--namespace", chartNamespace, "--set", "watchNamespaces={"+chartNamespace+"}"); err == nil ||
		!strings.Contains(out, "watchNamespaces lists the release namespace "+chartNamespace+"; taskgate never manages objects in its own namespace, remove it") {
		t.Errorf("watchNamespaces with the release namespace: %v\n%s", err, out)
	}

	// The uninstall hook's Role is its own, scoped by resource names
	// (test/chart's TestUninstallHook).
	objs := renderChart(t, "--set", "watchNamespaces={"+watched+"}", "--set", "cleanupOnUninstall=false")
	wantCluster, wantNamespaced, wantOwn := splitGeneratedRules(t)
	var roles []string
	for _, obj := range objs {
		switch obj["kind"] {
		case "ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding":
			roles = append(roles, fmt.Sprintf("%s %s/%s", obj["kind"], field[string](obj, "metadata", "namespace"), field[string](obj, "metadata", "name")))
		}
	}
	slices.Sort(roles)
	wantRoles := []string{
		"ClusterRole /" + chartFullname + "-manager",
		"ClusterRole /" + chartFullname + "-metrics-reader",
		"ClusterRoleBinding /" + chartFullname + "-manager",
		"Role " + chartNamespace + "/" + chartFullname + "-manager",
		"Role " + watched + "/" + chartFullname + "-manager",
		"RoleBinding " + chartNamespace + "/" + chartFullname + "-manager",
		"RoleBinding " + watched + "/" + chartFullname + "-manager",
	}
	slices.Sort(wantRoles)
	if !slices.Equal(roles, wantRoles) {
		t.Errorf("RBAC objects rendered:\n%s\nwant:\n%s", strings.Join(roles, "\n"), strings.Join(wantRoles, "\n"))
	}
	for _, obj := range objs {
		var want []any
		switch {
		case obj["kind"] == "ClusterRole" && field[string](obj, "metadata", "name") == chartFullname+"-manager":
			want = wantCluster
		case obj["kind"] == "Role" && field[string](obj, "metadata", "namespace") == watched:
			want = wantNamespaced
		case obj["kind"] == "Role" && field[string](obj, "metadata", "namespace") == chartNamespace:
			want = wantOwn
		default:
			continue
		}
		if !reflect.DeepEqual(obj["rules"], want) {
			t.Errorf("%s in %q has rules\n%v\nwant\n%v", obj["kind"], field[string](obj, "metadata", "namespace"), obj["rules"], want)
		}
	}
	// Every Task, App and Job webhook is called only in the watched
	// namespace, and never in the system ones or taskgate's own.
	wantSelector := map[string]any{"matchExpressions": []any{
		map[string]any{"key": "kubernetes.io/metadata.name", "operator": "In", "values": []any{watched}},
		map[string]any{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": []any{"kube-system", "kube-node-lease", chartNamespace}},
	}}
	for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
		hooks := find(t, objs, kind, chartFullname)
		for i := range field[[]any](hooks, "webhooks") {
			if field[string](hooks, "webhooks", i, "name") == "policy.taskgate.dev" {
				continue // the policy ConfigMap, in the release namespace
			}
			if got := field[map[string]any](hooks, "webhooks", i, "namespaceSelector"); !reflect.DeepEqual(got, wantSelector) {
				t.Errorf("%s %s namespaceSelector %v, want %v", kind, field[string](hooks, "webhooks", i, "name"), got, wantSelector)
			}
		}
	}
	dep := find(t, objs, "Deployment", chartFullname)
	if args := field[[]any](dep, "spec", "template", "spec", "containers", 0, "args"); !slices.Contains(args, any("--watch-namespaces="+watched)) {
		t.Errorf("the manager's args %v lack --watch-namespaces=%s", args, watched)
	}

	var rbac []map[string]any
	for _, obj := range objs {
		switch obj["kind"] {
		case "ServiceAccount", "ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding":
			rbac = append(rbac, obj)
		}
	}
	stream := manifest(t, rbac)
	mustKubectl(t, stream, "apply", "--server-side", "--field-manager=tgchart-e2e", "-f", "-")
	t.Cleanup(func() {
		if out, err := kubectl(t, stream, "delete", "--ignore-not-found", "-f", "-"); err != nil {
			t.Errorf("deleting RBAC: %v\n%s", err, out)
		}
	})

	cfg := rest.CopyConfig(cluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: chartServiceAccount,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + chartNamespace, "system:authenticated"},
	}
	as, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// RBAC takes effect through the authorizer's informers.
	eventually(t, 30*time.Second, "the Role in "+watched+" to take effect", func() (bool, error) {
		err := as.List(ctx, &v1alpha1.TaskList{}, client.InNamespace(watched))
		return err == nil, err
	})
	for _, list := range []client.ObjectList{&v1alpha1.TaskList{}, &v1alpha1.AppList{}, &corev1.SecretList{}, &batchv1.JobList{}} {
		if err := as.List(ctx, list, client.InNamespace(other)); !apierrors.IsForbidden(err) {
			t.Errorf("the manager listing %T in unwatched %s: %v, want Forbidden", list, other, err)
		}
		if err := as.List(ctx, list); !apierrors.IsForbidden(err) {
			t.Errorf("the manager listing %T cluster-wide: %v, want Forbidden", list, err)
		}
	}
	if err := as.List(ctx, &v1alpha1.AppList{}, client.InNamespace(watched)); err != nil {
		t.Errorf("the manager listing Apps in watched %s: %v", watched, err)
	}
	if err := as.List(ctx, &corev1.NamespaceList{}); err != nil {
		t.Errorf("the manager listing namespaces: %v", err)
	}
	// Exactly the cluster-scoped rules outside the watched namespace.
	clusterWide := []string{
		"namespaces [] [] [get list watch]",
		"subjectaccessreviews.authorization.k8s.io [] [] [create]",
		"tokenreviews.authentication.k8s.io [] [] [create]",
	}
	got := rulesOf(t, mustKubectl(t, "", "auth", "can-i", "--list", "--as="+chartServiceAccount, "-n", other))
	for _, r := range clusterWide {
		if !slices.Contains(got, r) {
			t.Errorf("the manager's rules in %s lack %q", other, r)
		}
	}
	for _, r := range got {
		if !strings.HasPrefix(r, "[/") && !strings.HasPrefix(r, "self") && !slices.Contains(clusterWide, r) {
			t.Errorf("the manager has %q in unwatched %s; only cluster-scoped rules belong there", r, other)
		}
	}

	// The manager itself, with only these permissions and
	// --watch-namespaces, becomes ready: every cache it starts lists and
	// watches only where it may (a cluster-wide one would be refused and
	// never sync).
	m := startExtraManagerAs(t, cfg, chartNamespace, func(o *manager.Options) { o.WatchNamespaces = []string{watched} })
	eventually(t, time.Minute, "the namespaced manager to be ready", func() (bool, error) {
		code, body := m.get(m.healthURL + "/readyz?verbose")
		return code == http.StatusOK, fmt.Errorf("readyz answered %d: %s", code, body)
	})
}

// TestChartMetrics checks how the chart serves metrics: over HTTPS behind
// the apiserver's authorization by default, with a ClusterRole scrapers
// bind and a ServiceMonitor that verifies the certificate; plain HTTP only
// when asked; pprof only on loopback.
func TestChartMetrics(t *testing.T) {
	args := func(objs []map[string]any) []any {
		return field[[]any](find(t, objs, "Deployment", chartFullname), "spec", "template", "spec", "containers", 0, "args")
	}
	objs := renderChart(t, "--set", "metrics.serviceMonitor.enabled=true", "--set", "manager.pprofPort=8082")
	for _, want := range []string{"--metrics-bind-address=:8443", "--metrics-secure=true", "--metrics-cert-dir=/etc/taskgate/webhook-tls", "--pprof-bind-address=127.0.0.1:8082"} {
		if !slices.Contains(args(objs), any(want)) {
			t.Errorf("the manager's args %v lack %s", args(objs), want)
		}
	}
	reader := find(t, objs, "ClusterRole", chartFullname+"-metrics-reader")
	if want := []any{map[string]any{"nonResourceURLs": []any{"/metrics"}, "verbs": []any{"get"}}}; !reflect.DeepEqual(reader["rules"], want) {
		t.Errorf("metrics-reader rules %v, want %v", reader["rules"], want)
	}
	endpoint := field[map[string]any](find(t, objs, "ServiceMonitor", chartFullname), "spec", "endpoints", 0)
	wantEndpoint := map[string]any{
		"port": "metrics", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s", "scheme": "https",
		"bearerTokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token",
		"tlsConfig": map[string]any{
			"serverName": chartFullname + "-webhook." + chartNamespace + ".svc",
			"ca":         map[string]any{"secret": map[string]any{"name": chartFullname + "-webhook-tls", "key": "ca.crt"}},
		},
	}
	if !reflect.DeepEqual(endpoint, wantEndpoint) {
		t.Errorf("ServiceMonitor endpoint %v, want %v", endpoint, wantEndpoint)
	}

	objs = renderChart(t, "--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.secure=false")
	if !slices.Contains(args(objs), any("--metrics-secure=false")) || slices.ContainsFunc(args(objs), func(a any) bool { return strings.HasPrefix(a.(string), "--pprof") }) {
		t.Errorf("insecure metrics, no pprof: args %v", args(objs))
	}
	for _, obj := range objs {
		if obj["kind"] == "ClusterRole" && field[string](obj, "metadata", "name") == chartFullname+"-metrics-reader" {
			t.Errorf("plain HTTP metrics render a metrics-reader ClusterRole no one is asked for")
		}
	}
	if got := field[string](find(t, objs, "ServiceMonitor", chartFullname), "spec", "endpoints", 0, "scheme"); got != "http" {
		t.Errorf("insecure ServiceMonitor scheme %q, want http", got)
	}
}

// TestMetricsNeedAuthorization runs a manager with the chart's default,
// secure metrics and scrapes it: without a token, with the token of a
// ServiceAccount nothing grants /metrics, and with one bound to the
// chart's metrics-reader ClusterRole. Only the last gets the metrics; the
// apiserver decides, through a TokenReview and a SubjectAccessReview.
func TestMetricsNeedAuthorization(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	ns := newNamespace(t, c)
	objs := renderChart(t, "--show-only", "templates/metrics.yaml")
	reader := find(t, objs, "ClusterRole", chartFullname+"-metrics-reader")
	binding := map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
		"metadata": map[string]any{"name": ns + "-metrics-reader"},
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": chartFullname + "-metrics-reader"},
		"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": "scraper", "namespace": ns}},
	}
	stream := manifest(t, []map[string]any{reader, binding})
	mustKubectl(t, stream, "apply", "--server-side", "--field-manager=tgchart-e2e", "-f", "-")
	t.Cleanup(func() {
		if out, err := kubectl(t, stream, "delete", "--ignore-not-found", "-f", "-"); err != nil {
			t.Errorf("deleting RBAC: %v\n%s", err, out)
		}
	})
	token := func(name string) string {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		if err := c.Create(ctx, sa); err != nil {
			t.Fatal(err)
		}
		tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: new(int64(600))}}
		if err := c.SubResource("token").Create(ctx, sa, tr); err != nil {
			t.Fatalf("a token for %s: %v", name, err)
		}
		return tr.Status.Token
	}
	scraper, stranger := token("scraper"), token("stranger")
	eventually(t, 30*time.Second, "the ClusterRoleBinding to take effect", func() (bool, error) {
		out, _ := kubectl(t, "", "auth", "can-i", "get", "/metrics", "--as=system:serviceaccount:"+ns+":scraper")
		return strings.TrimSpace(out) == "yes", fmt.Errorf("can-i: %s", out)
	})

	m := startExtraManager(t, ns, func(o *manager.Options) { o.MetricsSecure = true })
	eventually(t, time.Minute, "the manager to be ready", func() (bool, error) {
		code, body := m.get(m.healthURL + "/readyz")
		return code == http.StatusOK, fmt.Errorf("readyz answered %d: %s", code, body)
	})
	// The metrics server's certificate is self-signed here; what is under
	// test is who gets an answer.
	https := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	scrape := func(token string) (int, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.metricsURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := https.Do(req)
		if err != nil {
			t.Fatalf("scraping %s: %v", m.metricsURL, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if !strings.HasPrefix(m.metricsURL, "https://") {
		t.Fatalf("metrics at %s, want HTTPS", m.metricsURL)
	}
	// The metrics server listens once its certificate is made and its
	// authenticator built, which readiness does not wait for.
	var code int
	var body string
	eventually(t, time.Minute, "the metrics server to listen", func() (bool, error) {
		code, body = m.get(strings.Replace(m.metricsURL, "https://", "http://", 1))
		return code != 0, errors.New(body)
	})
	if code != http.StatusBadRequest {
		t.Errorf("plain HTTP to the metrics port answered %d: %s; want 400, it serves only TLS", code, body)
	}
	for _, tc := range []struct {
		who   string
		token string
		want  int
	}{
		{"no token", "", http.StatusUnauthorized},
		// The TokenReview comes back with an error for a token that is
		// not a JWT, which controller-runtime's filter answers with 500
		// "Authentication failed": refused all the same.
		{"a made-up token", "not-a-token", http.StatusInternalServerError},
		{"a ServiceAccount nothing grants /metrics", stranger, http.StatusForbidden},
	} {
		if code, body := scrape(tc.token); code != tc.want || strings.Contains(body, "taskgate_") {
			t.Errorf("%s: %d %q; want %d and no metrics", tc.who, code, body, tc.want)
		}
	}
	code, body = scrape(scraper)
	if code != http.StatusOK || !strings.Contains(body, "\ntaskgate_policy_info{") {
		t.Errorf("the metrics-reader: %d, %d bytes; want 200 with taskgate_policy_info", code, len(body))
	}
}

// TestChartAdoptsCRDs follows docs/install.md's upgrade from a chart that
// kept its CRDs in crds/: the suite's CRDs were created without Helm, as
// those were. A release that renders them is refused until they carry its
// ownership label and annotations; then it adopts them, and uninstalled
// with crds.keep it leaves them, the very same objects, in place.
func TestChartAdoptsCRDs(t *testing.T) {
	chartNamespaceFor(t)
	const crdRelease = "tgcrds"
	// The chart with its CRDs alone: its webhooks, with no manager behind
	// them, would fail closed for the other tests.
	chart := filepath.Join(t.TempDir(), "taskgate")
	if err := os.CopyFS(chart, os.DirFS(filepath.Join(cluster.RepoRoot, "charts", "taskgate"))); err != nil {
		t.Fatal(err)
	}
	templates, err := filepath.Glob(filepath.Join(chart, "templates", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range templates {
		if base := filepath.Base(f); base != "_helpers.tpl" && base != "crds.yaml" {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A newer release's CRD differs from the one in the cluster, which
	// another field manager (here envtest's, the suite's binary) applied:
	// Helm's server-side apply then conflicts on the fields that differ.
	column := apiextensionsv1.CustomResourceColumnDefinition{Name: "Adopted", Type: "string", JSONPath: ".metadata.labels.adopted"}
	if err := chartrender.AddPrinterColumn(filepath.Join(chart, "files", "crds", "taskgate.dev_tasks.yaml"), column.Name, column.JSONPath); err != nil {
		t.Fatal(err)
	}
	// Every CRD the chart ships, which the suite's cluster already has.
	files, err := filepath.Glob(filepath.Join(chart, "files", "crds", "taskgate.dev_*.yaml"))
	if err != nil || len(files) < 3 {
		t.Fatalf("the chart's CRD files: %v %v, want apps, tasks and taskschedules at least", files, err)
	}
	var crdNames []string
	for _, f := range files {
		plural := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "taskgate.dev_"), ".yaml")
		crdNames = append(crdNames, plural+".taskgate.dev")
	}
	uids := map[string]types.UID{}
	for _, name := range crdNames {
		crd, err := getCRD(t, name)
		if err != nil {
			t.Fatal(err)
		}
		uids[name] = crd.UID
	}
	// The CRDs stay, with the chart's column, after the release is gone:
	// the Task table's columns go back to the suite's for the tests
	// after this one, which read it.
	tasksCRD, err := getCRD(t, "tasks.taskgate.dev")
	if err != nil {
		t.Fatal(err)
	}
	columns, err := json.Marshal(tasksCRD.Spec.Versions[0].AdditionalPrinterColumns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		mustKubectl(t, "", "patch", "crd", "tasks.taskgate.dev", "--type=json",
			"-p", `[{"op":"replace","path":"/spec/versions/0/additionalPrinterColumns","value":`+string(columns)+`}]`)
	})
	helmIn := func(args ...string) (string, error) {
		return helm(t, append([]string{"--kubeconfig", cluster.Kubeconfig, "--namespace", chartNamespace}, args...)...)
	}
	t.Cleanup(func() { _, _ = helmIn("uninstall", crdRelease, "--ignore-not-found") })

	out, err := helmIn("install", crdRelease, chart)
	if want := `CustomResourceDefinition "apps.taskgate.dev" in namespace "" exists and cannot be imported into the current release: invalid ownership metadata`; err == nil || !strings.Contains(out, want) {
		t.Fatalf("helm install over CRDs Helm did not create: %v\n%s\nwant %q", err, out, want)
	}
	// docs/install.md, "From a chart that had crds/".
	for _, name := range crdNames {
		mustKubectl(t, "", "label", "crd", name, "app.kubernetes.io/managed-by=Helm", "--overwrite")
		mustKubectl(t, "", "annotate", "crd", name, "--overwrite", "meta.helm.sh/release-name="+crdRelease, "meta.helm.sh/release-namespace="+chartNamespace)
	}
	out, err = helmIn("install", crdRelease, chart)
	if want := `conflict occurred while applying object /tasks.taskgate.dev apiextensions.k8s.io/v1, Kind=CustomResourceDefinition: Apply failed with 1 conflict: conflict with "e2e.test"`; err == nil || !strings.Contains(out, want) {
		t.Fatalf("helm install of a changed CRD over one another manager applied: %v\n%s\nwant %q", err, out, want)
	}
	if out, err := helmIn("upgrade", "--install", crdRelease, chart, "--force-conflicts"); err != nil {
		t.Fatalf("helm upgrade --install --force-conflicts after the CRDs were labelled and annotated: %v\n%s", err, out)
	}
	for _, name := range crdNames {
		crd, err := getCRD(t, name)
		if err != nil {
			t.Fatal(err)
		}
		if crd.Labels["helm.sh/chart"] == "" || crd.Annotations["helm.sh/resource-policy"] != "keep" {
			t.Errorf("the adopted CRD %s has labels %v and annotations %v; want the chart's label and the keep annotation", name, crd.Labels, crd.Annotations)
		}
		if name == "tasks.taskgate.dev" && !slices.Contains(crd.Spec.Versions[0].AdditionalPrinterColumns, column) {
			t.Errorf("the adopted CRD %s has printer columns %+v; want the chart's, with %+v", name, crd.Spec.Versions[0].AdditionalPrinterColumns, column)
		}
	}
	if out, err := helmIn("uninstall", crdRelease, "--wait"); err != nil || !strings.Contains(out, "These resources were kept due to the resource policy") {
		t.Errorf("helm uninstall: %v\n%s\nwant it to say it kept the CRDs", err, out)
	}
	for _, name := range crdNames {
		crd, err := getCRD(t, name)
		if err != nil {
			t.Errorf("after helm uninstall with crds.keep: %v", err)
		} else if crd.UID != uids[name] || crd.DeletionTimestamp != nil {
			t.Errorf("after helm uninstall with crds.keep the CRD %s has UID %s (was %s) and deletionTimestamp %v; want it untouched", name, crd.UID, uids[name], crd.DeletionTimestamp)
		}
	}
}

// getCRD reads a CustomResourceDefinition with kubectl (the suite's client
// does not know the type).
func getCRD(t *testing.T, name string) (*apiextensionsv1.CustomResourceDefinition, error) {
	t.Helper()
	out, err := kubectl(t, "", "get", "crd", name, "-o", "json")
	if err != nil {
		return nil, fmt.Errorf("kubectl get crd %s: %w: %s", name, err, out)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := json.Unmarshal([]byte(out), crd); err != nil {
		return nil, fmt.Errorf("decoding CRD %s: %w", name, err)
	}
	return crd, nil
}
