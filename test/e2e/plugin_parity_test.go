package e2e

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/test/localcluster"
)

// TestPluginParity runs the rows of docs/user-guide.md's parity table that
// issue 26 added: cf's and Kf's spellings of run, `kubectl task APP ID`,
// -o through cli-runtime's printers, list -A, and logs -f exiting with the
// task's result.
func TestPluginParity(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	newApp(t, c, ns, "shop")

	// cf run-task APP "CMD" --name NAME, twice: --name is a display name,
	// so the second run is a second Task, not AlreadyExists.
	var names []string
	for i, id := range []string{"1", "2"} {
		res := mustKubectlTask(t, ns, "run", "shop", "bundle exec rake db:migrate", "--name", "nightly", "--wait")
		name, got := created(t, res.stdout)
		if got != id || !strings.HasPrefix(name, "shop-") || slices.Contains(names, name) {
			t.Fatalf("run %d: created %s with ID %s; want a new shop-<suffix> with ID %s\n%s", i+1, name, got, id, res)
		}
		task := getTask(t, c, ns, name)
		if task.Spec.DisplayName != "nightly" || task.Spec.Command != "bundle exec rake db:migrate" {
			t.Fatalf("run %d: displayName %q, command %q", i+1, task.Spec.DisplayName, task.Spec.Command)
		}
		names = append(names, name)
	}
	wantFailure(t, kubectlTask(t, ns, "run", "shop", "true", "-c", "false"),
		"error: give the command once: as the second argument or with -c, not both")

	// kf run-task's flag names.
	res := mustKubectlTask(t, ns, "run", "shop", "-c", "bin/report", "--cpu-cores", "250m", "--memory-limit", "512M", "--disk-quota", "1G")
	kf, _ := created(t, res.stdout)
	limits := getTask(t, c, ns, kf).Spec.Resolved.Resources.Limits
	for resource, want := range map[corev1.ResourceName]string{corev1.ResourceCPU: "250m", corev1.ResourceMemory: "512Mi", corev1.ResourceEphemeralStorage: "1Gi"} {
		if q := limits[resource]; q.String() != want {
			t.Errorf("kf flags: %s limit = %s, want %s", resource, q.String(), want)
		}
	}

	// -o name prints only what kubectl would, for scripts.
	res = mustKubectlTask(t, ns, "run", "shop", "-c", "true", "-o", "name")
	m := regexp.MustCompile(`^task\.taskgate\.dev/(shop-[a-z0-9]{5})\n$`).FindStringSubmatch(res.stdout)
	if m == nil {
		t.Fatalf("run -o name: %s", res)
	}
	if name, id := created(t, res.stderr); name != m[1] || id != "4" {
		t.Fatalf("run -o name reported %s (ID %s) on stderr; want %s (ID 4)", name, id, m[1])
	}
	res = mustKubectlTask(t, ns, "run", "shop", "-c", "true", "--name", "json", "-o", "json")
	var printed v1alpha1.Task
	if err := json.Unmarshal([]byte(res.stdout), &printed); err != nil {
		t.Fatalf("run -o json: %v\n%s", err, res)
	}
	if printed.Kind != "Task" || printed.APIVersion != "taskgate.dev/v1alpha1" || printed.Status.ID != 5 || printed.Spec.DisplayName != "json" {
		t.Fatalf("run -o json printed kind %q, apiVersion %q, ID %d, displayName %q", printed.Kind, printed.APIVersion, printed.Status.ID, printed.Spec.DisplayName)
	}
	wantFailure(t, kubectlTask(t, ns, "run", "shop", "-c", "true", "-o", "json", "-f"),
		"error: -o and --follow both write to standard output: use one, or --wait with -o")

	// cf task APP ID: one Task's details.
	first := getTask(t, c, ns, names[0])
	res = mustKubectlTask(t, ns, "shop", "1")
	want := "" +
		"id:               1\n" +
		"name:             nightly\n" +
		"task:             " + names[0] + "\n" +
		"app:              shop\n" +
		"state:            Succeeded\n" +
		"start time:       " + first.Status.StartTime.UTC().Format("2006-01-02T15:04:05Z") + "\n"
	if !strings.HasPrefix(res.stdout, want) || !strings.Contains(res.stdout, "\ncommand:          bundle exec rake db:migrate\n") ||
		!strings.Contains(res.stdout, "\nexit code:        0\n") {
		t.Fatalf("kubectl task shop 1: want it to start with\n%s\nand show the command and exit code 0; got %s", want, res)
	}
	if res := mustKubectlTask(t, ns, "get", "shop", "2", "-o", "jsonpath={.metadata.name} {.spec.displayName}"); res.stdout != names[1]+" nightly" {
		t.Fatalf("get shop 2 -o jsonpath: %s", res)
	}
	// get's -o is list's: custom-columns, and wide as list's row.
	if res := mustKubectlTask(t, ns, "shop", "2", "-o", "custom-columns=ID:.status.id,NAME:.spec.displayName,STATE:.status.state"); res.stdout != "ID    NAME      STATE\n2     nightly   Succeeded\n" {
		t.Fatalf("kubectl task shop 2 -o custom-columns: %s", res)
	}
	header, rows := parseTable(t, mustKubectlTask(t, ns, "get", "shop", "1", "-o", "wide").stdout)
	if got := strings.Join(header, "|") + " " + cells(rows, "NAME", "ID", "APP", "DISPLAY NAME", "STATE", "EXIT CODE", "COMMAND"); got != "NAME|ID|APP|DISPLAY NAME|STATE|STARTED|DURATION|AGE|EXIT CODE|POD|REASON|COMMAND "+names[0]+" 1 shop nightly Succeeded 0 bundle exec rake db:migrate" {
		t.Fatalf("get shop 1 -o wide = %q", got)
	}
	wantFailure(t, kubectlTask(t, ns, "shop", "99"), "error: App shop has no Task with ID 99 in namespace "+ns)
	wantFailure(t, kubectlTask(t, ns, "lst", "shop"), `error: unknown command "lst" for "kubectl task"`)

	// list -A: every namespace, with the namespace first.
	other := newNamespace(t, c)
	newApp(t, c, other, "web")
	mustKubectlTask(t, other, "run", "web", "--name", "elsewhere")
	header, rows = parseTable(t, mustKubectlTask(t, ns, "list", "-A", "-o", "wide").stdout)
	if got := strings.Join(header, "|"); got != "NAMESPACE|NAME|ID|APP|DISPLAY NAME|STATE|STARTED|DURATION|AGE|EXIT CODE|POD|REASON|COMMAND" {
		t.Fatalf("list -A -o wide header = %q", got)
	}
	var order []string
	for _, r := range rows {
		if r["NAMESPACE"] == ns || r["NAMESPACE"] == other {
			order = append(order, cells([]map[string]string{r}, "NAMESPACE", "APP", "ID", "DISPLAY NAME"))
		}
	}
	wantOrder := []string{ns + " shop 1 nightly", ns + " shop 2 nightly", ns + " shop 3 ", ns + " shop 4 ", ns + " shop 5 json", other + " web 1 elsewhere"}
	// Namespaces sort by name; so must the expectation.
	slices.SortStableFunc(wantOrder, func(a, b string) int { return strings.Compare(strings.Fields(a)[0], strings.Fields(b)[0]) })
	if !slices.Equal(order, wantOrder) {
		t.Fatalf("list -A rows of this test = %q, want %q", order, wantOrder)
	}

	// list through kubectl's printers, and the table without its header.
	if res := mustKubectlTask(t, ns, "list", "shop", "-o", "name"); res.stdout != "task.taskgate.dev/"+strings.Join(append(names, kf, m[1], printed.Name), "\ntask.taskgate.dev/")+"\n" {
		t.Fatalf("list -o name: %s", res)
	}
	if res := mustKubectlTask(t, ns, "list", "shop", "-o", `jsonpath={range .items[*]}{.status.id}:{.spec.displayName} {end}`); res.stdout != "1:nightly 2:nightly 3: 4: 5:json " {
		t.Fatalf("list -o jsonpath: %s", res)
	}
	if res := mustKubectlTask(t, ns, "list", "shop", "--no-headers"); !strings.HasPrefix(res.stdout, names[0]+"   1   ") || strings.Count(res.stdout, "\n") != 5 {
		t.Fatalf("list --no-headers: %s", res)
	}
	// custom-columns and --sort-by, kubectl's: by name, not by ID.
	var byName []string
	for i, name := range append(names, kf, m[1], printed.Name) {
		byName = append(byName, fmt.Sprintf("%s   %d\n", name, i+1))
	}
	slices.Sort(byName)
	if res := mustKubectlTask(t, ns, "list", "shop", "-o", "custom-columns=NAME:.metadata.name,ID:.status.id", "--sort-by", ".metadata.name", "--no-headers"); res.stdout != strings.Join(byName, "") {
		t.Fatalf("list -o custom-columns --sort-by .metadata.name --no-headers: want\n%s\ngot %s", strings.Join(byName, ""), res)
	}

	// logs -f exits with the task's result: while it runs, and after.
	_, logs := logsFile(t, "migrating", "relation already exists")
	failing, _ := created(t, mustKubectlTask(t, ns, "run", "shop", "-c", "rake db:migrate", "--annotation", logs,
		"--annotation", localcluster.AnnotationExitCode+"=4", "--annotation", localcluster.AnnotationRunTime+"=4s").stdout)
	for _, when := range []string{"while it runs", "after it ended"} {
		res = kubectlTask(t, ns, "logs", "shop", "6", "-f")
		if res.stdout != "migrating\nrelation already exists\n" {
			t.Fatalf("logs -f %s: stdout %q", when, res.stdout)
		}
		wantExit(t, res, 4, "error: Task "+failing+" (ID 6) failed: Exited with status 4")
	}

	// --timestamps and --since, passed to the kubelet as kubectl logs does.
	res = mustKubectlTask(t, ns, "logs", "shop", "6", "--timestamps")
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z migrating\n\S+ relation already exists\n$`).MatchString(res.stdout) {
		t.Fatalf("logs --timestamps: %s", res)
	}
	if res := mustKubectlTask(t, ns, "logs", "shop", "6", "--since", "1h"); res.stdout != "migrating\nrelation already exists\n" {
		t.Fatalf("logs --since 1h: %s", res)
	}

	// wait: the outcome, and the exit status of a failed command.
	if res := mustKubectlTask(t, ns, "wait", "shop", "1"); !regexp.MustCompile(`^Task ` + names[0] + ` \(ID 1\) succeeded in \d+s\n$`).MatchString(res.stdout) {
		t.Fatalf("wait shop 1: %s", res)
	}
	wantExit(t, kubectlTask(t, ns, "wait", failing), 4, "error: Task "+failing+" (ID 6) failed: Exited with status 4")

	// version, and completion as kubectl asks for it through
	// kubectl_complete-task: the Apps, then an App's Task IDs.
	if res := mustKubectlTask(t, ns, "version"); !strings.HasPrefix(res.stdout, "kubectl-task ") {
		t.Fatalf("version: %s", res)
	}
	if res := mustKubectlTask(t, ns, "__complete", "logs", ""); res.stdout != "shop\n:4\n" {
		t.Fatalf("completing an App: %s", res)
	}
	res = mustKubectlTask(t, ns, "__complete", "terminate", "shop", "")
	var ids []string
	for _, l := range strings.Split(res.stdout, "\n") {
		if id, _, ok := strings.Cut(l, "\t"); ok {
			ids = append(ids, id)
		}
	}
	if strings.Join(ids, " ") != "1 2 3 4 5 6" {
		t.Fatalf("completing a Task ID: %s", res)
	}
}

// TestPluginWaitNeedsWatch shows what the plugin's waits ask of the user,
// who acts as themself (--as here): watch on Tasks besides get, list and
// create. Without it, run --wait says so at once instead of hanging on a
// reflector that retries for ever.
func TestPluginWaitNeedsWatch(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	newApp(t, c, ns, "shop")
	grant(t, c, ns, "dev", "runner",
		rbacv1.PolicyRule{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"tasks"}, Verbs: []string{"create", "get", "list"}},
		rbacv1.PolicyRule{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"apps"}, Verbs: []string{"get", "list"}})

	res := kubectlTask(t, ns, "--as", "dev", "run", "shop", "-c", "true", "--wait")
	// Not even the ID can be waited for: the Task is created, and said to
	// be so.
	m := regexp.MustCompile(`(?m)^Task (shop-[a-z0-9]{5}) of App shop created; its ID is pending, as taskgate has not assigned it yet \(see kubectl task list shop\)$`).FindStringSubmatch(res.stdout)
	if m == nil {
		t.Fatalf("run --wait without watch: %s", res)
	}
	name := m[1]
	wantFailure(t, res, `error: watching Task `+name+`, which waiting needs: tasks.taskgate.dev `)
	if want := ` is forbidden: User "dev" cannot watch resource "tasks" in API group "taskgate.dev" in the namespace "` + ns + `"`; !strings.Contains(res.stderr, want) {
		t.Fatalf("run --wait without watch: want %q in stderr; got %s", want, res)
	}

	grant(t, c, ns, "dev", "watcher",
		rbacv1.PolicyRule{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"tasks"}, Verbs: []string{"watch"}})
	res = mustKubectlTask(t, ns, "--as", "dev", "wait", name)
	if want := "Task " + name + " (ID 1) succeeded in "; !strings.HasPrefix(res.stdout, want) {
		t.Fatalf("wait with watch granted: want %q; got %s", want, res)
	}
}
