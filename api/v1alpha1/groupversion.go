package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the API group and version of App and Task.
var GroupVersion = schema.GroupVersion{Group: "taskgate.dev", Version: "v1alpha1"}

var (
	// SchemeBuilder registers the taskgate.dev/v1alpha1 types.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds the taskgate.dev/v1alpha1 types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion, &App{}, &AppList{}, &Task{}, &TaskList{}, &TaskSchedule{}, &TaskScheduleList{}, &JobTTLParams{}, &JobTTLParamsList{})
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
