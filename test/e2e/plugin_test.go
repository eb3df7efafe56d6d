package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/test/localcluster"
)

// The kubectl task plugin, built once per run from this checkout.
var plugin struct {
	once sync.Once
	path string
	err  error
}

// pluginPath builds cmd/kubectl-task beside the cluster's kubeconfig.
func pluginPath(t *testing.T) string {
	t.Helper()
	plugin.once.Do(func() {
		plugin.path = filepath.Join(cluster.Dir, "kubectl-task")
		cmd := exec.Command("go", "build", "-o", plugin.path, "./cmd/kubectl-task")
		cmd.Dir = cluster.RepoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			plugin.err = fmt.Errorf("building kubectl-task: %v\n%s", err, out)
		}
	})
	if plugin.err != nil {
		t.Fatal(plugin.err)
	}
	return plugin.path
}

// pluginResult is what one run of the plugin printed and how it exited.
type pluginResult struct {
	stdout, stderr string
	code           int
}

func (r pluginResult) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// pluginCommand prepares `kubectl task ARGS` against the cluster, in ns.
func pluginCommand(t *testing.T, ctx context.Context, ns string, args ...string) *exec.Cmd {
	t.Helper()
	return exec.CommandContext(ctx, pluginPath(t), append([]string{"--kubeconfig=" + cluster.Kubeconfig, "-n", ns}, args...)...)
}

// kubectlTask runs `kubectl task ARGS` in ns and waits for it to exit.
func kubectlTask(t *testing.T, ns string, args ...string) pluginResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := pluginCommand(t, ctx, ns, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := pluginResult{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running kubectl task %s: %v", strings.Join(args, " "), err)
	}
	return res
}

// mustKubectlTask is kubectlTask that fails the test unless it exits 0.
func mustKubectlTask(t *testing.T, ns string, args ...string) pluginResult {
	t.Helper()
	res := kubectlTask(t, ns, args...)
	if res.code != 0 {
		t.Fatalf("kubectl task %s: %s", strings.Join(args, " "), res)
	}
	return res
}

// wantFailure checks that a run of the plugin exited 1 with want in its
// error output.
func wantFailure(t *testing.T, res pluginResult, want string) {
	t.Helper()
	wantExit(t, res, 1, want)
}

// wantExit checks that a run of the plugin exited with code and want in
// its error output.
func wantExit(t *testing.T, res pluginResult, code int, want string) {
	t.Helper()
	if res.code != code || !strings.Contains(res.stderr, want) {
		t.Fatalf("want exit %d with %q in stderr; got %s", code, want, res)
	}
}

// createdLine is how run reports a new Task: its name and ID.
var createdLine = regexp.MustCompile(`^Task (\S+) \(ID (\d+)\) of App (\S+) created$`)

// created returns the name and ID of the Task that run reported in out.
func created(t *testing.T, out string) (name, id string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if m := createdLine.FindStringSubmatch(line); m != nil {
			return m[1], m[2]
		}
	}
	t.Fatalf("no %q line in:\n%s", createdLine, out)
	return "", ""
}

// logsFile returns a new file of CRI log lines for a Task's pod; kwok
// serves it as the pod's logs through the Task's annotation.
func logsFile(t *testing.T, lines ...string) (path, annotation string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "pod.log")
	if err := localcluster.WriteLogs(path, lines...); err != nil {
		t.Fatal(err)
	}
	return path, localcluster.AnnotationLogsFile + "=" + path
}

func getTask(t *testing.T, c client.Client, ns, name string) *v1alpha1.Task {
	t.Helper()
	task := &v1alpha1.Task{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, task); err != nil {
		t.Fatalf("reading Task %s: %v", name, err)
	}
	return task
}

