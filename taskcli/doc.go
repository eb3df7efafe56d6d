// Package taskcli is the `kubectl task` plugin: it runs, lists, shows the
// logs of and terminates taskgate Tasks the way `cf run-task`, `cf tasks`
// and `cf terminate-task` do for Cloud Foundry apps, against any cluster
// that kubectl can reach.
//
// The commands are thin: they gather what they need from the cluster and
// hand it to pure functions (size parsing, the order of Tasks, progress
// lines, error messages), which are table-tested. list and get print as
// kubectl get does, with its print flags and sorters: the server's Table
// of the Task CRD's printer columns, or the objects. Waiting and log streaming poll
// the Task through the API server, so they work with any RBAC that lets a
// developer read Tasks and pod logs.
//
// It may import the API types, schedule and workload (pure helpers), and
// Kubernetes' client libraries; it must not import webhook, reconciler,
// manager or policy, which run in the manager, not on a developer's
// machine.
package taskcli
