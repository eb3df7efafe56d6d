package chartinstall

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2/textlogger"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/release"
	"github.com/taskgate/taskgate/test/chartrender"
	"github.com/taskgate/taskgate/test/localcluster"
)

const (
	// releaseName and releaseNamespace are the chart's release, as
	// docs/install.md installs it.
	releaseName      = "taskgate"
	releaseNamespace = "taskgate-system"
	// imageRepository is the manager image's repository in the cluster's
	// registry.
	imageRepository = "taskgate/taskgate"
)

var (
	// cluster is the package's local cluster.
	cluster *localcluster.Cluster
	// scheme is localcluster.NewScheme.
	scheme *runtime.Scheme
	// imageDigest is the manager image's index digest, as pushed.
	imageDigest v1.Hash
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if scheme, err = localcluster.NewScheme(); err != nil {
		fmt.Fprintln(os.Stderr, "building scheme:", err)
		return 1
	}
	root, err := localcluster.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir := filepath.Join(root, ".cluster", "chartinstall")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	logf := func(format string, args ...any) { fmt.Printf("chartinstall: "+format+"\n", args...) }
	// envtest logs through controller-runtime's logger; keep it in a file.
	logFile, err := os.Create(filepath.Join(dir, "envtest.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer logFile.Close()
	ctrl.SetLogger(textlogger.NewLogger(textlogger.NewConfig(textlogger.Output(logFile))))

	// The image builds while nothing else runs: the cluster waits for the
	// machine's lock, which the e2e suite may hold.
	start := time.Now()
	index, err := release.ManagerImage(ctx, release.ManagerImageOptions{
		ModuleDir: root,
		Platforms: []v1.Platform{{OS: "linux", Architecture: goruntime.GOARCH}},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "building the manager image:", err)
		return 1
	}
	logf("manager image built in %s", time.Since(start).Round(10*time.Millisecond))

	cluster, err = localcluster.Start(ctx, localcluster.Options{RepoRoot: root, Dir: dir, RealNode: true, WithoutTaskgateCRDs: true, Logf: logf})
	if cluster != nil {
		defer func() {
			if err := cluster.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
		}()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the local cluster:", err, "\nlogs in", dir)
		return 1
	}
	start = time.Now()
	if err := cluster.StartCertManager(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "starting cert-manager:", err)
		return 1
	}
	logf("cert-manager ready in %s", time.Since(start).Round(10*time.Millisecond))
	if imageDigest, err = push(ctx, index); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// push pushes the manager image to the cluster's registry, as an admin
// pushes a release's image to theirs, and returns its digest.
func push(ctx context.Context, index v1.ImageIndex) (v1.Hash, error) {
	digest, err := index.Digest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("reading the manager image's digest: %w", err)
	}
	// go-containerregistry speaks plain HTTP to a registry on 127.0.0.1.
	ref, err := name.ParseReference(cluster.Registry().Addr + "/" + imageRepository + ":e2e")
	if err != nil {
		return v1.Hash{}, fmt.Errorf("parsing the image reference: %w", err)
	}
	if err := remote.WriteIndex(ref, index, remote.WithContext(ctx)); err != nil {
		return v1.Hash{}, fmt.Errorf("pushing the manager image to %s: %w", ref, err)
	}
	return digest, nil
}

// imageValues are the helm flags that point the chart at the pushed image,
// by digest, as docs/install.md tells an admin to.
func imageValues() []string {
	return []string{
		"--set", "image.repository=" + localcluster.RegistryHost + "/" + imageRepository,
		"--set", "image.digest=" + imageDigest.String(),
	}
}

// helm runs the pinned helm against the cluster from the repository root.
func helm(t *testing.T, args ...string) string {
	t.Helper()
	out, err := chartrender.Helm(cluster.RepoRoot, append([]string{"--kubeconfig", cluster.Kubeconfig}, args...)...)
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// newClient returns an admin client that reads straight from the apiserver.
func newClient(t *testing.T) client.Client {
	t.Helper()
	c, err := client.New(cluster.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatalf("creating client: %v", err)
	}
	return c
}

// newRealNodeNamespace creates a namespace whose pods run on the real node
// and waits for its default ServiceAccount.
func newRealNodeNamespace(t *testing.T, c client.Client, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: localcluster.RealNodeAnnotations()}}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	eventually(t, time.Minute, "the default ServiceAccount of "+name, func() (bool, error) {
		err := c.Get(context.Background(), client.ObjectKey{Namespace: name, Name: "default"}, &corev1.ServiceAccount{})
		return err == nil, err
	})
}

// eventually polls cond every half second until it returns true, failing
// the test with cond's last error when timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, what, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
