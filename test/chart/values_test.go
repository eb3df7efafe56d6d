package chart

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// schemaError is how helm reports a value values.schema.json refuses.
func schemaError(detail string) string {
	return "values don't meet the specifications of the schema(s) in the following chart(s):\ntaskgate:\n" + detail
}

// TestBadValues asserts the exact error of each kind of bad value: the
// value's path, what is wrong and, where the chart says it, the fix.
func TestBadValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--set", "globall.x=1"}, schemaError("- at '': additional properties 'globall' not allowed")},
		{[]string{"--set", "global=1"}, schemaError("- at '/global': got number, want object")},
		{[]string{"--set", "fullnameOverride=Bad_Name"}, schemaError("- at '/fullnameOverride': 'Bad_Name' does not match pattern '^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$'")},
		{[]string{"--set", "fullnameOverride=" + strings.Repeat("a", 56)}, schemaError("- at '/fullnameOverride': maxLength: got 56, want 55")},
		{[]string{"--set", "crds.enabled=yes"}, schemaError("- at '/crds/enabled': got string, want boolean")},
		{[]string{"--set", "crds.keeep=true"}, schemaError("- at '/crds': additional properties 'keeep' not allowed")},
		{[]string{"--set", "webhook.validateApps.failurePolicy=Ignore"}, schemaError("- at '/webhook/validateApps': additional properties 'failurePolicy' not allowed")},
		{[]string{"--set", "webhook.validateTasks.objectSelector.matchLabels.a=b"}, schemaError("- at '/webhook/validateTasks': additional properties 'objectSelector' not allowed")},
		{[]string{"--set", "webhook.mutateTasks.namespaceSelector.matchLabels.a=b"}, schemaError("- at '/webhook/mutateTasks': additional properties 'namespaceSelector' not allowed")},
		{[]string{"--set", "webhook.mutateJobs.failurePolicy=Sometimes"}, schemaError("- at '/webhook/mutateJobs/failurePolicy': value must be one of 'Fail', 'Ignore'")},
		{[]string{"--set", "webhook.mutateJobs.timeoutSeconds=31"}, schemaError("- at '/webhook/mutateJobs/timeoutSeconds': maximum: got 31, want 30")},
		{[]string{"--set", "webhook.mutateJobs.objectSelector.matchExpressions[0].key=a", "--set", "webhook.mutateJobs.objectSelector.matchExpressions[0].operator=Is"},
			schemaError("- at '/webhook/mutateJobs/objectSelector/matchExpressions/0/operator': value must be one of 'In', 'NotIn', 'Exists', 'DoesNotExist'")},
		{[]string{"--set", "webhook.validatePolicy.namespaceSelector.matchLabels.a=b"}, schemaError("- at '/webhook/validatePolicy': additional properties 'namespaceSelector' not allowed")},
		{[]string{"--set", "podSecurityContext.runAsUser=-1"}, schemaError("- at '/podSecurityContext/runAsUser': minimum: got -1, want 0")},
		{[]string{"--set", "securityContext.runAsUsr=1"}, schemaError("- at '/securityContext': additional properties 'runAsUsr' not allowed")},
		{[]string{"--set", "manager.extraEnv[0].value=x"}, schemaError("- at '/manager/extraEnv/0': missing property 'name'")},
		{[]string{"--set", "manager.extraVolumeMounts[0].name=tmp"}, schemaError("- at '/manager/extraVolumeMounts/0': missing property 'mountPath'")},
		{[]string{"--set", "serviceAccount.create=no"}, schemaError("- at '/serviceAccount/create': got string, want boolean")},
		{[]string{"--set", "manager.logFormat=xml"}, schemaError("- at '/manager/logFormat': value must be one of 'text', 'json'")},
		{[]string{"--set", "manager.shutdownDrain=1.5s"}, schemaError("- at '/manager/shutdownDrain': '1.5s' does not match pattern '^(0|([0-9]+(h|ms|m|s))+)$'")},
		{[]string{"--set", "manager.gracefulShutdownTimeout=1d"}, schemaError("- at '/manager/gracefulShutdownTimeout': '1d' does not match pattern '^(0|([0-9]+(h|ms|m|s))+)$'")},
		{[]string{"--set", "manager.shutdownDrain=500us"}, schemaError("- at '/manager/shutdownDrain': '500us' does not match pattern '^(0|([0-9]+(h|ms|m|s))+)$'")},
		{[]string{"--set", "policy.tasks.launcherDetection.registries[0]=*.example.com"},
			schemaError("- at '/policy/tasks/launcherDetection/registries/0': '*.example.com' does not match pattern '^[^*?/]+$'")},
		{[]string{"--set", "policy.tasks.launcherDetection.registry[0]=ghcr.io"},
			schemaError("- at '/policy/tasks/launcherDetection': additional properties 'registry' not allowed")},
		// What the schema cannot see, the templates refuse with a sentence.
		{[]string{"--set", "serviceAccount.create=false"},
			"execution error at (taskgate/templates/rbac.yaml:93:4): serviceAccount.name is required when serviceAccount.create is false: set it to an existing ServiceAccount in the release namespace for the manager, or set serviceAccount.create=true"},
		{[]string{"--set", "serviceAccount.name=default"},
			`execution error at (taskgate/templates/serviceaccount.yaml:5:11): serviceAccount.name is "default": every pod in the release namespace that names no ServiceAccount would get the manager's RBAC; name a ServiceAccount only the manager uses`},
		{[]string{"--set", "manager.extraEnv[0].name=GOGC", "--set-string", "manager.extraEnv[0].value=100"},
			"execution error at (taskgate/templates/deployment.yaml:14:4): manager.extraEnv[0].name: GOGC is set by the chart (GOGC from manager.gcPercent, GOMEMLIMIT from resources.limits.memory); remove it from manager.extraEnv"},
		{[]string{"--set", "manager.extraVolumes[0].name=webhook-tls"},
			"execution error at (taskgate/templates/deployment.yaml:19:4): manager.extraVolumes[0].name: webhook-tls is the chart's volume for the serving certificate; give the volume another name"},
	} {
		if got := renderError(t, tc.args...); got != tc.want {
			t.Errorf("helm template %s:\n%s\nwant:\n%s", strings.Join(tc.args, " "), got, tc.want)
		}
	}
}

