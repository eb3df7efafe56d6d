package taskcli

import (
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/jsonpath"
	"k8s.io/kubectl/pkg/cmd/get"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// taskResource is the resource that list and get read through
// cli-runtime's Builder, as resource.version.group: the version whose
// printer columns the plugin knows, and no other group's "tasks"
// (Tekton's).
var taskResource = "tasks." + v1alpha1.GroupVersion.Version + "." + v1alpha1.GroupVersion.Group

// tablePrinting says whether f prints the server's Table, as kubectl get
// decides: the default format (no --template either) and wide.
// custom-columns and the rest print the objects themselves.
func tablePrinting(f *get.PrintFlags) bool {
	output := *f.OutputFormat
	template := f.TemplateFlags.TemplateArgument != nil && *f.TemplateFlags.TemplateArgument != ""
	return (output == "" && !template) || output == "wide"
}

// sortField is --sort-by as a JSONPath template, "" without it. kubectl's
// sorter takes the same relaxed forms, such as .status.id or
// {.status.id}.
func sortField(f *get.PrintFlags) (string, error) {
	if f.HumanReadableFlags.SortBy == nil || *f.HumanReadableFlags.SortBy == "" {
		return "", nil
	}
	sortBy := *f.HumanReadableFlags.SortBy
	field, err := get.RelaxedJSONPathExpression(sortBy)
	if err == nil {
		err = jsonpath.New("sort-by").Parse(field)
	}
	if err != nil {
		return "", fmt.Errorf("--sort-by %q is not a JSONPath expression such as .status.id or .metadata.creationTimestamp: %w", sortBy, err)
	}
	return field, nil
}

// taskPrinter returns the printer that f asks for, as kubectl get builds
// it: the server's Table through kubectl's human-readable printer, or
// the objects through cli-runtime's; either sorted by --sort-by, or else
// by namespace, App and ID as cf tasks lists them. allNamespaces adds the
// namespace column.
func taskPrinter(f *get.PrintFlags, allNamespaces bool) (printers.ResourcePrinter, error) {
	return kindPrinter(f, v1alpha1.GroupVersion.WithKind("Task").GroupKind(), allNamespaces)
}

// kindPrinter is taskPrinter for objects of kind.
func kindPrinter(f *get.PrintFlags, kind schema.GroupKind, allNamespaces bool) (printers.ResourcePrinter, error) {
	// kubectl get's own checks of its print flags, such as --show-labels
	// with -o json.
	if err := (&get.GetOptions{PrintFlags: f}).Validate(); err != nil {
		return nil, err
	}
	field, err := sortField(f)
	if err != nil {
		return nil, err
	}
	f.SetKind(kind)
	if allNamespaces {
		if err := f.EnsureWithNamespace(); err != nil {
			return nil, err
		}
	}
	p, err := f.ToPrinter()
	if err != nil {
		// kubectl's own message, which lists the formats it knows.
		return nil, err
	}
	p = orderedPrinter{sortField: field, delegate: p}
	if tablePrinting(f) {
		// It turns the Table that the server sent, which the Builder
		// decodes as unstructured, into a metav1.Table, and each row's
		// object into an unstructured Task.
		p = &get.TablePrinter{Delegate: p}
	}
	return p, nil
}

// orderedPrinter sorts a Table's rows or a list's items before printing
// them: by the JSONPath sortField (--sort-by) with kubectl's sorters, or
// else with compareTasks.
type orderedPrinter struct {
	sortField string
	delegate  printers.ResourcePrinter
}

func (p orderedPrinter) PrintObj(obj runtime.Object, w io.Writer) error {
	if err := p.order(obj); err != nil {
		return err
	}
	return p.delegate.PrintObj(obj, w)
}

func (p orderedPrinter) order(obj runtime.Object) error {
	switch o := obj.(type) {
	case *metav1.Table:
		if p.sortField == "" {
			sortRows(o.Rows)
			return nil
		}
		// The rows carry their objects (includeObject=Object), which the
		// sorter reads.
		sorter, err := get.NewTableSorter(o, p.sortField)
		if err != nil {
			return fmt.Errorf("--sort-by %s: %w", p.sortField, err)
		}
		return sorter.Sort()
	case *unstructured.UnstructuredList:
		if p.sortField == "" {
			sortItems(o.Items)
			return nil
		}
		if len(o.Items) == 0 {
			return nil
		}
		items, err := meta.ExtractList(o)
		if err != nil {
			return err
		}
		if _, err := get.SortObjects(nil, items, p.sortField); err != nil {
			return fmt.Errorf("--sort-by %s: %w", p.sortField, err)
		}
		return meta.SetList(o, items)
	}
	return nil
}

// taskQuery names the Tasks that list and get read: one by name, or an
// App's, or all, in the namespace or in every namespace.
type taskQuery struct {
	allNamespaces bool
	app           string
	// schedule selects the Tasks of a TaskSchedule, by their label.
	schedule string
	name     string
}

// readTasks reads the Tasks of q through cli-runtime's Builder, as
// kubectl get does: as the server's Table of the CRD's printer columns,
// with each row's object for sorting, when table; else as the objects,
// a TaskList or one Task. The result is unstructured, as it is for
// kubectl.
func (o *Options) readTasks(q taskQuery, table bool) (runtime.Object, error) {
	args := []string{taskResource}
	if q.name != "" {
		args = append(args, q.name)
	}
	selector := labels.Set{}
	if q.app != "" {
		selector[v1alpha1.LabelApp] = q.app
	}
	if q.schedule != "" {
		selector[v1alpha1.LabelSchedule] = q.schedule
	}
	return o.read(readRequest{
		kind: v1alpha1.GroupVersion.WithKind("Task"), what: "Tasks", args: args,
		namespace: o.namespace, allNamespaces: q.allNamespaces, selector: selector, table: table,
		explain: apiError,
	})
}

// readRequest is one read of a taskgate resource type, as kubectl get
// makes it.
type readRequest struct {
	kind schema.GroupVersionKind
	// what names the objects in errors, such as "Tasks".
	what string
	// args are the resource type, then a name if one object is read.
	args          []string
	namespace     string
	allNamespaces bool
	selector      labels.Set
	table         bool
	// explain words an error of discovery or the read for the user, as
	// the Builder says only that the server has no such resource type.
	explain func(error) error
}

// read reads r through cli-runtime's Builder: as the server's Table of
// the CRD's printer columns, with each row's object for sorting, when
// r.table; else as the objects, a list or one. The result is
// unstructured, as it is for kubectl.
func (o *Options) read(r readRequest) (runtime.Object, error) {
	mapper, err := o.ConfigFlags.ToRESTMapper()
	if err != nil {
		return nil, fmt.Errorf("discovering the API: %w", err)
	}
	if _, err := mapper.RESTMapping(r.kind.GroupKind(), r.kind.Version); err != nil {
		return nil, r.explain(err)
	}
	b := resource.NewBuilder(o.ConfigFlags).
		Unstructured().
		NamespaceParam(r.namespace).DefaultNamespace().AllNamespaces(r.allNamespaces).
		ResourceTypeOrNameArgs(true, r.args...).
		SingleResourceType()
	if len(r.selector) > 0 {
		b = b.LabelSelectorParam(r.selector.String())
	}
	if r.table {
		b = b.TransformRequests(func(req *rest.Request) {
			req.SetHeader("Accept", strings.Join([]string{
				fmt.Sprintf("application/json;as=Table;v=%s;g=%s", metav1.SchemeGroupVersion.Version, metav1.GroupName),
				"application/json",
			}, ","))
			req.Param("includeObject", string(metav1.IncludeObject))
		})
	}
	infos, err := b.Do().Infos()
	if err != nil {
		return nil, r.explain(err)
	}
	if len(infos) != 1 {
		// One request, one answer: a list, a Table or one object.
		return nil, fmt.Errorf("reading %s: the API server answered with %d objects, want 1", r.what, len(infos))
	}
	return infos[0].Object, nil
}

// countTasks is how many Tasks obj holds: a Table's rows, a list's items,
// or one.
func countTasks(obj runtime.Object) int {
	if u, ok := obj.(*unstructured.Unstructured); ok && u.GetKind() == "Table" {
		rows, _, _ := unstructured.NestedSlice(u.Object, "rows")
		return len(rows)
	}
	if meta.IsListType(obj) {
		return meta.LenList(obj)
	}
	return 1
}
