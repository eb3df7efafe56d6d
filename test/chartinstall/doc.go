// Package chartinstall installs taskgate as an admin does, and tests
// nothing else: the manager image is built without Docker (package
// release) and pushed to the local cluster's registry, then the chart is
// installed with the pinned helm, with cert-manager issuing the webhooks'
// certificate. The manager runs only as the chart's pods, on the real
// node: the apiserver calls its webhooks through the chart's Service
// (kube-proxy, inside the cluster's network namespace), and it reaches the
// apiserver through the Service "kubernetes", as it would in any cluster.
//
// The package has its own cluster because the e2e suite runs a manager of
// its own, whose webhooks and reconcilers would answer in the chart's
// place.
package chartinstall
