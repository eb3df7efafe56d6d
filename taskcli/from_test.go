package taskcli

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

func TestRunTarget(t *testing.T) {
	const subdomain = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters"
	tests := []struct {
		name     string
		args     []string
		flags    []string
		wantApp  string
		wantFrom *fromArg
		wantErr  string
	}{
		{name: "an App", args: []string{"shop"}, wantApp: "shop"},
		{name: "an App and its command", args: []string{"shop", "rake db:migrate"}, wantApp: "shop"},
		{name: "neither App nor --from", wantErr: "give the App to run a Task of (kubectl task run APP -c COMMAND), or the workload to run it from (kubectl task run --from deployment/NAME -c COMMAND)"},
		{name: "--app without --from", args: []string{"shop"}, flags: []string{"--app", "other"},
			wantErr: "--app names the App that --from creates or reuses; without --from, give the App as the first argument: kubectl task run APP -c COMMAND"},
		{name: "--container without --from", args: []string{"shop"}, flags: []string{"--container", "app"},
			wantErr: "--container chooses the container of the --from workload; without --from, the App says what its Tasks run"},
		{name: "the App is named after the workload", flags: []string{"--from", "deployment/web"},
			wantApp: "web", wantFrom: &fromArg{resource: "deployment", name: "web"}},
		{name: "a short name, --app and --container", flags: []string{"--from", "sts/db", "--app", "db-maintenance", "--container", "postgres"},
			wantApp: "db-maintenance", wantFrom: &fromArg{resource: "sts", name: "db", container: "postgres"}},
		{name: "a group-qualified type", flags: []string{"--from", "cronjobs.batch/nightly"},
			wantApp: "nightly", wantFrom: &fromArg{resource: "cronjobs.batch", name: "nightly"}},
		{name: "--from and an App argument", args: []string{"web"}, flags: []string{"--from", "deployment/web"},
			wantErr: `--from takes no App argument (got "web"): the App is named after the workload, or by --app NAME; give the command with -c`},
		{name: "--from and a command argument", args: []string{"rake db:migrate"}, flags: []string{"--from", "deployment/web"},
			wantErr: `--from takes no App argument (got "rake db:migrate"): the App is named after the workload, or by --app NAME; give the command with -c`},
		{name: "no type", flags: []string{"--from", "web"}, wantErr: `--from "web": want TYPE/NAME, such as deployment/web`},
		{name: "no name", flags: []string{"--from", "deployment/"}, wantErr: `--from "deployment/": want TYPE/NAME, such as deployment/web`},
		{name: "an empty type", flags: []string{"--from", "/web"}, wantErr: `--from "/web": want TYPE/NAME, such as deployment/web`},
		{name: "two slashes", flags: []string{"--from", "deployment/web/app"}, wantErr: `--from "deployment/web/app": want TYPE/NAME, such as deployment/web`},
		{name: "a name no workload can have", flags: []string{"--from", "deployment/Web"},
			wantErr: `--from deployment/Web: "Web" is not a workload name: ` + subdomain},
		{name: "a container name no container can have", flags: []string{"--from", "deployment/web", "--container", "My_App"},
			wantErr: `--container "My_App" is not a container name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters`},
		{name: "an App name no App can have", flags: []string{"--from", "deployment/web", "--app", "Web_2"},
			wantErr: `--app "Web_2" is not an App name: ` + subdomain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f runFlags
			fl := pflag.NewFlagSet("run", pflag.ContinueOnError)
			bindRunFlags(fl, &f)
			if err := fl.Parse(tt.flags); err != nil {
				t.Fatal(err)
			}
			app, from, err := runTarget(tt.args, &f)
			if tt.wantErr != "" {
				// Validation's own explanations follow the prefix.
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("runTarget error = %v, want one starting %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if app != tt.wantApp {
				t.Errorf("App = %q, want %q", app, tt.wantApp)
			}
			if diff := cmp.Diff(tt.wantFrom, from, cmp.AllowUnexported(fromArg{})); diff != "" {
				t.Errorf("from (-want +got):\n%s", diff)
			}
		})
	}
}

// testMapper knows the workload kinds, two kinds that are not, and a
// Deployment of another group, as a server's discovery would.
func testMapper() meta.RESTMapper {
	m := meta.NewDefaultRESTMapper(nil)
	for _, gvk := range []schema.GroupVersionKind{
		{Group: "apps", Version: "v1", Kind: "Deployment"},
		{Group: "apps", Version: "v1", Kind: "StatefulSet"},
		{Group: "apps", Version: "v1", Kind: "DaemonSet"},
		{Group: "batch", Version: "v1", Kind: "CronJob"},
		{Group: "batch", Version: "v1", Kind: "Job"},
		{Group: "", Version: "v1", Kind: "Pod"},
		{Group: "example.com", Version: "v1", Kind: "Deployment"},
	} {
		m.Add(gvk, meta.RESTScopeNamespace)
	}
	return m
}