// TestDurations checks that the chart adds up the manager's shutdown
// durations exactly, whatever their units: terminationGracePeriodSeconds
// equal to shutdownDrain + gracefulShutdownTimeout (30s) is refused with
// the sum, one second more is accepted.
func TestDurations(t *testing.T) {
	for _, tc := range []struct {
		drain   string
		seconds int
	}{
		{"30000ms", 30},
		{"90s", 90},
		{"2m", 120},
		{"1h30m", 5400},
		{"1m30s500ms", 91}, // 120.5 s in all: the grace period must exceed it
		{"0", 0},
	} {
		needed := tc.seconds + 30
		sum := fmt.Sprintf("%ds", needed)
		grace := needed
		if tc.drain == "1m30s500ms" {
			sum, grace = "120500ms", 120
		}
		got := renderError(t, "--set-string", "manager.shutdownDrain="+tc.drain, "--set", fmt.Sprintf("terminationGracePeriodSeconds=%d", grace))
		want := fmt.Sprintf("execution error at (taskgate/templates/deployment.yaml:8:4): terminationGracePeriodSeconds (%d) must exceed manager.shutdownDrain + manager.gracefulShutdownTimeout (%s + 30s = %s), or the kubelet kills the manager mid-shutdown: raise it or shorten them", grace, tc.drain, sum)
		if got != want {
			t.Errorf("shutdownDrain %s:\n%s\nwant:\n%s", tc.drain, got, want)
		}
		objs := render(t, "--set-string", "manager.shutdownDrain="+tc.drain, "--set", fmt.Sprintf("terminationGracePeriodSeconds=%d", grace+1))
		spec := podSpec(t, objs, fullname)
		if got := field[float64](spec, "terminationGracePeriodSeconds"); got != float64(grace+1) {
			t.Errorf("shutdownDrain %s: terminationGracePeriodSeconds %v, want %d", tc.drain, got, grace+1)
		}
		if args := field[[]any](spec, "containers", 0, "args"); !slices.Contains(args, any("--shutdown-drain="+tc.drain)) {
			t.Errorf("shutdownDrain %s: the manager's args %v", tc.drain, args)
		}
	}
}

