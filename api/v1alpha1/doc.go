// Package v1alpha1 holds the taskgate.dev/v1alpha1 API: App, the runtime
// configuration a parent app's tasks inherit, and Task, one run of an App;
// TaskSchedule, which starts Tasks at cron ticks; and the reasons of their
// conditions (conditions.go), which clients match on.
//
// The package depends only on the Kubernetes API machinery so that clients,
// the webhook and the reconciler can share it without pulling in
// controller-runtime. It must import no package of taskgate.
//
// +kubebuilder:object:generate=true
// +groupName=taskgate.dev
package v1alpha1
