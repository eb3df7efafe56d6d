package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/ociimage"
	"github.com/taskgate/taskgate/test/localcluster"
	"github.com/taskgate/taskgate/test/nodeimage"
)

const cnbLauncher = "/cnb/lifecycle/launcher"

// TestRealTaskRunsThroughTheAppLauncher: in a buildpack-shaped image,
// whose bundle only the launcher puts on PATH, the README's migration
// succeeds for an App that names the launcher, and the same command exits
// 127 for an App of the same image that does not, as it would under
// /bin/sh -c in a real CNB image.
func TestRealTaskRunsThroughTheAppLauncher(t *testing.T) {
	c := newClient(t)
	ns := newRealNodeNamespace(t, c)
	const command = "bundle exec rake db:migrate"
	image := func(a *v1alpha1.App) {
		a.Spec.Image = localcluster.ImageBuildpack
		a.Spec.Command, a.Spec.Args = nil, nil
	}
	for _, tc := range []struct {
		name     string
		launcher string
		resolved []string
		state    v1alpha1.TaskState
		exitCode int32
		reason   string
		logs     string
	}{
		{"launcher", cnbLauncher, []string{cnbLauncher, command},
			v1alpha1.TaskStateSucceeded, 0, "", "bundler ran: exec rake db:migrate\n"},
		{"shell", "", []string{"/bin/sh", "-c", command},
			v1alpha1.TaskStateFailed, 127, "Exited with status 127", "/bin/sh: bundle: not found\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app := newApp(t, c, ns, tc.name, image, func(a *v1alpha1.App) { a.Spec.Launcher = tc.launcher })
			task := realTask(t, c, app, "migrate-"+tc.name, command)
			if task.Spec.Resolved == nil || !slices.Equal(task.Spec.Resolved.Command, tc.resolved) || task.Spec.Resolved.Args != nil {
				t.Fatalf("spec.resolved = %+v, want command %q and no args", task.Spec.Resolved, tc.resolved)
			}
			done := waitForState(t, c, task, tc.state, 2*time.Minute)
			if done.Status.ExitCode == nil || *done.Status.ExitCode != tc.exitCode || done.Status.FailureReason != tc.reason {
				t.Fatalf("exit code %v, failure reason %q; want %d, %q", ptr.Deref(done.Status.ExitCode, -1), done.Status.FailureReason, tc.exitCode, tc.reason)
			}
			realPod(t, c, ns, done.Status.PodName)
			if got := containerLogs(t, ns, done.Status.PodName, "step-main"); got != tc.logs {
				t.Fatalf("logs = %q, want %q", got, tc.logs)
			}
		})
	}
}

// TestAppLauncherAdmission: the CRD refuses a relative launcher and the
// App webhook a path that is not clean, each at spec.launcher with the fix.
func TestAppLauncherAdmission(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	for _, tc := range []struct {
		launcher, want string
	}{
		{"cnb/lifecycle/launcher", `spec.launcher: Invalid value: "cnb/lifecycle/launcher": must be an absolute path in the image, for example /cnb/lifecycle/launcher`},
		{"/cnb//lifecycle/launcher", `spec.launcher: Invalid value: "/cnb//lifecycle/launcher": must be a clean path, without //, /./, /../ or a trailing /; use /cnb/lifecycle/launcher`},
		{"/", `spec.launcher: Invalid value: "/": must name a file in the image, not /; for example /cnb/lifecycle/launcher`},
	} {
		app := &v1alpha1.App{}
		app.Namespace, app.Name = ns, "shop"
		app.Spec.Image, app.Spec.Args, app.Spec.Launcher = "registry.example.com/shop/web:v1", []string{"run"}, tc.launcher
		requireDenied(t, "creating an App with launcher "+tc.launcher, c.Create(context.Background(), app), tc.want)
	}
}

// registryRequests records every request the manager sends to read image
// labels (manager.Options.RegistryTransport), which reach only the
// cluster's registry, inside its network namespace.
var registryRequests = &requestLog{}

