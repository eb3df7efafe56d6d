#!/usr/bin/env bash
# The demo, run by `make demo` once the local cluster is up: applies
# examples/ and shows what taskgate made of them.
set -euo pipefail
dir=${1:-.cluster}
export KUBECONFIG=$dir/kubeconfig
kubectl=$dir/kubectl

run() { echo "+ kubectl $*"; "$kubectl" "$@"; }

"$kubectl" create namespace demo --dry-run=client -o yaml | "$kubectl" apply -f - >/dev/null
run apply -n demo -f examples/
echo
run get apps.taskgate.dev -n demo
echo
run get tasks -n demo
cat <<EOT

What this shows today: the App and Task APIs on a real local control plane
(etcd, kube-apiserver, controller-manager, scheduler, kwok nodes and the Tekton
controller). Tasks are accepted and validated, but nothing runs them yet:
the reconciler that turns each Task into a Tekton PipelineRun is not built.

Explore:
  export KUBECONFIG=$KUBECONFIG
  alias kubectl=$kubectl
  kubectl explain task.spec
  kubectl get taskgate -n demo
  kubectl get pipelineruns -A

Tear down:
  make cluster-down
EOT