// TestKwokServesPodLogs shows the local cluster's logs: a pod annotated
// with a logs file has it as its logs, for kubectl logs, --tail and -f.
func TestKwokServesPodLogs(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	path, _ := logsFile(t, "first line", "second line")
	pod := &corev1.Pod{}
	pod.Namespace, pod.Name = ns, "logger"
	pod.Annotations = map[string]string{localcluster.AnnotationLogsFile: path, localcluster.AnnotationRunTime: "60s"}
	pod.Spec = corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "main", Image: "busybox"}}}
	if err := c.Create(context.Background(), pod); err != nil {
		t.Fatalf("creating pod: %v", err)
	}
	var out string
	eventually(t, 30*time.Second, "kubectl logs to show the file", func() (bool, error) {
		var err error
		out, err = kubectl(t, "", "logs", "-n", ns, "logger")
		return err == nil, fmt.Errorf("%v: %s", err, out)
	})
	if out != "first line\nsecond line\n" {
		t.Fatalf("kubectl logs = %q", out)
	}
	if out := mustKubectl(t, "", "logs", "-n", ns, "logger", "--tail=1"); out != "second line\n" {
		t.Fatalf("kubectl logs --tail=1 = %q", out)
	}

	// -f shows lines as they are written.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	follow := exec.CommandContext(ctx, cluster.Binaries.Kubectl, "--kubeconfig="+cluster.Kubeconfig, "logs", "-f", "-n", ns, "logger")
	lines := startLines(t, follow)
	waitLine(t, lines, "second line")
	if err := localcluster.WriteLogs(path, "third line"); err != nil {
		t.Fatal(err)
	}
	waitLine(t, lines, "third line")
}

// startLines starts cmd and sends each line of its standard output.
func startLines(t *testing.T, cmd *exec.Cmd) <-chan string {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			lines <- s.Text()
		}
	}()
	return lines
}

// waitLine reads lines until want, failing on the end of output or after
// 30 seconds.
func waitLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("output ended before %q", want)
			}
			if l == want {
				return
			}
		case <-timeout:
			t.Fatalf("no %q within 30s", want)
		}
	}
}

func TestPluginRun(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	newApp(t, c, ns, "shop")

	res := mustKubectlTask(t, ns, "run", "shop", "-c", "bundle exec rake db:migrate",
		"--memory", "512M", "--disk", "2GB", "--cpu", "250m", "-e", "BATCH=7", "--timeout", "15m", "--display-name", "migrate-2026-11")
	name, id := created(t, res.stdout)
	if !strings.HasPrefix(name, "shop-") || id != "1" {
		t.Fatalf("run created %s with ID %s; want shop-<suffix> and ID 1\n%s", name, id, res)
	}
	task := getTask(t, c, ns, name)
	// Cloud Foundry's M and GB are Mi and Gi.
	for _, q := range []struct {
		field string
		got   *resource.Quantity
		want  string
	}{{"memory", task.Spec.Memory, "512Mi"}, {"disk", task.Spec.Disk, "2Gi"}, {"cpu", task.Spec.CPU, "250m"}} {
		if q.got == nil || q.got.String() != q.want {
			t.Errorf("spec.%s = %v, want %s", q.field, q.got, q.want)
		}
	}
	if task.Spec.Command != "bundle exec rake db:migrate" || task.Spec.DisplayName != "migrate-2026-11" ||
		task.Spec.Timeout == nil || task.Spec.Timeout.Duration != 15*time.Minute ||
		len(task.Spec.Env) != 1 || task.Spec.Env[0] != (corev1.EnvVar{Name: "BATCH", Value: "7"}) {
		t.Errorf("spec = %+v", task.Spec)
	}
	if mem := task.Spec.Resolved.Resources.Limits[corev1.ResourceMemory]; mem.String() != "512Mi" {
		t.Errorf("resolved memory limit = %s, want 512Mi", mem.String())
	}

	// --name is the display name, as in cf and kf; the App's own start
	// command; the next ID.
	res = mustKubectlTask(t, ns, "run", "shop", "--name", "worker")
	name, id = created(t, res.stdout)
	if !strings.HasPrefix(name, "shop-") || id != "2" {
		t.Fatalf("run --name worker created %s with ID %s; want shop-<suffix> and ID 2", name, id)
	}
	if task := getTask(t, c, ns, name); task.Spec.DisplayName != "worker" || task.Spec.Command != "" {
		t.Fatalf("run --name worker: displayName %q, command %q; want worker and none", task.Spec.DisplayName, task.Spec.Command)
	}
}