type requestLog struct {
	mu   sync.Mutex
	urls []string
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// transport records each request, as host and path, before sending it;
// it connects only to localcluster.RegistryHost in the cluster's network
// namespace and refuses any other address.
func (l *requestLog) transport() http.RoundTripper {
	next := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr != localcluster.RegistryHost {
				return nil, fmt.Errorf("the e2e manager reads images only from %s, not %s", localcluster.RegistryHost, addr)
			}
			return cluster.DialContext(ctx, network, addr)
		},
	}
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		l.mu.Lock()
		l.urls = append(l.urls, r.URL.Host+r.URL.Path)
		l.mu.Unlock()
		return next.RoundTrip(r)
	})
}

// about returns the recorded requests whose host and path contain s.
func (l *requestLog) about(s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, u := range l.urls {
		if strings.Contains(u, s) {
			out = append(out, u)
		}
	}
	return out
}

// pushLabelledBuildpack pushes nodeimage.LabelledBuildpack, with the
// launcher the real node's Buildpack image has, to the cluster's registry
// as repository:1, and returns the reference the node pulls it by.
func pushLabelledBuildpack(t *testing.T, repository string) string {
	t.Helper()
	launcher := filepath.Join(t.TempDir(), "launcher")
	// test/ is a module of its own: its packages build from there.
	build := exec.Command("go", "build", "-trimpath", "-o", launcher, "./cmd/launcher")
	build.Dir = filepath.Join(cluster.RepoRoot, "test")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building test/cmd/launcher: %v\n%s", err, out)
	}
	img, err := ociimage.Build(nodeimage.LabelledBuildpack(localcluster.RegistryHost+"/"+repository+":1", launcher))
	if err != nil {
		t.Fatal(err)
	}
	// Pushed on the machine's loopback; the node pulls the same
	// repository at RegistryHost.
	ref, err := name.ParseReference(cluster.Registry().Addr + "/" + repository + ":1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithContext(context.Background())); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	return localcluster.RegistryHost + "/" + repository + ":1"
}

// applyPolicy writes a policy document (policyConfigMap) and waits until
// the manager enforces it; the base policy is put back when the test ends.
func applyPolicy(t *testing.T, c client.Client, doc string) {
	t.Helper()
	t.Cleanup(func() { resetPolicy(t, c) })
	mustKubectl(t, policyConfigMap(doc), "apply", "-f", "-")
	cm := &corev1.ConfigMap{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: managerNamespace, Name: "taskgate-policy"}, cm); err != nil {
		t.Fatal(err)
	}
	if err := waitForPolicy(context.Background(), cm.ResourceVersion); err != nil {
		t.Fatal(err)
	}
}

// createTaskYAML creates a Task of app that runs command with kubectl and
// returns it with the warnings kubectl printed.
func createTaskYAML(t *testing.T, c client.Client, app *v1alpha1.App, taskName, command string, args ...string) (*v1alpha1.Task, []string) {
	t.Helper()
	doc := fmt.Sprintf("apiVersion: taskgate.dev/v1alpha1\nkind: Task\nmetadata: {name: %s}\nspec: {appRef: {name: %s}, command: %q}\n",
		taskName, app.Name, command)
	out := mustKubectl(t, doc, append([]string{"create", "-n", app.Namespace, "-f", "-"}, args...)...)
	task := &v1alpha1.Task{}
	if slices.Contains(args, "--dry-run=server") {
		return task, warningsOf(out)
	}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: app.Namespace, Name: taskName}, task); err != nil {
		t.Fatal(err)
	}
	return task, warningsOf(out)
}