// TestWebhookValues renders the webhook settings that are values away from
// their defaults (ci/custom-values.yaml) and checks each webhook exactly.
func TestWebhookValues(t *testing.T) {
	objs := render(t, "--values", "charts/taskgate/ci/custom-values.yaml")
	name := "platform-taskgate"
	hooks := map[string]map[string]any{}
	for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
		for _, h := range field[[]any](find(t, objs, kind, name), "webhooks") {
			hooks[kind[:1]+" "+field[string](h, "name")] = h.(map[string]any)
		}
	}
	system := y(t, `{key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, kube-node-lease, `+namespace+`]}`)
	for hook, want := range map[string]struct {
		failurePolicy     string
		timeoutSeconds    float64
		namespaceSelector any
		objectSelector    any
	}{
		"M tasks.taskgate.dev": {"Fail", 10, map[string]any{"matchExpressions": []any{system}}, nil},
		"V tasks.taskgate.dev": {"Fail", 10, map[string]any{"matchExpressions": []any{system}}, nil},
		"V apps.taskgate.dev":  {"Fail", 15, map[string]any{"matchExpressions": []any{system}}, nil},
		// Not a value: it waits on a dry run that calls the Task webhooks.
		"V taskschedules.taskgate.dev": {"Fail", 30, map[string]any{"matchExpressions": []any{system}}, nil},
		"M jobs.taskgate.dev": {"Fail", 3,
			map[string]any{"matchLabels": map[string]any{"taskgate.dev/jobs": "enabled"}, "matchExpressions": []any{system}},
			y(t, `{matchExpressions: [{key: taskgate.dev/policy, operator: NotIn, values: [disabled]}, {key: example.com/batch-system, operator: DoesNotExist}]}`)},
		"V policy.taskgate.dev": {"Ignore", 10, y(t, `{matchLabels: {kubernetes.io/metadata.name: `+namespace+`}}`), nil},
	} {
		h, ok := hooks[hook]
		if !ok {
			t.Errorf("no webhook %s rendered; got %v", hook, slices.Sorted(mapsKeys(hooks)))
			continue
		}
		got := struct {
			failurePolicy     string
			timeoutSeconds    float64
			namespaceSelector any
			objectSelector    any
		}{field[string](h, "failurePolicy"), field[float64](h, "timeoutSeconds"), h["namespaceSelector"], h["objectSelector"]}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("webhook %s:\n%+v\nwant\n%+v", hook, got, want)
		}
	}
	if len(hooks) != 6 {
		t.Errorf("%d webhooks rendered, want 6", len(hooks))
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestCRDs checks that the CRDs are rendered from files/crds exactly as
// controller-gen wrote them, but for the chart's labels and, with
// crds.keep, Helm's keep annotation; and not at all without crds.enabled.
func TestCRDs(t *testing.T) {
	if _, err := os.Stat(filepath.Join(chartDir(t), "crds")); !os.IsNotExist(err) {
		t.Errorf("charts/taskgate/crds exists (%v): Helm would install those CRDs once and never upgrade them", err)
	}
	files, err := filepath.Glob(filepath.Join(chartDir(t), "files", "crds", "*.yaml"))
	if err != nil || len(files) != 4 {
		t.Fatalf("files/crds holds %v (%v), want the four CRDs", files, err)
	}
	labels := map[string]any{
		"app.kubernetes.io/name": "taskgate", "app.kubernetes.io/instance": release, "app.kubernetes.io/managed-by": "Helm",
		"app.kubernetes.io/version": chartField(t, "appVersion"), "helm.sh/chart": "taskgate-" + chartField(t, "version"),
	}
	for _, tc := range []struct {
		args []string
		keep bool
	}{
		{nil, true},
		{[]string{"--set", "crds.keep=false"}, false},
	} {
		objs := render(t, tc.args...)
		crds := all(objs, "CustomResourceDefinition")
		if len(crds) != len(files) {
			t.Errorf("%v: %d CRDs rendered, want %d", tc.args, len(crds), len(files))
		}
		for _, f := range files {
			gen := decodeFile(t, filepath.Join("charts", "taskgate", "files", "crds", filepath.Base(f)))[0]
			got := find(t, objs, "CustomResourceDefinition", field[string](gen, "metadata", "name"))
			meta := field[map[string]any](gen, "metadata")
			meta["labels"] = labels
			if tc.keep {
				meta["annotations"].(map[string]any)["helm.sh/resource-policy"] = "keep"
			}
			if !reflect.DeepEqual(got, gen) {
				t.Errorf("%v: the rendered %s differs from %s but for labels and annotations:\n%v\nwant\n%v", tc.args, field[string](gen, "metadata", "name"), filepath.Base(f), got["metadata"], gen["metadata"])
			}
		}
	}
	if crds := all(render(t, "--set", "crds.enabled=false"), "CustomResourceDefinition"); len(crds) != 0 {
		t.Errorf("crds.enabled=false renders %d CRDs", len(crds))
	}
}

// chartField reads a top-level string of Chart.yaml.
func chartField(t *testing.T, key string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chartDir(t), "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var chart map[string]any
	if err := yaml.Unmarshal(b, &chart); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(chart[key])
}

// TestServiceAccount checks where the manager's RBAC goes: to the chart's
// ServiceAccount, or with serviceAccount.create=false to the one named, in
// every binding, the watched namespaces' included.
func TestServiceAccount(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		name   string
		create bool
	}{
		{nil, fullname, true},
		{[]string{"--set", "serviceAccount.name=taskgate-manager"}, "taskgate-manager", true},
		{[]string{"--values", "charts/taskgate/ci/existing-serviceaccount-values.yaml", "--set", "watchNamespaces={team-a}"}, "taskgate-manager", false},
	} {
		// The uninstall hook's ServiceAccount and binding are its own
		// (TestUninstallHook).
		objs := render(t, append(tc.args, "--set", "cleanupOnUninstall=false")...)
		sas := all(objs, "ServiceAccount")
		switch {
		case tc.create && (len(sas) != 1 || field[string](sas[0], "metadata", "name") != tc.name):
			t.Errorf("%v: ServiceAccounts rendered %v, want one named %s", tc.args, sas, tc.name)
		case !tc.create && len(sas) != 0:
			t.Errorf("%v: a ServiceAccount is rendered with serviceAccount.create=false: %v", tc.args, sas)
		}
		if got := field[string](podSpec(t, objs, fullname), "serviceAccountName"); got != tc.name {
			t.Errorf("%v: the manager runs as %q, want %s", tc.args, got, tc.name)
		}
		var bindings []string
		for _, kind := range []string{"ClusterRoleBinding", "RoleBinding"} {
			for _, b := range all(objs, kind) {
				bindings = append(bindings, kind+" "+field[string](b, "metadata", "namespace"))
				want := []any{map[string]any{"kind": "ServiceAccount", "name": tc.name, "namespace": namespace}}
				if !reflect.DeepEqual(b["subjects"], want) {
					t.Errorf("%v: %s in %q binds %v, want %v", tc.args, kind, field[string](b, "metadata", "namespace"), b["subjects"], want)
				}
			}
		}
		sort.Strings(bindings)
		wantBindings := []string{"ClusterRoleBinding ", "RoleBinding " + namespace}
		if !tc.create {
			wantBindings = append(wantBindings, "RoleBinding team-a")
		}
		sort.Strings(wantBindings)
		if !slices.Equal(bindings, wantBindings) {
			t.Errorf("%v: bindings %v, want %v", tc.args, bindings, wantBindings)
		}
	}
}