func TestPluginRunWait(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	newApp(t, c, ns, "shop")

	begin := time.Now()
	res := mustKubectlTask(t, ns, "run", "shop", "-c", "true", "--wait")
	name, _ := created(t, res.stdout)
	if want := regexp.MustCompile(`Task ` + name + ` \(ID 1\) succeeded in \d+s`); !want.MatchString(res.stdout) {
		t.Fatalf("run --wait: want %q in stdout; got %s", want, res)
	}
	// Without a terminal, progress is one line per state, on stderr.
	if !strings.Contains(res.stderr, "Task "+name+" (ID 1) is ") {
		t.Fatalf("run --wait showed no progress: %s", res)
	}
	t.Logf("run --wait of a one-second task took %s", time.Since(begin).Round(10*time.Millisecond))

	res = kubectlTask(t, ns, "run", "shop", "-c", "false", "--wait", "--annotation", localcluster.AnnotationExitCode+"=3")
	name, _ = created(t, res.stdout)
	// The plugin exits with the command's own status.
	wantExit(t, res, 3, "error: Task "+name+" (ID 2) failed: Exited with status 3")
}

func TestPluginRunFollowStreamsLogs(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	newApp(t, c, ns, "shop")
	path, logs := logsFile(t, "importing orders.csv")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := pluginCommand(t, ctx, ns, "run", "shop", "-c", "bin/import orders.csv", "--follow",
		"--annotation", logs, "--annotation", localcluster.AnnotationRunTime+"=6s")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	begin := time.Now()
	lines := startLines(t, cmd)
	waitLine(t, lines, "importing orders.csv")
	// A line written while the task runs shows up while it runs.
	if err := localcluster.WriteLogs(path, "imported 1200 orders"); err != nil {
		t.Fatal(err)
	}
	waitLine(t, lines, "imported 1200 orders")
	live := time.Since(begin)
	for range lines { // drain, so the command can exit
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run --follow: %v\nstderr:\n%s", err, stderr.String())
	}
	t.Logf("run --follow: live line after %s, exit after %s", live.Round(10*time.Millisecond), time.Since(begin).Round(10*time.Millisecond))
	if live > 6*time.Second {
		t.Errorf("the live line came after %s, not while the 6s task ran", live)
	}
	// Standard output carries only the logs; the rest is on stderr.
	name, _ := created(t, stderr.String())
	if !strings.Contains(stderr.String(), "Task "+name+" (ID 1) succeeded in ") {
		t.Fatalf("run --follow stderr lacks the outcome:\n%s", stderr.String())
	}
}

