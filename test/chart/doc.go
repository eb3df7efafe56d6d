// Package chart tests the Helm chart in charts/taskgate without a cluster:
// it runs the pinned helm (go tool -modfile=tools/go.mod helm) to lint the
// chart strictly and render it with each values file in charts/taskgate/ci,
// as a subchart of another chart, and with bad values, and asserts the exact
// objects and error messages. What the apiserver makes of the rendered
// objects is tested on the local cluster, in test/e2e (chart_test.go).
package chart