// TestNames checks fullnameOverride and nameOverride: every object is
// named after them, and everything that refers to an object by name
// follows.
func TestNames(t *testing.T) {
	for _, tc := range []struct {
		args           []string
		fullname, name string
	}{
		{[]string{"--set", "fullnameOverride=platform-gate"}, "platform-gate", "taskgate"},
		{[]string{"--set", "nameOverride=gate"}, release + "-gate", "gate"},
	} {
		objs := render(t, tc.args...)
		for _, obj := range objs {
			kind, name := field[string](obj, "kind"), field[string](obj, "metadata", "name")
			if kind == "CustomResourceDefinition" || (kind == "ConfigMap" && name == "taskgate-policy") {
				continue // named by the API and by the manager's --policy-configmap
			}
			if !strings.HasPrefix(name, tc.fullname) {
				t.Errorf("%v: %s %s is not named after %s", tc.args, kind, name, tc.fullname)
			}
			if got := field[string](obj, "metadata", "labels", "app.kubernetes.io/name"); got != tc.name {
				t.Errorf("%v: %s %s has app.kubernetes.io/name %q, want %s", tc.args, kind, name, got, tc.name)
			}
		}
		svc := find(t, objs, "Service", tc.fullname+"-webhook")
		dep := find(t, objs, "Deployment", tc.fullname)
		if sel, pod := field[map[string]any](svc, "spec", "selector"), field[map[string]any](dep, "spec", "template", "metadata", "labels"); field[string](sel, "app.kubernetes.io/name") != tc.name || pod["app.kubernetes.io/name"] != tc.name {
			t.Errorf("%v: the Service selects %v; the pods are labelled %v", tc.args, sel, pod)
		}
		for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
			hooks := find(t, objs, kind, tc.fullname)
			if got := field[string](hooks, "metadata", "annotations", "cert-manager.io/inject-ca-from"); got != namespace+"/"+tc.fullname+"-webhook" {
				t.Errorf("%v: %s injects the CA of %q", tc.args, kind, got)
			}
			for i := range field[[]any](hooks, "webhooks") {
				if got := field[string](hooks, "webhooks", i, "clientConfig", "service", "name"); got != tc.fullname+"-webhook" {
					t.Errorf("%v: %s webhook %d calls Service %q", tc.args, kind, i, got)
				}
			}
		}
		cert := find(t, objs, "Certificate", tc.fullname+"-webhook")
		if got := field[string](cert, "spec", "dnsNames", 0); got != tc.fullname+"-webhook."+namespace+".svc" {
			t.Errorf("%v: the serving certificate is for %q", tc.args, got)
		}
		if got := field[string](podSpec(t, objs, tc.fullname), "volumes", 0, "secret", "secretName"); got != field[string](cert, "spec", "secretName") {
			t.Errorf("%v: the manager mounts Secret %q; the Certificate writes %q", tc.args, got, field[string](cert, "spec", "secretName"))
		}
	}
}