func TestPluginList(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	shop := newApp(t, c, ns, "shop")
	newApp(t, c, ns, "web")

	// Names that sort against their IDs show the order is by ID.
	var tasks []*v1alpha1.Task
	for i, name := range []string{"zeta", "alpha", "mid"} {
		annotations := map[string]string{}
		if i == 1 {
			annotations[localcluster.AnnotationExitCode] = "2"
		}
		task := newTask(t, c, shop, name, annotations)
		// One at a time, so that IDs follow creation.
		eventually(t, 30*time.Second, "an ID for "+name, func() (bool, error) {
			return getTask(t, c, ns, name).Status.ID != 0, nil
		})
		tasks = append(tasks, task)
	}
	waitForState(t, c, tasks[0], v1alpha1.TaskStateSucceeded, time.Minute)
	waitForState(t, c, tasks[1], v1alpha1.TaskStateFailed, time.Minute)
	waitForState(t, c, tasks[2], v1alpha1.TaskStateSucceeded, time.Minute)
	webJob, _ := created(t, mustKubectlTask(t, ns, "run", "web", "--name", "web-job").stdout)

	// The table is the server's, from the CRD's printer columns; rows
	// come by App and ID, not by name as the server sends them.
	header, rows := parseTable(t, mustKubectlTask(t, ns, "list", "shop").stdout)
	if got := strings.Join(header, "|"); got != "NAME|ID|APP|DISPLAY NAME|STATE|STARTED|DURATION|AGE|COMMAND" {
		t.Fatalf("list header = %q", got)
	}
	if got, want := cells(rows, "NAME", "ID", "STATE", "COMMAND"), "zeta 1 Succeeded bundle exec rake db:migrate, alpha 2 Failed bundle exec rake db:migrate, mid 3 Succeeded bundle exec rake db:migrate"; got != want {
		t.Fatalf("list shop rows = %q, want %q", got, want)
	}
	// The start time and duration as taskgate recorded them, in UTC.
	zeta := getTask(t, c, ns, "zeta")
	if got, want := rows[0]["STARTED"]+" "+rows[0]["DURATION"], zeta.Status.StartTime.UTC().Format(time.RFC3339)+" "+zeta.Status.Duration.Duration.String(); got != want {
		t.Fatalf("list STARTED and DURATION of zeta = %q, want %q", got, want)
	}

	header, rows = parseTable(t, mustKubectlTask(t, ns, "list", "shop", "-o", "wide").stdout)
	wideHeader := strings.Join(header, "|")
	if wideHeader != "NAME|ID|APP|DISPLAY NAME|STATE|STARTED|DURATION|AGE|EXIT CODE|POD|REASON|COMMAND" {
		t.Fatalf("list -o wide header = %q", wideHeader)
	}
	if got, want := cells(rows[1:2], "NAME", "APP", "EXIT CODE", "POD", "REASON"), "alpha shop 2 "+getTask(t, c, ns, "alpha").Status.PodName+" Exited with status 2"; got != want {
		t.Fatalf("list -o wide row of the failed task = %q, want %q", got, want)
	}

	// kubectl get prints the same table: the same columns and, sorted
	// alike, the same cells (but AGE, which may tick between the two).
	for _, format := range []string{"", "wide"} {
		plugin := mustKubectlTask(t, ns, "list", "shop", "-o", format, "--sort-by", ".status.id").stdout
		kubectlOut := mustKubectl(t, "", "get", "tasks.taskgate.dev", "-n", ns, "-l", v1alpha1.LabelApp+"=shop", "-o", format, "--sort-by", ".status.id")
		ph, pr := parseTable(t, plugin)
		kh, kr := parseTable(t, kubectlOut)
		for _, r := range append(pr, kr...) {
			delete(r, "AGE")
		}
		if !slices.Equal(ph, kh) || !reflect.DeepEqual(pr, kr) {
			t.Fatalf("-o %q: kubectl task list printed\n%s\nkubectl get printed\n%s", format, plugin, kubectlOut)
		}
	}

	// Every App's Tasks, by App and ID; the web Task runs its App's
	// start command, so it has no command of its own.
	_, rows = parseTable(t, mustKubectlTask(t, ns, "list").stdout)
	if got, want := cells(rows, "NAME", "APP", "ID", "DISPLAY NAME", "COMMAND"), "zeta shop 1  bundle exec rake db:migrate, alpha shop 2  bundle exec rake db:migrate, mid shop 3  bundle exec rake db:migrate, "+webJob+" web 1 web-job "; got != want {
		t.Fatalf("list of every App = %q, want %q", got, want)
	}

	// --sort-by overrides the order by ID, with kubectl's sorter.
	_, rows = parseTable(t, mustKubectlTask(t, ns, "list", "--sort-by", "{.metadata.name}").stdout)
	if got, want := cells(rows, "NAME"), strings.Join(slices.Sorted(slices.Values([]string{"alpha", "mid", "zeta", webJob})), ", "); got != want {
		t.Fatalf("list --sort-by {.metadata.name} = %q, want %q", got, want)
	}
	wantFailure(t, kubectlTask(t, ns, "list", "--sort-by", ".status.nope"),
		`error: --sort-by {.status.nope}: couldn't find any field with path "{.status.nope}" in the list of objects`)
	wantFailure(t, kubectlTask(t, ns, "list", "--sort-by", "{.status"),
		`error: --sort-by "{.status" is not a JSONPath expression such as .status.id or .metadata.creationTimestamp: `)

	// custom-columns from the objects, by ID unless --sort-by says else;
	// --no-headers leaves out the header line of any table.
	if res := mustKubectlTask(t, ns, "list", "shop", "-o", "custom-columns=ID:.status.id,NAME:.metadata.name,STATE:.status.state"); res.stdout != ""+
		"ID    NAME    STATE\n"+
		"1     zeta    Succeeded\n"+
		"2     alpha   Failed\n"+
		"3     mid     Succeeded\n" {
		t.Fatalf("list -o custom-columns: %s", res)
	}
	if res := mustKubectlTask(t, ns, "list", "shop", "-o", "custom-columns=NAME:.metadata.name,STATE:.status.state", "--sort-by", ".metadata.name", "--no-headers"); res.stdout != ""+
		"alpha   Failed\n"+
		"mid     Succeeded\n"+
		"zeta    Succeeded\n" {
		t.Fatalf("list -o custom-columns --sort-by .metadata.name --no-headers: %s", res)
	}
	res := mustKubectlTask(t, ns, "list", "shop", "--no-headers")
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n") {
		lines = append(lines, strings.Join(strings.Fields(l)[:2], " "))
	}
	if got := strings.Join(lines, ", "); got != "zeta 1, alpha 2, mid 3" {
		t.Fatalf("list --no-headers: NAME and ID %q; got %s", got, res)
	}

	for _, format := range []string{"json", "yaml"} {
		out := mustKubectlTask(t, ns, "list", "shop", "-o", format).stdout
		var list v1alpha1.TaskList
		var err error
		if format == "json" {
			err = json.Unmarshal([]byte(out), &list)
		} else {
			err = yaml.UnmarshalStrict([]byte(out), &list)
		}
		if err != nil {
			t.Fatalf("list -o %s: %v\n%s", format, err, out)
		}
		var names []string
		for _, item := range list.Items {
			names = append(names, item.Name)
		}
		if list.Kind != "TaskList" || strings.Join(names, ",") != "zeta,alpha,mid" || list.Items[1].Status.FailureReason != "Exited with status 2" {
			t.Fatalf("list -o %s = kind %q, items %q:\n%s", format, list.Kind, names, out)
		}
	}

	wantFailure(t, kubectlTask(t, ns, "list", "-o", "table"), `error: unable to match a printer suitable for the output format "table", allowed formats are: custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,kyaml,name,template,templatefile,wide,yaml`)
	res = mustKubectlTask(t, newNamespace(t, c), "list")
	if res.stdout != "" || !strings.HasPrefix(res.stderr, "No Tasks found in namespace ") {
		t.Fatalf("list in an empty namespace: %s", res)
	}
}

