package e2e

import (
	"context"
	"encoding/pem"
	"fmt"
	"net"
	"testing"
	"time"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/test/localcluster"
)

// TestServiceBackedWebhookInAPod registers a webhook as a chart would, by
// Service rather than URL, served by a pod on the real node: the
// apiserver must reach the pod through the Service's ClusterIP and
// verify the certificate against the Service's DNS name.
func TestServiceBackedWebhookInAPod(t *testing.T) {
	c := newClient(t)
	ns := newRealNodeNamespace(t, c)
	ctx := context.Background()

	caBundle := webhookServingSecret(t, c, ns, "netcheck", "netcheck."+ns+".svc")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "netcheck", Labels: map[string]string{"app": "netcheck"}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			Containers: []corev1.Container{{
				Name: "webhook", Image: localcluster.ImageNetcheck,
				Command: []string{"netcheck", "webhook", "-cert", "/certs/tls.crt", "-key", "/certs/tls.key", "-addr", ":8443"},
				Ports:   []corev1.ContainerPort{{ContainerPort: 8443}},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
						Scheme: corev1.URISchemeHTTPS, Path: "/healthz", Port: intstr.FromInt32(8443),
					}},
					PeriodSeconds: 1,
				},
				VolumeMounts: []corev1.VolumeMount{{Name: "certs", MountPath: "/certs", ReadOnly: true}},
			}},
			Volumes: []corev1.Volume{{Name: "certs", VolumeSource: corev1.VolumeSource{
				Secret: &corev1.SecretVolumeSource{SecretName: "netcheck"},
			}}},
		},
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "netcheck"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "netcheck"},
			Ports:    []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromInt32(8443)}},
		},
	}
	for _, obj := range []client.Object{pod, svc} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
		}
	}
	eventually(t, time.Minute, "the webhook pod to be Ready", func() (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(pod), pod)
		return err == nil && podReady(pod), err
	})
	realPod(t, c, ns, pod.Name)

	name := "deny." + ns + ".netcheck.taskgate.dev"
	config := &admissionregv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "netcheck-" + ns},
		Webhooks: []admissionregv1.ValidatingWebhook{{
			Name:                    name,
			AdmissionReviewVersions: []string{"v1"},
			SideEffects:             ptr.To(admissionregv1.SideEffectClassNone),
			FailurePolicy:           ptr.To(admissionregv1.Fail),
			TimeoutSeconds:          ptr.To[int32](5),
			// Only this test's ConfigMaps: a Fail policy on anything
			// wider would break other tests while the pod starts or stops.
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: ns}},
			Rules: []admissionregv1.RuleWithOperations{{
				Operations: []admissionregv1.OperationType{admissionregv1.Create, admissionregv1.Update},
				Rule: admissionregv1.Rule{
					APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"},
					Scope: ptr.To(admissionregv1.NamespacedScope),
				},
			}},
			ClientConfig: admissionregv1.WebhookClientConfig{
				Service:  &admissionregv1.ServiceReference{Namespace: ns, Name: "netcheck", Path: ptr.To("/validate"), Port: ptr.To[int32](443)},
				CABundle: caBundle,
			},
		}},
	}
	if err := c.Create(ctx, config); err != nil {
		t.Fatalf("creating ValidatingWebhookConfiguration: %v", err)
	}
	// Registered after the namespace's cleanup, so it runs first.
	t.Cleanup(func() { _ = c.Delete(context.Background(), config) })

	want := fmt.Sprintf("admission webhook %q denied the request: denied by netcheck in pod %s", name, pod.Name)
	// The apiserver picks the configuration up from an informer; a dry
	// run calls the webhook (sideEffects None) without creating anything.
	begin := time.Now()
	eventually(t, 30*time.Second, "the webhook to deny a dry-run create", func() (bool, error) {
		err := c.Create(ctx, configMap(ns, "deny-1"), client.DryRunAll)
		return err != nil && err.Error() == want, err
	})
	t.Logf("configuration to first denial: %s", time.Since(begin).Round(10*time.Millisecond))

	err := c.Create(ctx, configMap(ns, "deny-1"))
	if !apierrors.IsForbidden(err) || err.Error() != want {
		t.Fatalf("creating ConfigMap deny-1: %v, want Forbidden: %s", err, want)
	}
	if err := c.Create(ctx, configMap(ns, "ok-1")); err != nil {
		t.Fatalf("creating ConfigMap ok-1: %v", err)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "deny-1"}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Fatalf("reading ConfigMap deny-1: %v, want NotFound", err)
	}
}

