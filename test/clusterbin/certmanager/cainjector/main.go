// Command cainjector runs cert-manager's CA injector, from the pinned
// github.com/cert-manager/cert-manager module, against the local test
// cluster: it copies a Certificate's CA into the caBundle of webhook
// configurations annotated cert-manager.io/inject-ca-from.
//
// cert-manager publishes only its library module: cmd/cainjector is a
// separate, untagged module that the Go module proxy does not serve. This
// file is the small wiring cmd/cainjector would otherwise provide: one
// controller-runtime manager without leader election, metrics off, /readyz on
// --health-probe-bind-address, and cert-manager's own injectors for
// Mutating and ValidatingWebhookConfigurations and CRDs.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	cmscheme "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned/scheme"
	"github.com/cert-manager/cert-manager/pkg/controller/cainjector"
	"github.com/cert-manager/cert-manager/pkg/util"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cert-manager-cainjector:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := flag.NewFlagSet("cert-manager-cainjector", flag.ExitOnError)
	// A flag set of its own: controller-runtime registers --kubeconfig on
	// the global one.
	kubeconfig := fs.String("kubeconfig", "", "path to the cluster's kubeconfig")
	healthAddr := fs.String("health-probe-bind-address", "127.0.0.1:0", "address of /readyz")
	klog.InitFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if *kubeconfig == "" {
		return errors.New("--kubeconfig is required")
	}
	log := klog.Background()
	ctrl.SetLogger(log)

	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("loading kubeconfig: %w", err)
	}
	// The injectors name their field manager after the user agent, as
	// cert-manager's own cainjector sets it.
	cfg = util.RestConfigWithUserAgent(cfg, "cainjector")
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, cmscheme.AddToScheme, apiextensionsv1.AddToScheme, apiregistrationv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			return fmt.Errorf("building scheme: %w", err)
		}
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Logger:                 log,
		LeaderElection:         false,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: *healthAddr,
		// Secrets are read live, as cert-manager's cainjector does, rather
		// than caching every Secret in the cluster.
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return fmt.Errorf("adding readiness check: %w", err)
	}
	ctx := ctrl.SetupSignalHandler()
	if err := cainjector.RegisterAllInjectors(ctx, mgr, cainjector.SetupOptions{
		EnableCertificatesDataSource: true,
		EnabledReconcilersFor: map[string]bool{
			cainjector.MutatingWebhookConfigurationName:   true,
			cainjector.ValidatingWebhookConfigurationName: true,
			cainjector.CustomResourceDefinitionName:       true,
			// The local cluster runs no aggregated APIs.
			cainjector.APIServiceName: false,
		},
	}); err != nil {
		return fmt.Errorf("registering injectors: %w", err)
	}
	log.Info("Starting cainjector")
	return mgr.Start(ctx)
}