// TestRealTaskRunsThroughADetectedLauncher: an App that names no launcher,
// of a buildpack image whose registry policy lists, runs the README's
// migration through /cnb/lifecycle/launcher, found in the image's labels
// when the Task is created, and the create says so. The same image in a
// repository the manager has never read, with policy listing another
// registry, runs under /bin/sh -c and exits 127, with a warning naming the
// fix, and the manager sent its registry no request for it.
func TestRealTaskRunsThroughADetectedLauncher(t *testing.T) {
	c := newClient(t)
	ns := newRealNodeNamespace(t, c)
	const command = "bundle exec rake db:migrate"
	listed := pushLabelledBuildpack(t, "e2e/buildpack-listed")
	unlisted := pushLabelledBuildpack(t, "e2e/buildpack-unlisted")
	app := func(name, image string) *v1alpha1.App {
		return newApp(t, c, ns, name, func(a *v1alpha1.App) {
			a.Spec.Image, a.Spec.Command, a.Spec.Args = image, nil, nil
		})
	}

	applyPolicy(t, c, "apiVersion: taskgate.dev/v1alpha1\nkind: Policy\ntasks:\n  launcherDetection:\n    registries: [\""+localcluster.RegistryHost+"\"]\n")
	detected, warnings := createTaskYAML(t, c, app("detected", listed), "migrate-detected", command)
	if want := []string{"spec.command runs through /cnb/lifecycle/launcher, as the image's labels show a buildpack (CNB) image"}; !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings = %q, want %q", warnings, want)
	}
	if got := registryRequests.about("/e2e/buildpack-listed/manifests/1"); len(got) == 0 {
		t.Errorf("the manager sent no request for %s's manifest", listed)
	}
	// A missing image is admitted as it is today, saying why.
	_, warnings = createTaskYAML(t, c, app("missing", localcluster.RegistryHost+"/e2e/missing:1"), "migrate", command, "--dry-run=server")
	if want := []string{"/bin/sh -c runs spec.command: image labels unread: no such image; a CNB image needs App spec.launcher"}; !reflect.DeepEqual(warnings, want) {
		t.Errorf("missing image: warnings = %q, want %q", warnings, want)
	}

	applyPolicy(t, c, "apiVersion: taskgate.dev/v1alpha1\nkind: Policy\ntasks:\n  launcherDetection:\n    registries: [registry.example.com]\n")
	shell, warnings := createTaskYAML(t, c, app("unlisted", unlisted), "migrate-unlisted", command)
	if want := []string{"/bin/sh -c runs spec.command: the image's registry is not in policy tasks.launcherDetection; or set App spec.launcher"}; !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings = %q, want %q", warnings, want)
	}
	if got := registryRequests.about("/e2e/buildpack-unlisted/"); got != nil {
		t.Errorf("the manager read an image of a registry policy does not list: %q", got)
	}

	for _, tc := range []struct {
		task     *v1alpha1.Task
		resolved []string
		state    v1alpha1.TaskState
		exitCode int32
		logs     string
	}{
		{detected, []string{cnbLauncher, command}, v1alpha1.TaskStateSucceeded, 0, "bundler ran: exec rake db:migrate\n"},
		{shell, []string{"/bin/sh", "-c", command}, v1alpha1.TaskStateFailed, 127, "/bin/sh: bundle: not found\n"},
	} {
		name := tc.task.Spec.AppRef.Name
		if tc.task.Spec.Resolved == nil || !slices.Equal(tc.task.Spec.Resolved.Command, tc.resolved) || tc.task.Spec.Resolved.Args != nil {
			t.Errorf("%s: spec.resolved = %+v, want command %q and no args", name, tc.task.Spec.Resolved, tc.resolved)
			continue
		}
		done := waitForState(t, c, tc.task, tc.state, 2*time.Minute)
		if done.Status.ExitCode == nil || *done.Status.ExitCode != tc.exitCode {
			t.Errorf("%s: exit code %v, want %d", name, ptr.Deref(done.Status.ExitCode, -1), tc.exitCode)
		}
		realPod(t, c, ns, done.Status.PodName)
		if got := containerLogs(t, ns, done.Status.PodName, "step-main"); got != tc.logs {
			t.Errorf("%s: logs = %q, want %q", name, got, tc.logs)
		}
	}
}
