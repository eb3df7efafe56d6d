package manager

import (
	"reflect"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/cache"
)

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Options)
		want string // "" for valid
	}{
		{"the defaults", func(*Options) {}, ""},
		{"pprof on 127.0.0.1", func(o *Options) { o.PprofAddr = "127.0.0.1:8082" }, ""},
		{"pprof on ::1", func(o *Options) { o.PprofAddr = "[::1]:8082" }, ""},
		{"pprof on localhost", func(o *Options) { o.PprofAddr = "localhost:8082" }, ""},
		{"pprof on every interface", func(o *Options) { o.PprofAddr = ":8082" },
			`--pprof-bind-address ":8082": pprof has no authentication; bind it to a loopback address such as 127.0.0.1:8082 and reach it with kubectl port-forward`},
		{"pprof on a pod address", func(o *Options) { o.PprofAddr = "10.0.0.7:8082" },
			`--pprof-bind-address "10.0.0.7:8082": pprof has no authentication; bind it to a loopback address such as 127.0.0.1:8082 and reach it with kubectl port-forward`},
		{"pprof without a port", func(o *Options) { o.PprofAddr = "127.0.0.1" },
			`--pprof-bind-address "127.0.0.1": not host:port: address 127.0.0.1: missing port in address`},
		{"watched namespaces", func(o *Options) { o.WatchNamespaces = []string{"team-a", "team-b"} }, ""},
		{"a watched namespace that cannot be one", func(o *Options) { o.WatchNamespaces = []string{"Team_A"} },
			`--watch-namespaces: "Team_A" is not a namespace name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
		{"a namespace watched twice", func(o *Options) { o.WatchNamespaces = []string{"team-a", "team-a"} },
			`--watch-namespaces lists "team-a" twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultOptions()
			tt.edit(&o)
			got := ""
			if err := o.Validate(); err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Fatalf("Validate() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCacheNamespaces(t *testing.T) {
	o := DefaultOptions()
	if got := o.cacheNamespaces(); got != nil {
		t.Errorf("cluster-wide: cacheNamespaces() = %v, want nil", got)
	}
	o.WatchNamespaces = []string{"team-a", "team-b"}
	want := map[string]cache.Config{"team-a": {}, "team-b": {}}
	if got := o.cacheNamespaces(); !reflect.DeepEqual(got, want) {
		t.Errorf("cacheNamespaces() = %v, want %v", got, want)
	}
}

func TestMetricsServerOptions(t *testing.T) {
	o := DefaultOptions()
	if so := metricsServerOptions(o); !so.SecureServing || so.FilterProvider == nil || so.BindAddress != ":8443" || len(so.TLSOpts) != 1 {
		t.Errorf("by default metrics are served on :8443 over HTTPS behind authentication and authorization; got %+v", so)
	}
	o.MetricsSecure, o.MetricsAddr = false, "127.0.0.1:8080"
	if so := metricsServerOptions(o); so.SecureServing || so.FilterProvider != nil || so.BindAddress != "127.0.0.1:8080" {
		t.Errorf("insecure metrics are plain HTTP without a filter; got %+v", so)
	}
}
