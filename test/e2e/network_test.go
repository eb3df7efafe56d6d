package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/test/localcluster"
)

// webServer is a pod that answers HTTP on 8080 with its own name, behind
// the Service "web" on port 80.
func webServer(t *testing.T, c client.Client, ns string) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			// busybox's httpd as PID 1 ignores SIGTERM.
			TerminationGracePeriodSeconds: new(int64(1)),
			Containers: []corev1.Container{{
				Name: "httpd", Image: localcluster.ImageShellUID,
				Command: []string{"/bin/sh", "-c", `mkdir -p /tmp/www && echo "hello from $(hostname)" >/tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www`},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}},
					PeriodSeconds: 1,
				},
			}},
		},
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeNodePort,
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	for _, obj := range []client.Object{pod, svc} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatalf("creating %s: %v", obj.GetName(), err)
		}
	}
	eventually(t, time.Minute, "the web pod to be ready", func() (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(pod), pod)
		for _, cond := range pod.Status.Conditions {
			if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
				return true, err
			}
		}
		return false, err
	})
	return realPod(t, c, ns, "web")
}

// inPodCIDR reports whether ip is one of the real node's pod addresses.
func inPodCIDR(ip string) bool {
	_, cidr, _ := net.ParseCIDR(localcluster.PodCIDR)
	parsed := net.ParseIP(ip)
	return parsed != nil && cidr.Contains(parsed) && ip != strings.TrimSuffix(cidr.IP.String(), "0")+"1"
}

func TestPodNetwork(t *testing.T) {
	c := newClient(t)
	ns := newRealNodeNamespace(t, c)
	web := webServer(t, c, ns)
	svc := &corev1.Service{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "web"}, svc); err != nil {
		t.Fatal(err)
	}
	if !inPodCIDR(web.Status.PodIP) {
		t.Fatalf("web's address %q is not a pod address in %s", web.Status.PodIP, localcluster.PodCIDR)
	}

	// A second pod reaches the first by its address, by the Service's
	// ClusterIP, by the Service's names and by its node port. kube-proxy
	// may not have the Service's rules yet when it starts, and CoreDNS may
	// not know the Service yet (its watch backs off while
	// TestAPIServerRestartMidRun's apiserver is down, and once took more
	// than 15 s to come back), hence a minute of retries, whose failures are kept out of the log; a name outside
	// the cluster must fail at once, with no forwarder to ask.
	nodePort := strconv.Itoa(int(svc.Spec.Ports[0].NodePort))
	targets := []string{
		web.Status.PodIP + " 8080",
		svc.Spec.ClusterIP + " 80",
		"web." + ns + ".svc.cluster.local 80",
		"web 80",
		localcluster.NodeIP + " " + nodePort,
	}
	script := `for target in "$@"; do
  for i in $(seq 120); do body=$(printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 $target 2>/dev/null | tail -n 1) && [ -n "$body" ] && break; sleep 0.5; done
  echo "$target: $body"
done
start=$(date +%s)
nc -w 2 example.com 80 </dev/null 2>&1; echo "example.com: exit $? after $(( $(date +%s) - start )) s"`
	caller := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "client"},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{
				Name: "main", Image: localcluster.ImageShellUID,
				Command: append([]string{"/bin/sh", "-c", script, "sh"}, targets...),
			}},
		},
	}
	if err := c.Create(context.Background(), caller); err != nil {
		t.Fatalf("creating the client pod: %v", err)
	}
	eventually(t, 4*time.Minute, "the client pod to finish", func() (bool, error) {
		err := c.Get(context.Background(), client.ObjectKeyFromObject(caller), caller)
		return caller.Status.Phase == corev1.PodSucceeded || caller.Status.Phase == corev1.PodFailed, err
	})
	caller = realPod(t, c, ns, "client")
	if caller.Status.PodIP == web.Status.PodIP || !inPodCIDR(caller.Status.PodIP) {
		t.Fatalf("the client's address %q: want a pod address of its own in %s (web has %s)", caller.Status.PodIP, localcluster.PodCIDR, web.Status.PodIP)
	}
	var want strings.Builder
	for _, target := range targets {
		fmt.Fprintf(&want, "%s: hello from web\n", target)
	}
	want.WriteString("nc: bad address 'example.com'\nexample.com: exit 1 after 0 s\n")
	if got := containerLogs(t, ns, "client", "main"); got != want.String() {
		t.Fatalf("the client pod printed:\n%s\nwant:\n%s", got, want.String())
	}

	// The cluster's namespace reaches the pod and the Service as a node
	// does; the test's own namespace reaches none of them (TestNoEgress).
	for _, addr := range []string{net.JoinHostPort(web.Status.PodIP, "8080"), net.JoinHostPort(svc.Spec.ClusterIP, "80"), net.JoinHostPort(localcluster.NodeIP, nodePort)} {
		resp, err := cluster.HTTPClient().Get("http://" + addr + "/")
		if err != nil {
			t.Fatalf("GET http://%s/ from the cluster's namespace: %v", addr, err)
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || string(body) != "hello from web\n" {
			t.Fatalf("GET http://%s/ from the cluster's namespace: %d %q (%v), want 200 %q", addr, resp.StatusCode, body, err, "hello from web\n")
		}
	}
}

// TestNoEgress checks, by looking and never by sending, that nothing in
// the cluster can reach beyond the machine: its namespace is not the
// machine's, has no default route, and has no link but loopback, the pod
// bridge and the pods' veths.
func TestNoEgress(t *testing.T) {
	pid := strconv.Itoa(cluster.NetworkNamespacePID())
	own, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := os.Readlink("/proc/" + pid + "/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	if own == theirs {
		t.Fatalf("the cluster runs in the machine's network namespace %s", own)
	}
	inside := func(args ...string) string {
		out, err := exec.Command("nsenter", append([]string{"--target", pid, "--net", "--", "ip"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("ip %s in the cluster's namespace: %v: %s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	links := 0
	for line := range strings.Lines(inside("-o", "link", "show")) {
		f := strings.Fields(line)
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		links++
		if name != "lo" && name != "cni0" && !strings.HasPrefix(name, "veth") {
			t.Errorf("the cluster's namespace has link %q: want only lo, cni0 and pod veths\n%s", name, line)
		}
	}
	if links < 2 {
		t.Fatalf("found %d links in the cluster's namespace, want at least lo and cni0: the check above proved nothing", links)
	}
	for _, family := range []string{"-4", "-6"} {
		routes := inside(family, "route", "show", "table", "all")
		for line := range strings.Lines(routes) {
			if strings.HasPrefix(line, "default") {
				t.Errorf("the cluster's namespace has a default route: %s", line)
			}
		}
	}
	if routes := inside("-4", "route", "show"); !strings.Contains(routes, localcluster.PodCIDR+" dev cni0") {
		t.Errorf("the cluster's routes lack the pod bridge:\n%s", routes)
	}
}