// TestSecurityContexts checks the security contexts' defaults, that
// OpenShift's values drop the fixed IDs, and that a value replaces a
// default key by key.
func TestSecurityContexts(t *testing.T) {
	container := y(t, `{allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}}`)
	for _, tc := range []struct {
		args           []string
		pod, container any
	}{
		{nil, y(t, `{runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: {type: RuntimeDefault}}`), container},
		{[]string{"--values", "charts/taskgate/ci/openshift-values.yaml"}, y(t, `{runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}`), container},
		{[]string{"--set", "podSecurityContext.fsGroupChangePolicy=OnRootMismatch", "--set", "securityContext.runAsUser=1000"},
			y(t, `{runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, fsGroupChangePolicy: OnRootMismatch, seccompProfile: {type: RuntimeDefault}}`),
			y(t, `{allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 1000, capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}}`)},
	} {
		spec := podSpec(t, render(t, tc.args...), fullname)
		if got := spec["securityContext"]; !reflect.DeepEqual(got, tc.pod) {
			t.Errorf("%v: the pod's securityContext %v, want %v", tc.args, got, tc.pod)
		}
		if got := field[any](spec, "containers", 0, "securityContext"); !reflect.DeepEqual(got, tc.container) {
			t.Errorf("%v: the container's securityContext %v, want %v", tc.args, got, tc.container)
		}
	}
}

