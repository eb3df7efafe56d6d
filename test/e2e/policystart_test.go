package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/manager"
)

// extraManager is a second manager run in this process for one test, its
// own namespace holding its policy ConfigMap and the only namespace it
// watches, so it never reconciles another test's objects.
type extraManager struct {
	healthURL, metricsURL string
	stop                  func()
}

// startExtraManager starts a manager whose namespace is ns and returns at
// once, ready or not; the test stops it when it ends. edit, if any, changes
// its options last.
func startExtraManager(t *testing.T, ns string, edit ...func(*manager.Options)) *extraManager {
	t.Helper()
	return startExtraManagerAs(t, cluster.Config, ns, edit...)
}

// startExtraManagerAs starts the manager as startExtraManager does, talking
// to the apiserver with cfg, for instance as the chart's ServiceAccount.
func startExtraManagerAs(t *testing.T, cfg *rest.Config, ns string, edit ...func(*manager.Options)) *extraManager {
	t.Helper()
	ports := make([]int, 3)
	for i := range ports {
		var err error
		if ports[i], err = freePort(); err != nil {
			t.Fatal(err)
		}
	}
	opts := manager.DefaultOptions()
	opts.Namespace = ns
	opts.WatchNamespaces = []string{ns}
	// Nothing routes admission to this server: the suite's manager serves
	// the webhooks. It serves only so its readiness is the real one.
	opts.WebhookHost, opts.WebhookPort, opts.CertDir = "127.0.0.1", ports[0], running.hooks.LocalServingCertDir
	opts.MetricsAddr, opts.MetricsSecure = "127.0.0.1:"+strconv.Itoa(ports[1]), false
	opts.HealthAddr = "127.0.0.1:" + strconv.Itoa(ports[2])
	opts.LeaderElection, opts.ShutdownDrain, opts.SkipNameValidation = false, 0, true
	for _, f := range edit {
		f(&opts)
	}
	mgr, err := manager.New(cfg, opts, running.log.WithName(ns))
	if err != nil {
		t.Fatalf("creating a manager for %s: %v", ns, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Run(ctx) }()
	scheme := "http://"
	if opts.MetricsSecure {
		scheme = "https://"
	}
	m := &extraManager{
		healthURL: "http://" + opts.HealthAddr, metricsURL: scheme + opts.MetricsAddr + "/metrics",
		stop: sync.OnceFunc(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("the manager for %s: %v", ns, err)
			}
		}),
	}
	t.Cleanup(m.stop)
	return m
}

// get returns an endpoint's status and body; status 0 while it does not
// answer.
func (m *extraManager) get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// policyInfo returns the taskgate_policy_info series the manager exports,
// as source/resourceVersion.
func (m *extraManager) policyInfo() []string {
	_, body := m.get(m.metricsURL)
	var series []string
	for _, s := range regexp.MustCompile(`(?m)^taskgate_policy_info\{resource_version="([^"]*)",source="([^"]*)"\} 1$`).FindAllStringSubmatch(body, -1) {
		series = append(series, s[2]+"/"+s[1])
	}
	return series
}

