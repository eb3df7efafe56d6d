// Package v1alpha1 holds the taskgate.dev/v1alpha1 API: App, the runtime
// configuration a parent app's tasks inherit, and Task, one run of an App.
//
// The package depends only on the Kubernetes API machinery so that clients,
// the webhook and the reconciler can share it without pulling in
// controller-runtime.
//
// +kubebuilder:object:generate=true
// +groupName=taskgate.dev
package v1alpha1