// TestSchemaCoversSecurityContexts keeps the schema of podSecurityContext
// and securityContext in step with the Kubernetes types: every field is
// allowed, and nothing else.
func TestSchemaCoversSecurityContexts(t *testing.T) {
	var schema map[string]any
	readJSON(t, filepath.Join(chartDir(t), "values.schema.json"), &schema)
	for value, typ := range map[string]reflect.Type{
		"podSecurityContext": reflect.TypeFor[corev1.PodSecurityContext](),
		"securityContext":    reflect.TypeFor[corev1.SecurityContext](),
	} {
		var want, got []string
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			want = append(want, name)
		}
		s := field[map[string]any](schema, "properties", value)
		if s["additionalProperties"] != false {
			t.Errorf("schema %s: additionalProperties is not false", value)
		}
		for name := range field[map[string]any](s, "properties") {
			got = append(got, name)
		}
		sort.Strings(want)
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("schema %s allows %v; corev1.%s has %v", value, got, typ.Name(), want)
		}
	}
}

// TestExtraEnvAndVolumes checks that the extra env vars, volumes and
// mounts come after the chart's own, as given.
func TestExtraEnvAndVolumes(t *testing.T) {
	spec := podSpec(t, render(t, "--values", "charts/taskgate/ci/custom-values.yaml"), "platform-taskgate")
	var env []string
	for _, e := range field[[]any](spec, "containers", 0, "env") {
		env = append(env, field[string](e, "name"))
	}
	if want := []string{"POD_NAMESPACE", "GOMEMLIMIT", "GOGC", "HTTPS_PROXY", "NO_PROXY"}; !slices.Equal(env, want) {
		t.Errorf("env %v, want %v", env, want)
	}
	if got, want := field[any](spec, "containers", 0, "env", 4), y(t, `{name: NO_PROXY, valueFrom: {configMapKeyRef: {name: proxy, key: no-proxy}}}`); !reflect.DeepEqual(got, want) {
		t.Errorf("env NO_PROXY %v, want %v", got, want)
	}
	if got, want := field[[]any](spec, "volumes")[1:], y(t, `[{name: tmp, emptyDir: {sizeLimit: 16Mi}}]`); !reflect.DeepEqual(got, want) {
		t.Errorf("extra volumes %v, want %v", got, want)
	}
	if got, want := field[[]any](spec, "containers", 0, "volumeMounts")[1:], y(t, `[{name: tmp, mountPath: /tmp}]`); !reflect.DeepEqual(got, want) {
		t.Errorf("extra volumeMounts %v, want %v", got, want)
	}
}

// TestNotesLinks renders NOTES.txt, as helm install prints it, and checks
// every link is absolute: chart users have no checkout to resolve a
// relative one in.
func TestNotesLinks(t *testing.T) {
	out, err := helm(t, "install", release, "charts/taskgate", "--namespace", namespace, "--dry-run=client", "--set", "webhook.mutateJobs.failurePolicy=Fail")
	if err != nil {
		t.Fatalf("helm install --dry-run=client: %v\n%s", err, out)
	}
	_, notes, ok := strings.Cut(out, "\nNOTES:\n")
	if !ok {
		t.Fatalf("no NOTES in:\n%s", out)
	}
	var links []string
	for _, word := range strings.Fields(notes) {
		if strings.Contains(word, ".md") || strings.Contains(word, "docs/") {
			links = append(links, word)
		}
	}
	want := []string{
		"https://github.com/taskgate/taskgate/blob/main/docs/policy.md",
		"https://github.com/taskgate/taskgate/blob/main/docs/install.md",
	}
	if !slices.Equal(links, want) {
		t.Errorf("NOTES links %v, want %v:\n%s", links, want, notes)
	}
	if !strings.Contains(notes, "The Job webhook fails closed (webhook.mutateJobs.failurePolicy=Fail)") {
		t.Errorf("NOTES do not warn that the Job webhook fails closed:\n%s", notes)
	}
}

