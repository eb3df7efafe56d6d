// Package facts gathers what cluster policy decides on, so the webhooks,
// the reconcilers and the manager read it the same way: the policy in
// force (PolicySource), an object and its namespace turned into
// policy.ObjectFacts (Object), a namespace's labels and UID read through a
// client.Reader (ReadNamespace and the NamespaceLabels and NamespaceUID
// readers the manager backs with its cache), and the hook told of each
// decision (Decided), for metrics.
//
// It gathers and never decides: decisions belong to package policy. It
// may import policy and the Kubernetes and controller-runtime client
// packages, and must not import webhook, reconciler, manager, inherit or
// any other package of taskgate that decides or admits.
package facts
