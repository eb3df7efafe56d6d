package e2e

import (
	"slices"
	"strings"
	"testing"
)

const appYAML = `apiVersion: taskgate.dev/v1alpha1
kind: App
metadata:
  name: shop
spec:
  image: registry.example.com/shop/web:v1
  args: ["bundle", "exec", "puma"]
  env:
  - {name: RAILS_ENV, value: production}
  resources:
    limits: {memory: 512Mi}
`

const taskYAML = `apiVersion: taskgate.dev/v1alpha1
kind: Task
metadata:
  name: migrate
spec:
  appRef: {name: shop}
  displayName: migrate-2026-11
  command: bundle exec rake db:migrate
  memory: 1Gi
`

func TestAppAndTaskApplyWithKubectl(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	mustKubectl(t, appYAML, "apply", "-n", ns, "-f", "-")
	mustKubectl(t, taskYAML, "apply", "-n", ns, "-f", "-")

	// Plain "tasks" resolves to taskgate.dev ahead of tekton.dev, as discovery
	// sorts groups of equal priority by name.
	for _, resource := range []string{"tasks", "tasks.taskgate.dev", "tgtask", "taskgate"} {
		out := mustKubectl(t, "", "get", resource, "-n", ns)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if strings.HasPrefix(resource, "taskgate") && resource != "tasks.taskgate.dev" {
			// The category lists Apps and Tasks, each under its own header.
			if !strings.Contains(out, "app.taskgate.dev/shop") || !strings.Contains(out, "task.taskgate.dev/migrate") {
				t.Fatalf("kubectl get taskgate:\n%s\nwant the App and the Task", out)
			}
			continue
		}
		if got := strings.Fields(lines[0]); strings.Join(got, " ") != "NAME ID APP DISPLAY NAME STATE STARTED DURATION AGE COMMAND" {
			t.Fatalf("kubectl get %s header = %q", resource, lines[0])
		}
		// The ID and state depend on how far the reconciler has got.
		if got := strings.Fields(lines[1]); len(got) < 5 || got[0] != "migrate" || got[1] != "1" || got[2] != "shop" || got[3] != "migrate-2026-11" ||
			!slices.Contains([]string{"Pending", "Running", "Succeeded"}, got[4]) || !strings.HasSuffix(lines[1], " bundle exec rake db:migrate") {
			t.Fatalf("kubectl get %s row = %q, want name migrate, ID 1, display name migrate-2026-11, a state and the command last", resource, lines[1])
		}
	}

	out := mustKubectl(t, "", "get", "apps.taskgate.dev", "-n", ns)
	if header := strings.Join(strings.Fields(strings.Split(out, "\n")[0]), " "); header != "NAME IMAGE READY AGE" {
		t.Fatalf("kubectl get apps.taskgate.dev header = %q", header)
	}
	if !strings.Contains(out, "registry.example.com/shop/web:v1") {
		t.Fatalf("kubectl get apps.taskgate.dev does not show the image:\n%s", out)
	}

	explain := mustKubectl(t, "", "explain", "tasks.taskgate.dev.spec.command")
	if !strings.Contains(explain, "/bin/sh -c <command>") {
		t.Fatalf("kubectl explain does not say how a command runs:\n%s", explain)
	}
}