func TestWorkloadRef(t *testing.T) {
	const kinds = "a Deployment, StatefulSet, DaemonSet or CronJob (deployment/NAME, statefulset/NAME, daemonset/NAME, cronjob/NAME, or deploy, sts, ds, cj)"
	tests := []struct {
		resource, container string
		want                v1alpha1.WorkloadRef
		wantErr             string
	}{
		{resource: "deployment.apps", want: v1alpha1.WorkloadRef{Kind: "Deployment", Name: "web"}},
		{resource: "deployments.v1.apps", container: "app", want: v1alpha1.WorkloadRef{Kind: "Deployment", Name: "web", Container: "app"}},
		{resource: "statefulset", want: v1alpha1.WorkloadRef{Kind: "StatefulSet", Name: "web"}},
		{resource: "StatefulSets", want: v1alpha1.WorkloadRef{Kind: "StatefulSet", Name: "web"}},
		{resource: "daemonsets", want: v1alpha1.WorkloadRef{Kind: "DaemonSet", Name: "web"}},
		{resource: "cronjob", want: v1alpha1.WorkloadRef{Kind: "CronJob", Name: "web"}},
		{resource: "cronjob.batch", want: v1alpha1.WorkloadRef{Kind: "CronJob", Name: "web"}},
		{resource: "job", wantErr: "--from job/web: taskgate runs Tasks from " + kinds + ", not a Job.batch"},
		{resource: "pods", wantErr: "--from pods/web: taskgate runs Tasks from " + kinds + ", not a Pod"},
		{resource: "deployments.example.com", wantErr: "--from deployments.example.com/web: taskgate runs Tasks from " + kinds + ", not a Deployment.example.com"},
		{resource: "widget", wantErr: `--from widget/web: the server has no resource type "widget"; name ` + kinds},
		// Two groups serve deployments here, listed in no set order; a
		// server's discovery mapper prefers one, as kubectl does.
		{resource: "deployment", wantErr: "--from deployment/web: /, Resource=deployment matches multiple kinds ["},
	}
	for _, tt := range tests {
		t.Run(tt.resource, func(t *testing.T) {
			got, err := workloadRef(testMapper(), fromArg{resource: tt.resource, name: "web", container: tt.container})
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("workloadRef error = %v, want one starting %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("workloadRef = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestReuseError(t *testing.T) {
	web := v1alpha1.WorkloadRef{Kind: "Deployment", Name: "web"}
	webApp := v1alpha1.WorkloadRef{Kind: "Deployment", Name: "web", Container: "app"}
	app := func(from *v1alpha1.WorkloadRef, image string) *v1alpha1.App {
		return &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: v1alpha1.AppSpec{From: from, Image: image}}
	}
	tests := []struct {
		name string
		app  *v1alpha1.App
		ref  v1alpha1.WorkloadRef
		want string
	}{
		{"the same workload", app(&web, ""), web, ""},
		{"the same workload and container", app(&webApp, ""), webApp, ""},
		{"any container when none is asked for", app(&webApp, ""), web, ""},
		{"an App of an image", app(nil, "registry.example.com/web:v1"), web,
			"App web exists and does not run deployment/web (it runs image registry.example.com/web:v1): pass --app NAME to create another App for it"},
		{"another kind", app(&v1alpha1.WorkloadRef{Kind: "StatefulSet", Name: "web"}, ""), web,
			"App web exists and does not run deployment/web (it runs statefulset/web): pass --app NAME to create another App for it"},
		{"another workload", app(&v1alpha1.WorkloadRef{Kind: "Deployment", Name: "api", Container: "app"}, ""), web,
			"App web exists and does not run deployment/web (it runs container app of deployment/api): pass --app NAME to create another App for it"},
		{"another container", app(&v1alpha1.WorkloadRef{Kind: "Deployment", Name: "web", Container: "worker"}, ""), webApp,
			"App web exists and does not run container app of deployment/web (it runs container worker of deployment/web): pass --app NAME to create another App for it"},
		// The default container may be app today and another tomorrow.
		{"the default container when one is asked for", app(&web, ""), webApp,
			"App web exists and does not run container app of deployment/web (it runs the default container of deployment/web): pass --app NAME to create another App for it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := reuseError(tt.app, tt.ref)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("reuseError =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestNewFromApp(t *testing.T) {
	got := newFromApp("web", "shop", v1alpha1.WorkloadRef{Kind: "Deployment", Name: "web", Container: "app"})
	want := &v1alpha1.App{
		TypeMeta:   metav1.TypeMeta{APIVersion: "taskgate.dev/v1alpha1", Kind: "App"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec:       v1alpha1.AppSpec{From: &v1alpha1.WorkloadRef{Kind: "Deployment", Name: "web", Container: "app"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("newFromApp (-want +got):\n%s", diff)
	}
}
