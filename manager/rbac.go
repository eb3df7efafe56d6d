package manager

// The permissions the manager itself needs; the reconcilers declare theirs
// beside their code. controller-gen turns these into
// charts/taskgate/files/rbac/role.yaml.
//
// Namespaces: policy rules select namespaces by label.
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// Events: policy reload failures and decisions are reported as Events.
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// The policy ConfigMap and the leader-election Lease live in the manager's
// namespace only.
// +kubebuilder:rbac:groups="",namespace=taskgate-system,resources=configmaps,verbs=get;list;watch
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=taskgate-system,resources=leases,verbs=get;create;update
// Apps: the webhooks resolve a Task's or Job's configuration from its App.
// +kubebuilder:rbac:groups=taskgate.dev,resources=apps,verbs=get;list;watch
