package taskcli

import (
	"bytes"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// TestEachItemNames shows that -o name prints a TaskList as kubectl get
// does, a line per Task, which the name printer alone refuses.
func TestEachItemNames(t *testing.T) {
	o := NewOptions(genericiooptions.NewTestIOStreamsDiscard())
	name := "name"
	p, err := (&genericclioptions.PrintFlags{
		OutputFormat:       &name,
		NamePrintFlags:     genericclioptions.NewNamePrintFlags(""),
		JSONYamlPrintFlags: genericclioptions.NewJSONYamlPrintFlags(),
	}).WithTypeSetter(o.scheme).ToPrinter()
	if err != nil {
		t.Fatal(err)
	}
	list := &v1alpha1.TaskList{Items: []v1alpha1.Task{*task("shop-a", 1, ""), *task("shop-b", 2, "")}}
	var buf bytes.Buffer
	if err := (eachItem{p}).PrintObj(list, &buf); err != nil {
		t.Fatal(err)
	}
	if want := "task.taskgate.dev/shop-a\ntask.taskgate.dev/shop-b\n"; buf.String() != want {
		t.Errorf("printed %q, want %q", buf.String(), want)
	}
	if err := p.PrintObj(list, &buf); err == nil {
		t.Error("the name printer alone took a list; eachItem is no longer needed")
	}
}