// parseTable reads a table as kubectl prints it: the header's names,
// and each row's cells by the header's column positions, so that an
// empty cell reads as "".
func parseTable(t *testing.T, out string) (header []string, rows []map[string]string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	// Columns are at least three spaces apart; names have single spaces.
	var starts []int
	for _, loc := range regexp.MustCompile(`\S+( \S+)*`).FindAllStringIndex(lines[0], -1) {
		header = append(header, lines[0][loc[0]:loc[1]])
		starts = append(starts, loc[0])
	}
	for _, l := range lines[1:] {
		row := map[string]string{}
		for i, name := range header {
			end := len(l)
			if i+1 < len(starts) {
				end = min(starts[i+1], len(l))
			}
			if starts[i] > len(l) {
				t.Fatalf("row %q is shorter than the header %q", l, lines[0])
			}
			row[name] = strings.TrimSpace(l[starts[i]:end])
		}
		rows = append(rows, row)
	}
	return header, rows
}

// cells joins the named cells of each row with spaces, and the rows with
// commas.
func cells(rows []map[string]string, names ...string) string {
	var out []string
	for _, r := range rows {
		var c []string
		for _, n := range names {
			c = append(c, r[n])
		}
		out = append(out, strings.Join(c, " "))
	}
	return strings.Join(out, ", ")
}

