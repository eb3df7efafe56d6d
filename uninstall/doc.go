// Package uninstall removes what outlives a Helm release of taskgate: the
// leader-election Lease the manager created, and the Secrets cert-manager
// issued for the webhooks (cert-manager leaves a Certificate's Secret when
// the Certificate goes). The chart's post-delete hook runs it as
// `taskgate uninstall`, so helm uninstall leaves the release namespace as
// it found it; only the CRDs stay, when crds.keep says so, with every App
// and Task.
//
// It may import only the Kubernetes and controller-runtime client packages,
// no other package of taskgate: it runs when the release is going. Logs key
// objects by Kind with klog.KObj values, as package reconciler's doc says.
package uninstall
