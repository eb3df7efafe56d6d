package manager

// The permissions the manager itself needs; the reconcilers declare theirs
// beside their code. controller-gen turns these into
// charts/taskgate/files/rbac/role.yaml. Each marker says what needs it; a
// verb nothing calls is dropped. The chart's namespaced mode
// (watchNamespaces) grants the namespaced resources of the ClusterRole per
// watched namespace instead; the cluster-scoped ones below stay cluster-wide.
//
// Namespaces (cluster-scoped): the webhooks and the Job TTL and cap
// reconcilers select by namespace labels, read from an informer
// (facts.NamespaceLabelsFrom), and the cap reconciler GETs one.
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// Events: the reconcilers' and webhooks' decisions on Tasks and Jobs, in
// their namespaces (create; patch when a repeat is counted on the same
// Event).
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// The policy loader's Events on the policy ConfigMap go in the manager's
// namespace; granted there too so the namespaced mode, which grants the
// rule above only in the watched namespaces, keeps them.
// +kubebuilder:rbac:groups=events.k8s.io,namespace=taskgate-system,resources=events,verbs=create;patch
// The policy ConfigMap (one informer, by name) and the leader-election
// Lease (get, create, update: client-go's leaselock) live in the manager's
// namespace only.
// +kubebuilder:rbac:groups="",namespace=taskgate-system,resources=configmaps,verbs=get;list;watch
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=taskgate-system,resources=leases,verbs=get;create;update
// Secrets: the Task webhook reads the imagePullSecrets of a Task's App, to
// read the App's image labels with their login where policy
// tasks.launcherDetection lists the registry (webhook.ReadPullSecrets).
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// Apps: the webhooks resolve a Task's or Job's configuration from its App,
// through an informer, reading live on a miss.
// +kubebuilder:rbac:groups=taskgate.dev,resources=apps,verbs=get;list;watch
// Workloads: an App's spec.from names a Deployment, StatefulSet,
// DaemonSet or CronJob whose container its Tasks run. The Task webhooks
// GET it and list its pods (by its selector) for the digest they run; the
// Task reconciler GETs it again before a run. All live, never cached
// (package workload).
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets,verbs=get
// +kubebuilder:rbac:groups=batch,resources=cronjobs,verbs=get
// +kubebuilder:rbac:groups="",resources=pods,verbs=list
// Metrics (cluster-scoped): with --metrics-secure, every scrape's bearer
// token is checked with a TokenReview and its right to GET /metrics with a
// SubjectAccessReview (controller-runtime's
// filters.WithAuthenticationAndAuthorization).
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create