func TestPluginLogs(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	newApp(t, c, ns, "shop")
	_, first := logsFile(t, "task one: starting", "task one: done")
	_, second := logsFile(t, "task two: starting", "task two: 10 rows", "task two: done")

	one, _ := created(t, mustKubectlTask(t, ns, "run", "shop", "-c", "one", "--wait", "--annotation", first).stdout)
	two, _ := created(t, mustKubectlTask(t, ns, "run", "shop", "-c", "two", "--wait", "--annotation", second).stdout)

	// Only that task's logs, by App and ID or by name.
	if res := mustKubectlTask(t, ns, "logs", "shop", "1"); res.stdout != "task one: starting\ntask one: done\n" {
		t.Fatalf("logs shop 1: %s", res)
	}
	if res := mustKubectlTask(t, ns, "logs", two, "--tail", "2"); res.stdout != "task two: 10 rows\ntask two: done\n" {
		t.Fatalf("logs %s --tail 2: %s", two, res)
	}
	if res := mustKubectlTask(t, ns, "logs", one); !strings.HasPrefix(res.stdout, "task one: starting\n") {
		t.Fatalf("logs %s: %s", one, res)
	}

	// -f waits for a task to start and follows it to its end.
	path, third := logsFile(t, "task three: starting")
	three, _ := created(t, mustKubectlTask(t, ns, "run", "shop", "-c", "three", "--annotation", third, "--annotation", localcluster.AnnotationRunTime+"=5s").stdout)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := pluginCommand(t, ctx, ns, "logs", "shop", "3", "-f")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	lines := startLines(t, cmd)
	waitLine(t, lines, "task three: starting")
	if err := localcluster.WriteLogs(path, "task three: done"); err != nil {
		t.Fatal(err)
	}
	waitLine(t, lines, "task three: done")
	for range lines {
	}
	if err := cmd.Wait(); err != nil || !strings.Contains(stderr.String(), "Task "+three+" (ID 3) succeeded") {
		t.Fatalf("logs -f: %v\nstderr:\n%s", err, stderr.String())
	}
}

func TestPluginTerminate(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	newApp(t, c, ns, "shop")

	_, logs := logsFile(t, "migrating")
	long, _ := created(t, mustKubectlTask(t, ns, "run", "shop", "-c", "sleep 60", "--annotation", localcluster.AnnotationRunTime+"=60s", "--annotation", logs).stdout)
	waitForState(t, c, getTask(t, c, ns, long), v1alpha1.TaskStateRunning, time.Minute)
	res := mustKubectlTask(t, ns, "terminate", "shop", "1")
	if want := "Task " + long + " (ID 1) cancelled\n"; res.stdout != want {
		t.Fatalf("terminate shop 1: want %q; got %s", want, res)
	}
	if state := getTask(t, c, ns, long).Status.State; state != v1alpha1.TaskStateCancelled {
		t.Fatalf("state after terminate = %s", state)
	}
	if res := mustKubectlTask(t, ns, "terminate", long); res.stdout != "Task "+long+" (ID 1) is already cancelled\n" {
		t.Fatalf("terminating a cancelled task again: %s", res)
	}
	// With keep-pod-on-cancel, the cancelled run's pod and its logs stay
	// (TestRealTaskCancelStopsItsProcess shows it on the real node).
	if res := mustKubectlTask(t, ns, "logs", "shop", "1"); res.stdout != "migrating\n" {
		t.Fatalf("logs of the cancelled task: want %q; got %s", "migrating\n", res)
	}

	// A finished task cannot be cancelled; the webhook's words pass through.
	quick, _ := created(t, mustKubectlTask(t, ns, "run", "shop", "-c", "true", "--wait").stdout)
	res = kubectlTask(t, ns, "terminate", quick)
	wantFailure(t, res, "Task state is Succeeded and therefore cannot be cancelled")
	if getTask(t, c, ns, quick).Spec.DesiredState == v1alpha1.DesiredStateCancelled {
		t.Fatal("the finished task was marked Cancelled")
	}
}

