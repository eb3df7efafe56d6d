// Command controller runs cert-manager's own Issuer, Certificate and
// CertificateRequest controllers, from the pinned
// github.com/cert-manager/cert-manager module, against the local test
// cluster.
//
// cert-manager publishes only its library module: cmd/controller is a
// separate, untagged module that the Go module proxy does not serve. This
// file is the small wiring that cmd/controller would otherwise provide, for
// just the controllers the taskgate chart uses (self-signed and CA issuers,
// the approver and the Certificate lifecycle). It runs one replica without
// leader election, serves nothing but /readyz on --health-probe-bind-address,
// and configures the controllers only; their code is cert-manager's.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"k8s.io/klog/v2"

	controllerpkg "github.com/cert-manager/cert-manager/pkg/controller"
	"github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	crca "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	crselfsigned "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	"github.com/cert-manager/cert-manager/pkg/controller/issuers"
	// The Issuer implementations register themselves with the issuers
	// controller.
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
)

// controllers are the ones this command runs: what an Issuer of kind
// SelfSigned or CA and a Certificate need. ACME, Vault, Venafi, the
// ClusterIssuer and the ingress/gateway shims stay off.
var controllers = []string{
	issuers.ControllerName,
	approver.ControllerName,
	crselfsigned.CRControllerName,
	crca.CRControllerName,
	trigger.ControllerName,
	issuing.ControllerName,
	keymanager.ControllerName,
	requestmanager.ControllerName,
	readiness.ControllerName,
	revisionmanager.ControllerName,
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cert-manager-controller:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := flag.NewFlagSet("cert-manager-controller", flag.ExitOnError)
	// A flag set of its own: controller-runtime registers --kubeconfig on
	// the global one.
	kubeconfig := fs.String("kubeconfig", "", "path to the cluster's kubeconfig")
	healthAddr := fs.String("health-probe-bind-address", "127.0.0.1:0", "address of /readyz")
	namespace := fs.String("cluster-resource-namespace", "kube-system", "namespace for ClusterIssuer secrets")
	klog.InitFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if *kubeconfig == "" {
		return errors.New("--kubeconfig is required")
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx = logf.NewContext(ctx, klog.Background(), "controller")

	factory, err := controllerpkg.NewContextFactory(ctx, controllerpkg.ContextOptions{
		Kubeconfig:         *kubeconfig,
		KubernetesAPIQPS:   50,
		KubernetesAPIBurst: 100,
		IssuerOptions:      controllerpkg.IssuerOptions{ClusterResourceNamespace: *namespace},
		CertificateOptions: controllerpkg.CertificateOptions{
			CopiedAnnotationPrefixes:                 []string{"*", "-kubectl.kubernetes.io/"},
			CertificateRequestMinimumBackoffDuration: time.Hour,
			CertificateRequestMaximumBackoffDuration: 32 * time.Hour,
		},
		SchedulerOptions: controllerpkg.SchedulerOptions{MaxConcurrentChallenges: 60},
	})
	if err != nil {
		return fmt.Errorf("building controller context: %w", err)
	}

	known := controllerpkg.Known()
	loops := make(map[string]controllerpkg.Interface, len(controllers))
	for _, name := range controllers {
		construct, ok := known[name]
		if !ok {
			return fmt.Errorf("controller %s is not registered", name)
		}
		if loops[name], err = construct(factory); err != nil {
			return fmt.Errorf("constructing controller %s: %w", name, err)
		}
	}

	// Constructing the controllers asked the shared informer factories for
	// the informers they need; starting the factories starts those.
	shared, err := factory.Build()
	if err != nil {
		return fmt.Errorf("building controller context: %w", err)
	}
	shared.SharedInformerFactory.Start(ctx.Done())
	shared.KubeSharedInformerFactory.Start(ctx.Done())

	var synced atomic.Bool
	go func() {
		if !allTrue(shared.SharedInformerFactory.WaitForCacheSync(ctx.Done())) ||
			!allTrue(shared.KubeSharedInformerFactory.WaitForCacheSync(ctx.Done())) {
			return
		}
		synced.Store(true)
		klog.Info("Informer caches synced")
	}()
	if err := serveReadyz(ctx, *healthAddr, synced.Load); err != nil {
		return err
	}

	var wg sync.WaitGroup
	errs := make(chan error, len(loops))
	for name, loop := range loops {
		wg.Go(func() {
			if err := loop.Run(5, ctx); err != nil {
				errs <- fmt.Errorf("controller %s: %w", name, err)
				stop()
			}
		})
	}
	klog.Info("Started controllers", "controllers", controllers)
	wg.Wait()
	close(errs)
	return <-errs
}

func allTrue[K comparable](synced map[K]bool) bool {
	for _, ok := range synced {
		if !ok {
			return false
		}
	}
	return true
}

// serveReadyz answers /readyz with 200 once ready reports true.
func serveReadyz(ctx context.Context, addr string, ready func() bool) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready() {
			http.Error(w, "informer caches not synced", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	klog.Info("Serving /readyz", "address", ln.Addr().String())
	return nil
}