// TestInClusterConfigFromAPod runs client-go's in-cluster config in a pod
// on the real node, with TLS verification on, by the kubernetes
// Service's ClusterIP and by its DNS name: the apiserver's certificate,
// the CA in kube-root-ca.crt, the ServiceAccount token and RBAC must all
// line up as in a real cluster.
func TestInClusterConfigFromAPod(t *testing.T) {
	c := newClient(t)
	ns := newRealNodeNamespace(t, c)
	ctx := context.Background()

	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "netcheck"}}
	if err := c.Create(ctx, sa); err != nil {
		t.Fatalf("creating ServiceAccount: %v", err)
	}
	// kube-controller-manager publishes the CA into every namespace; the
	// pod's projected volume waits for it.
	eventually(t, 30*time.Second, "kube-root-ca.crt in "+ns, func() (bool, error) {
		cm := &corev1.ConfigMap{}
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "kube-root-ca.crt"}, cm)
		if err != nil {
			return false, err
		}
		if cm.Data["ca.crt"] != string(cluster.Config.CAData) {
			return false, fmt.Errorf("kube-root-ca.crt holds %q, want the cluster's CA", cm.Data["ca.crt"])
		}
		return true, nil
	})

	byIP := "GET https://" + net.JoinHostPort(localcluster.KubernetesServiceIP, "443") + "/api/v1/namespaces/" + ns
	byName := "GET https://kubernetes.default.svc:443/api/v1/namespaces/" + ns
	runInClusterPods(t, c, ns, "norbac", map[string]string{"ip": byIP + ": 403\n", "dns": byName + ": 403\n"})

	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "netcheck-view"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: sa.Name}},
	}
	if err := c.Create(ctx, binding); err != nil {
		t.Fatalf("creating RoleBinding: %v", err)
	}
	// The authorizer reads RBAC from an informer: wait until it allows the
	// call, or a pod started at once could still get 403.
	eventually(t, 30*time.Second, "RBAC to allow the ServiceAccount", func() (bool, error) {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: "system:serviceaccount:" + ns + ":" + sa.Name,
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: ns, Verb: "get", Resource: "namespaces", Name: ns,
			},
		}}
		err := c.Create(ctx, sar)
		return err == nil && sar.Status.Allowed, err
	})
	runInClusterPods(t, c, ns, "view", map[string]string{"ip": byIP + ": 200\n", "dns": byName + ": 200\n"})
}

// runInClusterPods runs `netcheck incluster` in two pods at once, one by
// the Service's ClusterIP ("ip") and one by kubernetes.default.svc
// ("dns"), and fails unless each succeeds on the real node and prints
// exactly want[kind].
func runInClusterPods(t *testing.T, c client.Client, ns, prefix string, want map[string]string) {
	t.Helper()
	args := map[string][]string{"ip": nil, "dns": {"-host", "kubernetes.default.svc"}}
	kinds := []string{"ip", "dns"}
	for _, kind := range kinds {
		if err := c.Create(context.Background(), inClusterPod(ns, prefix+"-"+kind, args[kind])); err != nil {
			t.Fatalf("creating pod %s-%s: %v", prefix, kind, err)
		}
	}
	for _, kind := range kinds {
		name := prefix + "-" + kind
		pod := &corev1.Pod{}
		eventually(t, time.Minute, "pod "+name+" to finish", func() (bool, error) {
			err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, pod)
			return err == nil && (pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed), err
		})
		logs := containerLogs(t, ns, name, "netcheck")
		if pod.Status.Phase != corev1.PodSucceeded || logs != want[kind] {
			t.Fatalf("pod %s ended %s printing %q, want Succeeded printing %q", name, pod.Status.Phase, logs, want[kind])
		}
		if err := localcluster.CheckRealPod(pod); err != nil {
			t.Fatal(err)
		}
	}
}

// inClusterPod runs `netcheck incluster` as the ServiceAccount netcheck,
// with the token volume the ServiceAccount admission plugin would add:
// the harness's apiserver runs without that plugin, as envtest does.
func inClusterPod(ns, name string, args []string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			ServiceAccountName:            "netcheck",
			Containers: []corev1.Container{{
				Name: "netcheck", Image: localcluster.ImageNetcheck,
				Command: append([]string{"netcheck", "incluster"}, args...),
				VolumeMounts: []corev1.VolumeMount{{
					Name: "kube-api-access", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true,
				}},
			}},
			Volumes: []corev1.Volume{{Name: "kube-api-access", VolumeSource: corev1.VolumeSource{
				Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3607)}},
					{ConfigMap: &corev1.ConfigMapProjection{
						LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
						Items:                []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
					}},
					{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{
						Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
					}}}},
				}},
			}}},
		},
	}
}

// webhookServingSecret makes a certificate for host, stores it as the
// kubernetes.io/tls Secret name in ns, and returns the CA to trust.
func webhookServingSecret(t *testing.T, c client.Client, ns, name, host string) []byte {
	t.Helper()
	// The bundle is the serving certificate followed by the CA that
	// signed it.
	bundle, key, err := certutil.GenerateSelfSignedCertKey(host, nil, nil)
	if err != nil {
		t.Fatalf("making a serving certificate for %s: %v", host, err)
	}
	var blocks [][]byte
	for rest := bundle; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		blocks = append(blocks, pem.EncodeToMemory(b))
	}
	if len(blocks) != 2 {
		t.Fatalf("serving bundle for %s has %d certificates, want 2", host, len(blocks))
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: bundle, corev1.TLSPrivateKeyKey: key},
	}
	if err := c.Create(context.Background(), secret); err != nil {
		t.Fatalf("creating Secret %s: %v", name, err)
	}
	return blocks[1]
}

// configMap is an empty ConfigMap to create.
func configMap(ns, name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

// podReady reports whether the pod's Ready condition is True.
func podReady(pod *corev1.Pod) bool {
	for _, cond := range pod.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}
