// Package access decides what the sender of an App or Task must be allowed
// to do, and asks the API server whether they are, so that taskgate never
// lets anyone do more than they could with a Pod.
//
// An App is a pod template: whoever writes one needs create on pods in its
// namespace, as they would to run the same pod themselves, and get on each
// Secret its serviceBindings name, because the manager reads those with its
// own powers to build VCAP_SERVICES. A Task may run its App's pod but not
// widen it: each Secret or ConfigMap its env reads that the App does not
// already give its pods needs get.
//
// AppNeeds and TaskNeeds are pure functions from objects to Needs, each
// with the field that caused it. A Reviewer tells which needs a requester
// lacks; SubjectAccessReviewer does so with SubjectAccessReviews and a
// short-lived cache of decisions. Forbidden turns what is missing into a
// field.ErrorList in kubectl's words.
//
// It may import the API types, inherit (for what an App's pods are given)
// and Kubernetes' authorization libraries; it must not import webhook,
// reconciler or manager, which call it.
package access
