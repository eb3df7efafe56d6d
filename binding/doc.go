// Package binding decides what a service binding looks like to the code in
// a Task, in the two shapes binding-aware libraries read:
//
//   - servicebinding.io: a directory per binding under
//     $SERVICE_BINDING_ROOT holding the Secret's keys as files, plus the
//     type and provider files that clients such as Spring Cloud Bindings
//     select bindings by (Type, Provider);
//   - Cloud Foundry: the VCAP_SERVICES document, keyed by label, whose
//     entries carry name, instance_name, binding_name, label, plan,
//     provider, tags, credentials, syslog_drain_url and volume_mounts, as
//     java-cfenv and the cfenv libraries for Node and Python expect
//     (VCAPServices).
//
// Everything here is a pure function of an App's bindings and the Secrets
// they name: the reconciler reads the Secrets and writes the result, and
// the App webhook refuses a binding with no type.
//
// It may import only the API types and Kubernetes' libraries: it knows
// nothing of webhooks, reconcilers or clients.
package binding