func TestPluginErrors(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	newApp(t, c, ns, "shop")
	mustKubectl(t, "apiVersion: taskgate.dev/v1alpha1\nkind: App\nmetadata: {name: bare}\nspec: {image: registry.example.com/bare:v1}\n", "apply", "-n", ns, "-f", "-")
	mustKubectlTask(t, ns, "run", "shop", "--name", "done", "--wait")
	empty := newNamespace(t, c)

	tests := []struct {
		name string
		ns   string
		args []string
		want string
	}{
		{"run of an unknown App lists the Apps", ns, []string{"run", "shpo", "-c", "true"},
			"error: App shpo not found in namespace " + ns + "; its Apps are bare, shop. Create it with kubectl apply -f app.yaml, or choose the namespace with -n"},
		{"run in a namespace without Apps", empty, []string{"run", "shop", "-c", "true"},
			"error: App shop not found in namespace " + empty + ", which has no Apps. Create it with kubectl apply -f app.yaml"},
		{"list of an unknown App", ns, []string{"list", "shpo"}, "error: App shpo not found in namespace " + ns + "; its Apps are bare, shop."},
		{"logs of an unknown App", ns, []string{"logs", "shpo", "1"}, "error: App shpo not found in namespace " + ns},
		{"logs of an unknown ID", ns, []string{"logs", "shop", "99"},
			"error: App shop has no Task with ID 99 in namespace " + ns + "; list its Tasks with kubectl task list shop"},
		{"terminate of an unknown ID", ns, []string{"terminate", "shop", "99"}, "error: App shop has no Task with ID 99"},
		{"an ID that is not a number", ns, []string{"logs", "shop", "one"},
			`error: "one" is not a Task ID: give an App and a Task ID, such as shop 3, or a Task's name`},
		{"an unknown Task name", ns, []string{"logs", "nosuch"},
			"error: Task nosuch not found in namespace " + ns + "; list the Tasks with kubectl task list"},
		{"an App's name where a Task's is wanted", ns, []string{"terminate", "shop"},
			"error: Task shop not found in namespace " + ns + ", but App shop is there: name its Task by ID, such as kubectl task terminate shop 1"},
		// The webhook's denial, verbatim.
		{"no start command", ns, []string{"run", "bare"},
			"spec.command: Required value: no start command: set spec.command on the Task or args on App bare"},
		{"a bad memory size", ns, []string{"run", "shop", "--memory", "lots"},
			`error: --memory: "lots" is not a size: use a Cloud Foundry size such as 512M or 2G, or a Kubernetes quantity such as 512Mi`},
		{"a bad env flag", ns, []string{"run", "shop", "-e", "DEBUG"}, `error: --env "DEBUG": want KEY=VALUE`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantFailure(t, kubectlTask(t, tt.ns, tt.args...), tt.want)
		})
	}
	var tasks v1alpha1.TaskList
	if err := c.List(context.Background(), &tasks, client.InNamespace(ns)); err != nil || len(tasks.Items) != 1 {
		t.Fatalf("the failed commands left Tasks behind: %d (%v)", len(tasks.Items), err)
	}
}
