// Package manager assembles taskgate's single binary: the webhook server,
// which serves on every replica, the policy loader, which also runs on every
// replica so each one admits by the same policy, and the reconcilers, which
// only the elected leader runs. Flags live in cmd/taskgate and arrive here
// as Options.
//
// It is the top floor: it may import every product package, and only
// cmd/taskgate imports it. It imports webhook only to register admission
// handlers; the policy and the facts its reconcilers share come from
// policy and facts. Logs key objects by Kind with klog.KObj values, as
// package reconciler's doc says.
package manager
