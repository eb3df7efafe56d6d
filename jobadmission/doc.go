// Package jobadmission sets a new Job's ttlSecondsAfterFinished inside
// kube-apiserver, with no call to taskgate: the chart installs a
// MutatingAdmissionPolicy that does what the Job webhook's TTL decision
// does, and a ValidatingAdmissionPolicy that gives its warnings, both read
// their parameters from one JobTTLParams the manager writes from the
// policy ConfigMap. Jobs keep their creation TTL while the manager is down,
// and a Job create that needs only a TTL never leaves the apiserver.
//
// The Go policy stays the one source of truth. Params compiles it: globs
// become anchored regular expressions (policy.GlobRegexp), label selectors
// lists of requirements, and each rule's bounded TTLs and decision
// messages are computed by package policy itself, so the policies' CEL
// only matches and picks. Policies builds the two static policies; `make
// generate` writes them into the chart, and the conformance test in
// test/e2e runs one table of Jobs through package policy and through them
// on a real kube-apiserver.
//
// It may import api/v1alpha1, policy and patch; it must not import
// webhook, reconciler or manager, which build on it.
package jobadmission
