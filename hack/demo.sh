#!/usr/bin/env bash
# The demo, run by `make demo` once the local cluster is up: runs the
# taskgate manager against it, applies examples/, waits for the tasks and
# shows what happened.
set -euo pipefail
dir=${1:-.cluster}
export KUBECONFIG=$dir/kubeconfig
kubectl=$dir/kubectl
ns=demo

run() { echo "+ kubectl $*"; "$kubectl" "$@"; }

# The manager runs as a process inside the cluster's network namespace, as
# a pod would: the apiserver calls its webhooks on 127.0.0.1 there, with a
# CA that install-webhooks generated.
inside() { bin/localcluster exec -dir "$dir" -- "$@"; }
"$kubectl" create namespace taskgate-system --dry-run=client -o yaml | "$kubectl" apply -f - >/dev/null
bin/localcluster install-webhooks -dir "$dir"
# shellcheck disable=SC1091
source "$dir/webhook.env"
if [ -f "$dir/manager.pid" ] && kill -0 "$(cat "$dir/manager.pid")" 2>/dev/null; then
	kill "$(cat "$dir/manager.pid")"; sleep 1
fi
# exec replaces itself with nsenter, which execs the manager: $! is its pid.
bin/localcluster exec -dir "$dir" -- bin/taskgate --kubeconfig "$KUBECONFIG" --namespace taskgate-system --leader-elect=false \
	--webhook-host "$WEBHOOK_HOST" --webhook-port "$WEBHOOK_PORT" --cert-dir "$WEBHOOK_CERT_DIR" \
	--metrics-bind-address 127.0.0.1:18380 --health-probe-bind-address 127.0.0.1:18381 --shutdown-drain 0s \
	>"$dir/manager.log" 2>&1 &
echo $! >"$dir/manager.pid"
for _ in $(seq 100); do
	inside curl -sf http://127.0.0.1:18381/readyz >/dev/null 2>&1 && break
	kill -0 "$(cat "$dir/manager.pid")" || { echo "the manager exited; see $dir/manager.log"; exit 1; }
	sleep 0.2
done
echo "taskgate manager running (pid $(cat "$dir/manager.pid"), log $dir/manager.log)"
echo

# The demo's pods run on the cluster's real node (kubelet, containerd, runc),
# from the App image the cluster built from examples/image.
bin/localcluster real-node-namespace -dir "$dir" $ns
# The policy binds the security group examples/app.yaml asks for to the
# namespace. The manager loads it within moments; the App needs it.
run apply -f hack/demo-policy.yaml
for _ in $(seq 50); do
	"$kubectl" apply --dry-run=server -n $ns -f examples/app.yaml >/dev/null 2>&1 && break
	sleep 0.2
done
# The shop's database first, with the App and its binding Secret, whose
# password the server takes: the Tasks then find it ready. (migrate would
# wait up to 30 s for it, but a server still in initdb would make the
# demo's timing depend on the machine.)
run apply -n $ns -f hack/demo-database.yaml -f examples/app.yaml
run rollout status -n $ns deployment/db --timeout=120s
echo
run apply -n $ns -f examples/
echo
run wait -n $ns --for=condition=Succeeded --timeout=120s task/migrate
run wait -n $ns --for=jsonpath='{.status.state}'=Failed --timeout=120s task/send-digest
echo
run get apps.taskgate.dev -n $ns
echo
run get tasks -n $ns -o wide
echo
pod=$("$kubectl" get task migrate -n $ns -o jsonpath='{.status.podName}')
run logs -n $ns "$pod" -c step-main
echo
# A third Task, run the way a developer would: the database lists what
# migrate created. --wait -f streams its output and exits with its status.
echo "+ kubectl task run shop -c 'bundle exec rake db:migrate:status' --wait -f"
bin/kubectl-task --kubeconfig "$KUBECONFIG" -n $ns run shop -c 'bundle exec rake db:migrate:status' --wait -f
echo
echo "+ kubectl task logs send-digest"
bin/kubectl-task --kubeconfig "$KUBECONFIG" -n $ns logs send-digest
echo
run get task send-digest -n $ns -o jsonpath='exit code {.status.exitCode}: {.status.failureReason}{"\n"}'
cat <<EOT

The App "shop" ran three Tasks as Tekton PipelineRuns on a local cluster
(etcd, kube-apiserver, controller-manager, scheduler, Tekton, and a real node:
kubelet, containerd and runc, with pod networking, Services and DNS). Each ran
its command for real in the App's image (built from examples/image):
"migrate" read its database binding and created the shop's tables with psql
in a real PostgreSQL 15 server (hack/demo-database.yaml), reached through the
Service "db"; the status Task listed them as the database does; "send-digest"
exited with status 75 from its own process. Every line above is the
processes' own output.

Explore:
  export KUBECONFIG=$KUBECONFIG
  alias kubectl=$kubectl
  bin/kubectl-task -n $ns run shop -c 'echo hello from \$(hostname)' --wait -f
  bin/kubectl-task -n $ns run shop -c 'bundle exec rake db:migrate' --wait -f   # again: 0 applied
  kubectl get task send-digest -n $ns -o yaml     # resolved configuration and status
  kubectl explain task.spec
  kubectl get pipelineruns,pods,services -n $ns -o wide
  bin/localcluster exec -dir $dir -- ip -br addr   # run anything in the cluster's network
  kubectl patch task migrate -n $ns --type=merge -p '{"spec":{"ttlSecondsAfterFinished":5}}'

Tear down (stops the manager too):
  make cluster-down
EOT
