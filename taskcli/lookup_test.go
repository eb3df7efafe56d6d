package taskcli

import (
	"errors"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/taskgate/taskgate/reconciler"
)

func TestStepContainer(t *testing.T) {
	if want := "step-" + reconciler.StepName; StepContainer != want {
		t.Fatalf("StepContainer = %q, want %q: Tekton names a step's container step-<step name>", StepContainer, want)
	}
}

func TestAppNotFoundMessage(t *testing.T) {
	many := make([]string, 12)
	for i := range many {
		many[i] = fmt.Sprintf("app%02d", i)
	}
	tests := []struct {
		name string
		apps []string
		want string
	}{
		{"apps unknown", nil, "App shpo not found in namespace team. Create it with kubectl apply -f app.yaml, or choose the namespace with -n"},
		{"no apps", []string{}, "App shpo not found in namespace team, which has no Apps. Create it with kubectl apply -f app.yaml, or choose the namespace with -n"},
		{"some apps", []string{"shop", "web"}, "App shpo not found in namespace team; its Apps are shop, web. Create it with kubectl apply -f app.yaml, or choose the namespace with -n"},
		{"many apps", many, "App shpo not found in namespace team; its Apps include app00, app01, app02, app03, app04, app05, app06, app07, app08, app09 and 2 more. Create it with kubectl apply -f app.yaml, or choose the namespace with -n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := appNotFoundMessage("shpo", "team", tt.apps); got != tt.want {
				t.Errorf("appNotFoundMessage =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestSelectError(t *testing.T) {
	// As kube-apiserver words it for a field the CRD does not declare
	// selectable (apiextensions-apiserver's conversion.go).
	old := apierrors.NewBadRequest("field label not supported: status.id")
	other := apierrors.NewBadRequest("unable to parse requirement")
	if got, want := selectError(old).Error(), "field label not supported: status.id: the cluster's Task CRD does not let this plugin select a Task by App and ID; upgrade taskgate's chart, or name the Task by its name (kubectl task list shows it)"; got != want {
		t.Errorf("selectError(%v) =\n%s\nwant\n%s", old, got, want)
	}
	if !errors.Is(selectError(old), old) {
		t.Errorf("selectError(%v) does not wrap it", old)
	}
	if got := selectError(other); got != other {
		t.Errorf("selectError(%v) = %v, want it unchanged", other, got)
	}
}

func TestParseTaskRef(t *testing.T) {
	tests := []struct {
		args    []string
		want    taskRef
		wantErr string
	}{
		{args: []string{"migrate"}, want: taskRef{name: "migrate"}},
		{args: []string{"shop", "3"}, want: taskRef{app: "shop", id: 3}},
		{args: []string{"shop", "three"}, wantErr: `"three" is not a Task ID: give an App and a Task ID, such as shop 3, or a Task's name`},
		{args: []string{"shop", "0"}, wantErr: `"0" is not a Task ID: give an App and a Task ID, such as shop 3, or a Task's name`},
		{args: []string{"shop", "-2"}, wantErr: `"-2" is not a Task ID: give an App and a Task ID, such as shop 3, or a Task's name`},
		{args: nil, wantErr: "give an App and a Task ID, such as shop 3, or a Task's name; got 0 arguments"},
		{args: []string{"a", "1", "b"}, wantErr: "give an App and a Task ID, such as shop 3, or a Task's name; got 3 arguments"},
	}
	for _, tt := range tests {
		got, err := parseTaskRef(tt.args)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("parseTaskRef(%q) error = %v, want %s", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseTaskRef(%q) = %+v, %v; want %+v", tt.args, got, err, tt.want)
		}
	}
}