// TestManagerStartsWithInvalidPolicy starts a manager while its policy
// ConfigMap is stored but invalid, as after a write that bypassed the
// webhook or a restart onto a bad edit: the replica must not become Ready
// on the built-in defaults. readyz says why, a Warning Event goes on the
// ConfigMap, and a valid update makes it Ready with the metric naming the
// version. A later invalid version then keeps the good one, Ready; a
// restart onto it is unready again.
func TestManagerStartsWithInvalidPolicy(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	ns := newNamespace(t, c)
	// The chart's policy webhook validates only the ConfigMap in the
	// release namespace; this one, in a test namespace, is stored
	// unchecked, as a write with the webhook out of the way would be.
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "taskgate-policy"},
		Data:       map[string]string{"policy.yaml": "apiVersion: taskgate.dev/v1alpha1\nkind: Policy\nmode: loud\n"},
	}
	if err := c.Create(ctx, cm); err != nil {
		t.Fatalf("storing an invalid policy: %v", err)
	}
	invalidVersion := cm.ResourceVersion
	wantReason := fmt.Sprintf(`internal server error: policy ConfigMap %s/taskgate-policy (resourceVersion %s) does not load and no policy has loaded since this replica started; fix it with kubectl edit configmap -n %s taskgate-policy: data[policy.yaml].mode: Unsupported value: "loud": supported values: "audit", "enforce"`,
		ns, invalidVersion, ns)

	unready := func(m *extraManager) {
		t.Helper()
		var code int
		var body string
		// Before the first look it says "policy not loaded yet"; then
		// why, and it stays so.
		eventually(t, time.Minute, "readyz to fail on the policy", func() (bool, error) {
			code, body = m.get(m.healthURL + "/readyz/policy")
			return code == http.StatusInternalServerError && strings.TrimSpace(body) == wantReason,
				fmt.Errorf("readyz/policy answered %d:\n%s\nwant 500:\n%s", code, body, wantReason)
		})
		// The aggregate readyz, which the kubelet probes, fails on it.
		if code, body := m.get(m.healthURL + "/readyz?verbose"); code != http.StatusInternalServerError || !strings.Contains(body, "[-]policy failed") {
			t.Errorf("readyz answered %d:\n%s\nwant 500 with the policy check failed", code, body)
		}
		// The invalid version is not enforced. (This process's managers
		// share one metrics registry, so the suite's manager's series may
		// show here; a replica in a pod has only its own.)
		if got := m.policyInfo(); slices.Contains(got, "configmap/"+invalidVersion) {
			t.Errorf("taskgate_policy_info while unready: %v; the invalid version %s is not enforced", got, invalidVersion)
		}
	}

	// With leader election, as in the chart: an unready replica must not
	// lead either, or its reconcilers would act on the defaults.
	leaderElection := func(o *manager.Options) { o.LeaderElection, o.LeaderElectionID = true, "e2e-policystart" }
	holder := func() (string, error) {
		lease := &coordinationv1.Lease{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "e2e-policystart"}, lease); err != nil {
			return "", err
		}
		return ptr.Deref(lease.Spec.HolderIdentity, ""), nil
	}
	m := startExtraManager(t, ns, leaderElection)
	unready(m)
	// Still unready a while later: the replica does not give up and fall
	// back to the defaults.
	time.Sleep(3 * time.Second)
	if code, _ := m.get(m.healthURL + "/readyz"); code != http.StatusInternalServerError {
		t.Fatalf("readyz answered %d 3 s later; want it still unready", code)
	}
	if h, err := holder(); !apierrors.IsNotFound(err) {
		t.Errorf("the Lease, 3 s after start on an invalid policy: holder %q, %v; want it never created", h, err)
	}
	waitForEventNote(t, c, ns, "taskgate-policy", corev1.EventTypeWarning, "InvalidPolicy",
		`Policy not loaded and none has loaded since the manager started, so it is not ready (it never falls back to the defaults): data[policy.yaml].mode: Unsupported value: "loud": supported values: "audit", "enforce"`)

	// A valid update: Ready, enforcing that version.
	cm.Data["policy.yaml"] = "apiVersion: taskgate.dev/v1alpha1\nkind: Policy\nmode: audit\n"
	if err := c.Update(ctx, cm); err != nil {
		t.Fatalf("fixing the policy: %v", err)
	}
	goodVersion := cm.ResourceVersion
	eventually(t, 30*time.Second, "readyz to pass", func() (bool, error) {
		code, body := m.get(m.healthURL + "/readyz")
		return code == http.StatusOK, fmt.Errorf("readyz answered %d: %s", code, body)
	})
	if got, want := m.policyInfo(), []string{"configmap/" + goodVersion}; !slices.Equal(got, want) {
		t.Errorf("taskgate_policy_info: %v, want %v", got, want)
	}
	eventually(t, 30*time.Second, "the fixed replica to lead", func() (bool, error) {
		h, err := holder()
		return h != "", err
	})

	// An invalid version after a good one: the good one stays, Ready.
	cm.Data["policy.yaml"] = "apiVersion: taskgate.dev/v1alpha1\nkind: Policy\nmode: quiet\n"
	if err := c.Update(ctx, cm); err != nil {
		t.Fatalf("storing a second invalid policy: %v", err)
	}
	waitForEventNote(t, c, ns, "taskgate-policy", corev1.EventTypeWarning, "InvalidPolicy",
		`Policy not loaded; the last good policy stays in force: data[policy.yaml].mode: Unsupported value: "quiet": supported values: "audit", "enforce"`)
	if code, body := m.get(m.healthURL + "/readyz"); code != http.StatusOK {
		t.Errorf("readyz answered %d after an invalid update (%s); want Ready on the last good policy", code, body)
	}
	if got, want := m.policyInfo(), []string{"configmap/" + goodVersion}; !slices.Equal(got, want) {
		t.Errorf("taskgate_policy_info after an invalid update: %v, want %v", got, want)
	}

	// A restart onto the invalid version: unready again.
	m.stop()
	invalidVersion = cm.ResourceVersion
	wantReason = fmt.Sprintf(`internal server error: policy ConfigMap %s/taskgate-policy (resourceVersion %s) does not load and no policy has loaded since this replica started; fix it with kubectl edit configmap -n %s taskgate-policy: data[policy.yaml].mode: Unsupported value: "quiet": supported values: "audit", "enforce"`,
		ns, invalidVersion, ns)
	unready(startExtraManager(t, ns, leaderElection))
	// The first replica gave the Lease up when it stopped; this one does
	// not take it.
	time.Sleep(3 * time.Second)
	if h, err := holder(); h != "" || err != nil {
		t.Errorf("the Lease after a restart on an invalid policy: holder %q, %v; want none", h, err)
	}

	// No ConfigMap: the defaults, Ready, as always.
	if err := c.Delete(ctx, cm); err != nil {
		t.Fatal(err)
	}
	m = startExtraManager(t, ns)
	eventually(t, 30*time.Second, "readyz to pass on the defaults", func() (bool, error) {
		code, body := m.get(m.healthURL + "/readyz")
		return code == http.StatusOK, fmt.Errorf("readyz answered %d: %s", code, body)
	})
	if got, want := m.policyInfo(), []string{"defaults/"}; !slices.Equal(got, want) {
		t.Errorf("taskgate_policy_info with no ConfigMap: %v, want %v", got, want)
	}
}

// waitForEventNote waits for an Event of that type and reason, with that
// note, about the named object.
func waitForEventNote(t *testing.T, c client.Client, ns, name, typ, reason, note string) {
	t.Helper()
	var seen []string
	eventually(t, 30*time.Second, "Event "+reason+" on "+name, func() (bool, error) {
		var events eventsv1.EventList
		if err := c.List(context.Background(), &events, client.InNamespace(ns)); err != nil {
			return false, err
		}
		seen = seen[:0]
		for _, e := range events.Items {
			if e.Regarding.Name == name && e.Type == typ && e.Reason == reason && e.Note == note {
				return true, nil
			}
			seen = append(seen, e.Type+" "+e.Reason+": "+e.Note)
		}
		return false, fmt.Errorf("events: %q", seen)
	})
}
