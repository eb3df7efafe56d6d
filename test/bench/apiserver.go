package bench

import (
	"context"
	"fmt"
	"io"
	"time"

	dto "github.com/prometheus/client_model/go"
	"k8s.io/client-go/kubernetes"

	"github.com/taskgate/taskgate/test/localcluster"
)

// apiserverGet streams one of kube-apiserver's non-resource paths (its
// metrics, its profiles) as the cluster's admin, with params, within
// timeout if it is set.
func (e *Env) apiserverGet(ctx context.Context, path string, params map[string]string, timeout time.Duration) (io.ReadCloser, error) {
	cs, err := kubernetes.NewForConfig(e.Cluster.Config)
	if err != nil {
		return nil, fmt.Errorf("creating clientset: %w", err)
	}
	req := cs.RESTClient().Get().AbsPath(path)
	for k, v := range params {
		req = req.Param(k, v)
	}
	if timeout > 0 {
		req = req.Timeout(timeout)
	}
	return req.Stream(ctx)
}

// apiserverMetrics scrapes kube-apiserver's metrics.
func (e *Env) apiserverMetrics(ctx context.Context) (map[string]*dto.MetricFamily, error) {
	body, err := e.apiserverGet(ctx, "/metrics", nil, 0)
	if err != nil {
		return nil, fmt.Errorf("scraping kube-apiserver: %w", err)
	}
	defer body.Close()
	families, err := localcluster.ParseMetrics(body)
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver's metrics: %w", err)
	}
	return families, nil
}

// apiserverWrites counts the writes kube-apiserver has served, by verb and
// resource: "PATCH tasks/status". Every client's writes count, Tekton's
// and kube-controller-manager's too.
func (e *Env) apiserverWrites(ctx context.Context) (map[string]float64, error) {
	families, err := e.apiserverMetrics(ctx)
	if err != nil {
		return nil, err
	}
	writes := map[string]float64{}
	for _, m := range families["apiserver_request_total"].GetMetric() {
		l := map[string]string{}
		for _, p := range m.GetLabel() {
			l[p.GetName()] = p.GetValue()
		}
		switch l["verb"] {
		case "GET", "LIST", "WATCH", "CONNECT":
			continue
		}
		resource := l["resource"]
		if l["subresource"] != "" {
			resource += "/" + l["subresource"]
		}
		writes[l["verb"]+" "+resource] += m.GetCounter().GetValue()
	}
	return writes, nil
}