func TestInvalidObjectsAreRejected(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	mustKubectl(t, appYAML, "apply", "-n", ns, "-f", "-")
	mustKubectl(t, taskYAML, "apply", "-n", ns, "-f", "-")

	tests := []struct {
		name string
		verb []string
		yaml string
		want string
	}{{
		name: "task without appRef",
		verb: []string{"create"},
		yaml: "apiVersion: taskgate.dev/v1alpha1\nkind: Task\nmetadata: {name: noref}\nspec: {command: date}\n",
		want: `spec.appRef: Required value`,
	}, {
		name: "task with a bad quantity",
		verb: []string{"create"},
		yaml: "apiVersion: taskgate.dev/v1alpha1\nkind: Task\nmetadata: {name: badcpu}\nspec: {appRef: {name: shop}, cpu: lots}\n",
		want: `spec.cpu: Invalid value: "lots": spec.cpu in body should match`,
	}, {
		name: "task with zero memory",
		verb: []string{"create"},
		yaml: "apiVersion: taskgate.dev/v1alpha1\nkind: Task\nmetadata: {name: zeromem}\nspec: {appRef: {name: shop}, memory: \"0\"}\n",
		want: `spec.memory: Invalid value: "0": must be greater than 0, for example 512Mi or 1Gi`,
	}, {
		name: "task with a negative timeout",
		verb: []string{"create"},
		yaml: "apiVersion: taskgate.dev/v1alpha1\nkind: Task\nmetadata: {name: negtimeout}\nspec: {appRef: {name: shop}, timeout: -5m}\n",
		want: `spec.timeout: Invalid value: "-5m0s": must not be negative; 0s means no limit`,
	}, {
		name: "task retried too often",
		verb: []string{"create"},
		yaml: "apiVersion: taskgate.dev/v1alpha1\nkind: Task\nmetadata: {name: retries}\nspec: {appRef: {name: shop}, retries: 11}\n",
		want: `spec.retries: Invalid value: 11: spec.retries in body should be less than or equal to 10`,
	}, {
		name: "task with an unknown desired state",
		verb: []string{"create"},
		yaml: "apiVersion: taskgate.dev/v1alpha1\nkind: Task\nmetadata: {name: state}\nspec: {appRef: {name: shop}, desiredState: Stopped}\n",
		want: `spec.desiredState: Unsupported value: "Stopped": supported values: "Run", "Cancelled"`,
	}, {
		name: "changing appRef after create",
		verb: []string{"patch", "task", "migrate", "--type=merge", "-p", `{"spec":{"appRef":{"name":"other"}}}`},
		want: `spec.appRef: Invalid value: appRef is immutable; create a new Task to run another App`,
	}, {
		name: "changing the command after create",
		verb: []string{"patch", "task", "migrate", "--type=merge", "-p", `{"spec":{"command":"rm -rf /"}}`},
		want: `spec.command: Invalid value: "rm -rf /": command is immutable; create a new Task to run another command`,
	}, {
		name: "changing resolved configuration after create",
		verb: []string{"patch", "task", "migrate", "--type=merge", "-p", `{"spec":{"resolved":{"image":"evil"}}}`},
		want: `spec.resolved: Forbidden: resolved is written by taskgate at creation and is immutable; create a new Task to run with the App's current configuration`,
	}, {
		name: "removing resolved configuration after create",
		verb: []string{"patch", "task", "migrate", "--type=json", "-p", `[{"op":"remove","path":"/spec/resolved"}]`},
		want: `spec.resolved: Invalid value: resolved is written by taskgate at creation and is immutable`,
	}, {
		name: "app without an image",
		verb: []string{"create"},
		yaml: "apiVersion: taskgate.dev/v1alpha1\nkind: App\nmetadata: {name: noimage}\nspec: {args: [run]}\n",
		want: `spec.image: Required value: set image, or from to run a workload's container`,
	}, {
		name: "app with duplicate binding names",
		verb: []string{"create"},
		yaml: "apiVersion: taskgate.dev/v1alpha1\nkind: App\nmetadata: {name: dup}\nspec: {image: x, serviceBindings: [{name: db, secretName: a}, {name: db, secretName: b}]}\n",
		want: `spec.serviceBindings[1]: Duplicate value: {"name":"db"}`,
	}, {
		name: "app with a bad security group",
		verb: []string{"create"},
		yaml: "apiVersion: taskgate.dev/v1alpha1\nkind: App\nmetadata: {name: sg}\nspec: {image: x, securityGroups: [Public_Egress]}\n",
		want: `spec.securityGroups[0]: Invalid value: "Public_Egress": spec.securityGroups[0] in body should match`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{}, tt.verb...), "-n", ns)
			if tt.yaml != "" {
				args = append(args, "-f", "-")
			}
			out, err := kubectl(t, tt.yaml, args...)
			if err == nil {
				t.Fatalf("kubectl %v succeeded, want it rejected:\n%s", tt.verb, out)
			}
			if !strings.Contains(out, tt.want) {
				t.Fatalf("kubectl %v said:\n%s\nwant it to contain:\n%s", tt.verb, out, tt.want)
			}
		})
	}

	t.Run("withdrawing a cancel", func(t *testing.T) {
		// A Task still running, so that it may be cancelled at all.
		mustKubectl(t, "apiVersion: taskgate.dev/v1alpha1\nkind: Task\nmetadata: {name: long, annotations: {localcluster.taskgate.dev/run-time: 5m}}\nspec: {appRef: {name: shop}, command: sleep 300}\n", "create", "-n", ns, "-f", "-")
		mustKubectl(t, "", "patch", "task", "long", "-n", ns, "--type=merge", "-p", `{"spec":{"desiredState":"Cancelled"}}`)
		out, err := kubectl(t, "", "patch", "task", "long", "-n", ns, "--type=merge", "-p", `{"spec":{"desiredState":"Run"}}`)
		want := `spec.desiredState: Invalid value: "Run": a cancel request cannot be withdrawn; create a new Task to run again`
		if err == nil || !strings.Contains(out, want) {
			t.Fatalf("withdrawing a cancel: err=%v\n%s\nwant:\n%s", err, out, want)
		}
		// Removing the field falls back to the default, Run: also refused.
		out, err = kubectl(t, "", "patch", "task", "long", "-n", ns, "--type=json", "-p", `[{"op":"remove","path":"/spec/desiredState"}]`)
		if err == nil || !strings.Contains(out, want) {
			t.Fatalf("removing a cancel: err=%v\n%s\nwant:\n%s", err, out, want)
		}
	})

	t.Run("ttl may change", func(t *testing.T) {
		mustKubectl(t, "", "patch", "task", "migrate", "-n", ns, "--type=merge", "-p", `{"spec":{"ttlSecondsAfterFinished":60}}`)
	})
}
