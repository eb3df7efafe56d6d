// Package inherit decides how a Task or a batch/v1 Job inherits its App's
// configuration, the way Cloud Foundry and Kf tasks inherit their app's
// environment, service bindings, resources, start command and security
// groups.
//
// It owns three things, so the rules live in one place:
//
//   - AppPod: what every pod of an App gets (env, envFrom, service binding
//     volumes and mounts, SERVICE_BINDING_ROOT, VCAP_SERVICES, labels,
//     resources, identity and security contexts), and the names it uses
//     (VCAPSecretName, binding volume names).
//   - ResolveTask and ResolveTaskIn: Task.spec.resolved, that is AppPod
//     plus the Task's overrides, VCAP_APPLICATION and cluster policy, with the field errors,
//     warnings and policy decisions the Task webhook reports; with the
//     namespace's labels, RunPod (the pod Tekton will run) must meet the
//     stricter Pod Security level of the namespace and the policy.
//   - JobInjection: the JSON-patch operations that give a Job labelled
//     taskgate.dev/app the App's configuration without overriding anything
//     the Job sets itself.
//
// Everything here is a pure function of its arguments: no clients, no I/O,
// no logger. Cluster policy decides through package policy; the webhook
// gathers the App, calls these functions and translates their results.
//
// It may import api/v1alpha1, policy, binding, workload, patch and
// message; it must not import facts, access, webhook, reconciler or
// manager, nor any client.
package inherit