// TestUninstallHook checks the post-delete hook that deletes what helm
// uninstall leaves: its own ServiceAccount, a Role that may get and delete
// only the leader Lease and the chart's certificate Secrets, and a Job of
// the manager's image naming exactly those; without cert-manager, only the
// Lease (the admin's Secret is theirs); with cleanupOnUninstall=false,
// nothing.
func TestUninstallHook(t *testing.T) {
	hook := fullname + "-uninstall"
	for _, tc := range []struct {
		name      string
		args      []string
		secrets   []any
		jobArgs   []any
		noObjects bool
	}{
		{"defaults", nil, []any{fullname + "-ca", fullname + "-webhook-tls"}, []any{
			"uninstall", "--namespace=" + namespace, "--logging-format=text", "--lease=" + fullname + "-manager",
			"--certificate=" + fullname + "-ca", "--secret=" + fullname + "-ca",
			"--certificate=" + fullname + "-webhook", "--secret=" + fullname + "-webhook-tls",
		}, false},
		{"without cert-manager, logging JSON as the manager", []string{"--values", "charts/taskgate/ci/no-certmanager-values.yaml", "--set", "manager.logFormat=json"}, nil, []any{
			"uninstall", "--namespace=" + namespace, "--logging-format=json", "--lease=" + fullname + "-manager",
		}, false},
		{"off", []string{"--set", "cleanupOnUninstall=false"}, nil, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := render(t, tc.args...)
			var hooks []string
			for _, obj := range objs {
				if h := field[string](obj, "metadata", "annotations", "helm.sh/hook"); h != "" {
					hooks = append(hooks, fmt.Sprintf("%s %s %s", obj["kind"], field[string](obj, "metadata", "name"), h))
				}
			}
			var want []string
			if !tc.noObjects {
				want = []string{"Job " + hook + " post-delete", "Role " + hook + " post-delete", "RoleBinding " + hook + " post-delete", "ServiceAccount " + hook + " post-delete"}
			}
			sort.Strings(hooks)
			if !slices.Equal(hooks, want) {
				t.Fatalf("hooks %v, want %v", hooks, want)
			}
			if tc.noObjects {
				return
			}
			rules := []any{map[string]any{"apiGroups": []any{"coordination.k8s.io"}, "resources": []any{"leases"}, "resourceNames": []any{fullname + "-manager"}, "verbs": []any{"get", "delete"}}}
			if tc.secrets != nil {
				rules = append(rules, map[string]any{"apiGroups": []any{""}, "resources": []any{"secrets"}, "resourceNames": tc.secrets, "verbs": []any{"get", "delete"}})
			}
			if got := find(t, objs, "Role", hook)["rules"]; !reflect.DeepEqual(got, rules) {
				t.Errorf("the hook's Role has rules %v, want %v", got, rules)
			}
			subjects := []any{map[string]any{"kind": "ServiceAccount", "name": hook, "namespace": namespace}}
			if got := find(t, objs, "RoleBinding", hook)["subjects"]; !reflect.DeepEqual(got, subjects) {
				t.Errorf("the hook's RoleBinding binds %v, want %v", got, subjects)
			}
			job := find(t, objs, "Job", hook)
			pod := field[map[string]any](job, "spec", "template", "spec")
			if got := field[string](pod, "serviceAccountName"); got != hook {
				t.Errorf("the hook's Job runs as %q, want %s", got, hook)
			}
			container := field[map[string]any](pod, "containers", 0)
			if got := container["args"]; !reflect.DeepEqual(got, tc.jobArgs) {
				t.Errorf("the hook's Job runs %v, want %v", got, tc.jobArgs)
			}
			manager := field[map[string]any](podSpec(t, objs, fullname), "containers", 0)
			if container["image"] != manager["image"] || !reflect.DeepEqual(container["securityContext"], manager["securityContext"]) {
				t.Errorf("the hook's container has image %v and securityContext %v, want the manager's %v and %v", container["image"], container["securityContext"], manager["image"], manager["securityContext"])
			}
		})
	}
}
