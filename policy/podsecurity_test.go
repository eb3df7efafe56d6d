package policy

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
)

// appPaths are where an App sets its pod's security.
var appPaths = PodSecurityPaths{
	Pod:                field.NewPath("spec"),
	PodSecurityContext: field.NewPath("spec", "podSecurityContext"),
	SecurityContext:    field.NewPath("spec", "securityContext"),
	Volumes:            field.NewPath("spec", "serviceBindings"),
}

// hardenedPod is the pod taskgate runs for an App that sets no security
// context: it meets restricted.
func hardenedPod(mutate ...func(*corev1.PodSpec, *corev1.PodSecurityContext, *corev1.SecurityContext)) *corev1.PodSpec {
	spec := &corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr(true),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{{
			Name:  "step-main",
			Image: "registry.example.com/shop/web:v1",
			SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr(false),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				RunAsNonRoot:             ptr(true),
				SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
		}},
	}
	for _, m := range mutate {
		m(spec, spec.SecurityContext, spec.Containers[0].SecurityContext)
	}
	return spec
}

type podMutation = func(*corev1.PodSpec, *corev1.PodSecurityContext, *corev1.SecurityContext)

// violations are every Pod Security violation an App (or a forged
// spec.resolved) can express, each alone on an otherwise restricted pod.
var violations = []struct {
	name   string
	level  psaapi.Level // the least level that forbids it
	mutate podMutation
}{
	{"privileged", psaapi.LevelBaseline, func(_ *corev1.PodSpec, _ *corev1.PodSecurityContext, c *corev1.SecurityContext) {
		c.Privileged = ptr(true)
		c.AllowPrivilegeEscalation = nil
	}},
	{"capability SYS_ADMIN", psaapi.LevelBaseline, func(_ *corev1.PodSpec, _ *corev1.PodSecurityContext, c *corev1.SecurityContext) {
		c.Capabilities.Add = []corev1.Capability{"SYS_ADMIN"}
	}},
	{"capabilities NET_ADMIN and SYS_PTRACE", psaapi.LevelBaseline, func(_ *corev1.PodSpec, _ *corev1.PodSecurityContext, c *corev1.SecurityContext) {
		c.Capabilities.Add = []corev1.Capability{"NET_ADMIN", "SYS_PTRACE"}
	}},
	{"container seccomp Unconfined", psaapi.LevelBaseline, func(_ *corev1.PodSpec, _ *corev1.PodSecurityContext, c *corev1.SecurityContext) {
		c.SeccompProfile.Type = corev1.SeccompProfileTypeUnconfined
	}},
	{"pod seccomp Unconfined", psaapi.LevelBaseline, func(_ *corev1.PodSpec, p *corev1.PodSecurityContext, c *corev1.SecurityContext) {
		p.SeccompProfile.Type = corev1.SeccompProfileTypeUnconfined
		c.SeccompProfile = nil
	}},
	{"pod seccomp Unconfined, container RuntimeDefault", psaapi.LevelBaseline, func(_ *corev1.PodSpec, p *corev1.PodSecurityContext, _ *corev1.SecurityContext) {
		p.SeccompProfile.Type = corev1.SeccompProfileTypeUnconfined
	}},
	{"container AppArmor Unconfined", psaapi.LevelBaseline, func(_ *corev1.PodSpec, _ *corev1.PodSecurityContext, c *corev1.SecurityContext) {
		c.AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}
	}},
	{"pod AppArmor Unconfined", psaapi.LevelBaseline, func(_ *corev1.PodSpec, p *corev1.PodSecurityContext, _ *corev1.SecurityContext) {
		p.AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}
	}},
	{"pod AppArmor Unconfined, container RuntimeDefault", psaapi.LevelBaseline, func(_ *corev1.PodSpec, p *corev1.PodSecurityContext, c *corev1.SecurityContext) {
		p.AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}
		c.AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeRuntimeDefault}
	}},
	{"pod SELinux spc_t, container container_t", psaapi.LevelBaseline, func(_ *corev1.PodSpec, p *corev1.PodSecurityContext, c *corev1.SecurityContext) {
		p.SELinuxOptions = &corev1.SELinuxOptions{Type: "spc_t"}
		c.SELinuxOptions = &corev1.SELinuxOptions{Type: "container_t"}
	}},
	{"container SELinux spc_t", psaapi.LevelBaseline, func(_ *corev1.PodSpec, _ *corev1.PodSecurityContext, c *corev1.SecurityContext) {
		c.SELinuxOptions = &corev1.SELinuxOptions{Type: "spc_t"}
	}},
	{"pod SELinux user", psaapi.LevelBaseline, func(_ *corev1.PodSpec, p *corev1.PodSecurityContext, _ *corev1.SecurityContext) {
		p.SELinuxOptions = &corev1.SELinuxOptions{User: "system_u"}
	}},
	{"procMount Unmasked", psaapi.LevelBaseline, func(_ *corev1.PodSpec, _ *corev1.PodSecurityContext, c *corev1.SecurityContext) {
		c.ProcMount = ptr(corev1.UnmaskedProcMount)
	}},
	{"unsafe sysctl", psaapi.LevelBaseline, func(_ *corev1.PodSpec, p *corev1.PodSecurityContext, _ *corev1.SecurityContext) {
		p.Sysctls = []corev1.Sysctl{{Name: "kernel.msgmax", Value: "65536"}}
	}},
	{"container Windows hostProcess", psaapi.LevelBaseline, func(_ *corev1.PodSpec, _ *corev1.PodSecurityContext, c *corev1.SecurityContext) {
		c.WindowsOptions = &corev1.WindowsSecurityContextOptions{HostProcess: ptr(true)}
	}},
	{"pod Windows hostProcess", psaapi.LevelBaseline, func(_ *corev1.PodSpec, p *corev1.PodSecurityContext, _ *corev1.SecurityContext) {
		p.WindowsOptions = &corev1.WindowsSecurityContextOptions{HostProcess: ptr(true)}
	}},
	{"pod Windows hostProcess, container false", psaapi.LevelBaseline, func(_ *corev1.PodSpec, p *corev1.PodSecurityContext, c *corev1.SecurityContext) {
		p.WindowsOptions = &corev1.WindowsSecurityContextOptions{HostProcess: ptr(true)}
		c.WindowsOptions = &corev1.WindowsSecurityContextOptions{HostProcess: ptr(false)}
	}},
	{"hostPath volume", psaapi.LevelBaseline, func(s *corev1.PodSpec, _ *corev1.PodSecurityContext, _ *corev1.SecurityContext) {
		s.Volumes = []corev1.Volume{{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
	}},
	{"privilege escalation unset", psaapi.LevelRestricted, func(_ *corev1.PodSpec, _ *corev1.PodSecurityContext, c *corev1.SecurityContext) {
		c.AllowPrivilegeEscalation = nil
	}},
	{"privilege escalation true", psaapi.LevelRestricted, func(_ *corev1.PodSpec, _ *corev1.PodSecurityContext, c *corev1.SecurityContext) {
		c.AllowPrivilegeEscalation = ptr(true)
	}},
	{"capabilities not dropped", psaapi.LevelRestricted, func(_ *corev1.PodSpec, _ *corev1.PodSecurityContext, c *corev1.SecurityContext) {
		c.Capabilities = nil
	}},
	{"baseline capability CHOWN", psaapi.LevelRestricted, func(_ *corev1.PodSpec, _ *corev1.PodSecurityContext, c *corev1.SecurityContext) {
		c.Capabilities.Add = []corev1.Capability{"CHOWN"}
	}},
	{"runAsNonRoot false", psaapi.LevelRestricted, func(_ *corev1.PodSpec, _ *corev1.PodSecurityContext, c *corev1.SecurityContext) {
		c.RunAsNonRoot = ptr(false)
	}},
	{"runAsNonRoot unset", psaapi.LevelRestricted, func(_ *corev1.PodSpec, p *corev1.PodSecurityContext, c *corev1.SecurityContext) {
		p.RunAsNonRoot, c.RunAsNonRoot = nil, nil
	}},
	{"pod runAsUser 0", psaapi.LevelRestricted, func(_ *corev1.PodSpec, p *corev1.PodSecurityContext, _ *corev1.SecurityContext) {
		p.RunAsUser = ptr(int64(0))
	}},
	{"container runAsUser 0", psaapi.LevelRestricted, func(_ *corev1.PodSpec, _ *corev1.PodSecurityContext, c *corev1.SecurityContext) {
		c.RunAsUser = ptr(int64(0))
	}},
	{"seccomp unset", psaapi.LevelRestricted, func(_ *corev1.PodSpec, p *corev1.PodSecurityContext, c *corev1.SecurityContext) {
		p.SeccompProfile, c.SeccompProfile = nil, nil
	}},
	{"nfs volume", psaapi.LevelRestricted, func(s *corev1.PodSpec, _ *corev1.PodSecurityContext, _ *corev1.SecurityContext) {
		s.Volumes = []corev1.Volume{{Name: "share", VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nfs", Path: "/"}}}}
	}},
}

// wantViolations are the path and PodSecurity's reason of each error the
// violation of that name gives at baseline and at restricted.
var wantViolations = map[string]struct{ baseline, restricted []string }{
	"privileged": {
		baseline: []string{
			`spec.securityContext.privileged: privileged (container "step-main" must not set securityContext.privileged=true)`,
		},
		restricted: []string{
			`spec.securityContext.privileged: privileged (container "step-main" must not set securityContext.privileged=true)`,
			`spec.securityContext.allowPrivilegeEscalation: allowPrivilegeEscalation != false (container "step-main" must set securityContext.allowPrivilegeEscalation=false)`,
		},
	},
	"capability SYS_ADMIN": {
		baseline: []string{
			`spec.securityContext.capabilities.add: non-default capabilities (container "step-main" must not include "SYS_ADMIN" in securityContext.capabilities.add)`,
		},
		restricted: []string{
			`spec.securityContext.capabilities.add: unrestricted capabilities (container "step-main" must not include "SYS_ADMIN" in securityContext.capabilities.add)`,
		},
	},
	"capabilities NET_ADMIN and SYS_PTRACE": {
		baseline: []string{
			`spec.securityContext.capabilities.add: non-default capabilities (container "step-main" must not include "NET_ADMIN", "SYS_PTRACE" in securityContext.capabilities.add)`,
		},
		restricted: []string{
			`spec.securityContext.capabilities.add: unrestricted capabilities (container "step-main" must not include "NET_ADMIN", "SYS_PTRACE" in securityContext.capabilities.add)`,
		},
	},
	"container seccomp Unconfined": {
		baseline: []string{
			`spec.securityContext.seccompProfile.type: seccompProfile (container "step-main" must not set securityContext.seccompProfile.type to "Unconfined")`,
		},
		restricted: []string{
			`spec.securityContext.seccompProfile.type: seccompProfile (container "step-main" must not set securityContext.seccompProfile.type to "Unconfined")`,
		},
	},
	"pod seccomp Unconfined": {
		baseline: []string{
			`spec.podSecurityContext.seccompProfile.type: seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")`,
		},
		restricted: []string{
			`spec.podSecurityContext.seccompProfile.type: seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")`,
		},
	},
	"pod seccomp Unconfined, container RuntimeDefault": {
		baseline: []string{
			`spec.podSecurityContext.seccompProfile.type: seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")`,
		},
		restricted: []string{
			`spec.podSecurityContext.seccompProfile.type: seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")`,
		},
	},
	"pod AppArmor Unconfined, container RuntimeDefault": {
		baseline: []string{
			`spec.podSecurityContext.appArmorProfile.type: forbidden AppArmor profile (pod must not set AppArmor profile type to "Unconfined")`,
		},
		restricted: []string{
			`spec.podSecurityContext.appArmorProfile.type: forbidden AppArmor profile (pod must not set AppArmor profile type to "Unconfined")`,
		},
	},
	"pod SELinux spc_t, container container_t": {
		baseline: []string{
			`spec.podSecurityContext.seLinuxOptions: seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "spc_t")`,
		},
		restricted: []string{
			`spec.podSecurityContext.seLinuxOptions: seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "spc_t")`,
		},
	},
	"pod Windows hostProcess, container false": {
		baseline: []string{
			`spec.podSecurityContext.windowsOptions.hostProcess: hostProcess (pod must not set securityContext.windowsOptions.hostProcess=true)`,
		},
		restricted: []string{
			`spec.podSecurityContext.windowsOptions.hostProcess: hostProcess (pod must not set securityContext.windowsOptions.hostProcess=true)`,
		},
	},
	"container AppArmor Unconfined": {
		baseline: []string{
			`spec.securityContext.appArmorProfile.type: forbidden AppArmor profile (container "step-main" must not set AppArmor profile type to "Unconfined")`,
		},
		restricted: []string{
			`spec.securityContext.appArmorProfile.type: forbidden AppArmor profile (container "step-main" must not set AppArmor profile type to "Unconfined")`,
		},
	},
	"pod AppArmor Unconfined": {
		baseline: []string{
			`spec.podSecurityContext.appArmorProfile.type: forbidden AppArmor profile (pod must not set AppArmor profile type to "Unconfined")`,
		},
		restricted: []string{
			`spec.podSecurityContext.appArmorProfile.type: forbidden AppArmor profile (pod must not set AppArmor profile type to "Unconfined")`,
		},
	},
	"container SELinux spc_t": {
		baseline: []string{
			`spec.securityContext.seLinuxOptions: seLinuxOptions (container "step-main" set forbidden securityContext.seLinuxOptions: type "spc_t")`,
		},
		restricted: []string{
			`spec.securityContext.seLinuxOptions: seLinuxOptions (container "step-main" set forbidden securityContext.seLinuxOptions: type "spc_t")`,
		},
	},
	"pod SELinux user": {
		baseline: []string{
			`spec.podSecurityContext.seLinuxOptions: seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: user may not be set)`,
		},
		restricted: []string{
			`spec.podSecurityContext.seLinuxOptions: seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: user may not be set)`,
		},
	},
	"procMount Unmasked": {
		baseline: []string{
			`spec.securityContext.procMount: procMount (container "step-main" must not set securityContext.procMount to "Unmasked")`,
		},
		restricted: []string{
			`spec.securityContext.procMount: procMount (container "step-main" must not set securityContext.procMount to "Unmasked")`,
		},
	},
	"unsafe sysctl": {
		baseline: []string{
			`spec.podSecurityContext.sysctls: forbidden sysctls (kernel.msgmax)`,
		},
		restricted: []string{
			`spec.podSecurityContext.sysctls: forbidden sysctls (kernel.msgmax)`,
		},
	},
	"container Windows hostProcess": {
		baseline: []string{
			`spec.securityContext.windowsOptions.hostProcess: hostProcess (container "step-main" must not set securityContext.windowsOptions.hostProcess=true)`,
		},
		restricted: []string{
			`spec.securityContext.windowsOptions.hostProcess: hostProcess (container "step-main" must not set securityContext.windowsOptions.hostProcess=true)`,
		},
	},
	"pod Windows hostProcess": {
		baseline: []string{
			`spec.podSecurityContext.windowsOptions.hostProcess: hostProcess (pod must not set securityContext.windowsOptions.hostProcess=true)`,
		},
		restricted: []string{
			`spec.podSecurityContext.windowsOptions.hostProcess: hostProcess (pod must not set securityContext.windowsOptions.hostProcess=true)`,
		},
	},
	"hostPath volume": {
		baseline: []string{
			`spec.serviceBindings: hostPath volumes (volume "root")`,
		},
		restricted: []string{
			`spec.serviceBindings: restricted volume types (volume "root" uses restricted volume type "hostPath")`,
		},
	},
	"privilege escalation unset": {
		baseline: nil,
		restricted: []string{
			`spec.securityContext.allowPrivilegeEscalation: allowPrivilegeEscalation != false (container "step-main" must set securityContext.allowPrivilegeEscalation=false)`,
		},
	},
	"privilege escalation true": {
		baseline: nil,
		restricted: []string{
			`spec.securityContext.allowPrivilegeEscalation: allowPrivilegeEscalation != false (container "step-main" must set securityContext.allowPrivilegeEscalation=false)`,
		},
	},
	"capabilities not dropped": {
		baseline: nil,
		restricted: []string{
			`spec.securityContext.capabilities.drop: unrestricted capabilities (container "step-main" must set securityContext.capabilities.drop=["ALL"])`,
		},
	},
	"baseline capability CHOWN": {
		baseline: nil,
		restricted: []string{
			`spec.securityContext.capabilities.add: unrestricted capabilities (container "step-main" must not include "CHOWN" in securityContext.capabilities.add)`,
		},
	},
	"runAsNonRoot false": {
		baseline: nil,
		restricted: []string{
			`spec.securityContext.runAsNonRoot: runAsNonRoot != true (container "step-main" must not set securityContext.runAsNonRoot=false)`,
		},
	},
	"runAsNonRoot unset": {
		baseline: nil,
		restricted: []string{
			`spec.securityContext.runAsNonRoot: runAsNonRoot != true (pod or container "step-main" must set securityContext.runAsNonRoot=true)`,
		},
	},
	"pod runAsUser 0": {
		baseline: nil,
		restricted: []string{
			`spec.podSecurityContext.runAsUser: runAsUser=0 (pod must not set runAsUser=0)`,
		},
	},
	"container runAsUser 0": {
		baseline: nil,
		restricted: []string{
			`spec.securityContext.runAsUser: runAsUser=0 (container "step-main" must not set runAsUser=0)`,
		},
	},
	"seccomp unset": {
		baseline: nil,
		restricted: []string{
			`spec.securityContext.seccompProfile.type: seccompProfile (pod or container "step-main" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`,
		},
	},
	"nfs volume": {
		baseline: nil,
		restricted: []string{
			`spec.serviceBindings: restricted volume types (volume "share" uses restricted volume type "nfs")`,
		},
	},
}

// TestValidatePodSecurityViolations: every violation is denied at the least
// level that forbids it, and at restricted, each at its field with
// PodSecurity's own reason; the privileged level allows them all.
func TestValidatePodSecurityViolations(t *testing.T) {
	p := load(t, "tasks: {podSecurity: privileged}")
	for _, v := range violations {
		want, ok := wantViolations[v.name]
		if !ok {
			t.Fatalf("no wantViolations entry for %q", v.name)
		}
		for _, lvl := range []psaapi.Level{psaapi.LevelPrivileged, psaapi.LevelBaseline, psaapi.LevelRestricted} {
			t.Run(v.name+"/"+string(lvl), func(t *testing.T) {
				req := PodSecurityRequirement{Level: psaapi.LevelVersion{Level: lvl, Version: psaapi.LatestVersion()}, Source: PodSecuritySourceNamespace}
				errs, warnings := p.ValidatePodSecurity(req, &metav1.ObjectMeta{}, hardenedPod(v.mutate), appPaths)
				var got []string
				for _, e := range errs {
					if e.Type != field.ErrorTypeForbidden {
						t.Errorf("%s: type %s, want Forbidden", e.Field, e.Type)
					}
					prefix := `violates PodSecurity "` + string(lvl) + `:latest" (namespace label pod-security.kubernetes.io/enforce): `
					detail, found := strings.CutPrefix(e.Detail, prefix)
					if !found {
						t.Fatalf("detail %q does not start with %q", e.Detail, prefix)
					}
					reason, _, _ := strings.Cut(detail, "; ")
					got = append(got, e.Field+": "+reason)
				}
				wantErrs := map[psaapi.Level][]string{psaapi.LevelBaseline: want.baseline, psaapi.LevelRestricted: want.restricted}[lvl]
				if !reflect.DeepEqual(got, wantErrs) || warnings != nil {
					t.Errorf("got %q, warnings %q\nwant %q", got, warnings, wantErrs)
				}
				if lvl == v.level && len(got) == 0 {
					t.Errorf("not denied at %s, the level that forbids it", lvl)
				}
			})
		}
	}
}

// TestFailedChecksAgreeWithEvaluator holds FailedPodSecurityChecks, which
// names each failed check, to PodSecurity admission's own Evaluator: the
// same reasons, in the same order, at every level and at pinned versions.
func TestFailedChecksAgreeWithEvaluator(t *testing.T) {
	evaluator, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	versions := []psaapi.Version{psaapi.LatestVersion(), psaapi.MajorMinorVersion(1, 0), psaapi.MajorMinorVersion(1, 22), psaapi.MajorMinorVersion(1, 30)}
	mutations := map[string]podMutation{"none": func(*corev1.PodSpec, *corev1.PodSecurityContext, *corev1.SecurityContext) {}}
	for _, v := range violations {
		mutations[v.name] = v.mutate
	}
	for name, mutate := range mutations {
		for _, lvl := range []psaapi.Level{psaapi.LevelPrivileged, psaapi.LevelBaseline, psaapi.LevelRestricted} {
			for _, version := range versions {
				lv := psaapi.LevelVersion{Level: lvl, Version: version}
				spec := hardenedPod(mutate)
				want := psapolicy.AggregateCheckResults(evaluator.EvaluatePod(lv, &metav1.ObjectMeta{}, spec))
				var got []string
				for _, f := range FailedPodSecurityChecks(lv, &metav1.ObjectMeta{}, spec) {
					got = append(got, f.Result.ForbiddenReason)
				}
				if !reflect.DeepEqual(got, want.ForbiddenReasons) {
					t.Errorf("%s at %s: got %q, the Evaluator %q", name, lv, got, want.ForbiddenReasons)
				}
			}
		}
	}
}

func TestValidatePodSecurityMessages(t *testing.T) {
	sysAdmin := hardenedPod(func(_ *corev1.PodSpec, _ *corev1.PodSecurityContext, c *corev1.SecurityContext) {
		c.Capabilities.Add = []corev1.Capability{"SYS_ADMIN"}
	})
	privileged := hardenedPod(violations[0].mutate)
	tests := []struct {
		name     string
		policy   string
		labels   map[string]string
		spec     *corev1.PodSpec
		errs     []string
		warnings []string
	}{
		{
			name: "the policy's level",
			spec: sysAdmin,
			errs: []string{`spec.securityContext.capabilities.add: Forbidden: violates PodSecurity "baseline:latest" (policy tasks.podSecurity): ` +
				`non-default capabilities (container "step-main" must not include "SYS_ADMIN" in securityContext.capabilities.add); ` +
				`add only capabilities the baseline level allows (such as CHOWN, KILL or NET_BIND_SERVICE), or ask a cluster admin for a tasks.podSecurity level that allows it`},
		},
		{
			name:   "the namespace's stricter level",
			policy: "tasks: {podSecurity: privileged}",
			labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "v1.30"},
			spec:   sysAdmin,
			errs: []string{`spec.securityContext.capabilities.add: Forbidden: violates PodSecurity "restricted:v1.30" (namespace label pod-security.kubernetes.io/enforce): ` +
				`unrestricted capabilities (container "step-main" must not include "SYS_ADMIN" in securityContext.capabilities.add); ` +
				`drop ["ALL"] and add at most NET_BIND_SERVICE, or run the App in a namespace whose pod-security.kubernetes.io/enforce level allows it`},
		},
		{
			name:     "audit",
			policy:   "mode: audit",
			spec:     sysAdmin,
			warnings: []string{`audit: would reject spec.securityContext.capabilities.add: non-default capabilities (baseline:latest)`},
		},
		{
			// ValidatePrivileges reports it, as tasks.allowPrivileged did.
			name: "privileged, which the policy forbids",
			spec: privileged,
		},
		{
			name:   "privileged, which the policy allows and the namespace does not",
			policy: "tasks: {allowPrivileged: true}",
			labels: map[string]string{"pod-security.kubernetes.io/enforce": "baseline"},
			spec:   privileged,
			errs: []string{`spec.securityContext.privileged: Forbidden: violates PodSecurity "baseline:latest" (namespace label pod-security.kubernetes.io/enforce): ` +
				`privileged (container "step-main" must not set securityContext.privileged=true); remove privileged, ` +
				`or run the App in a namespace whose pod-security.kubernetes.io/enforce level allows it`},
		},
		{name: "privileged everywhere", policy: "tasks: {podSecurity: privileged}", labels: map[string]string{"pod-security.kubernetes.io/enforce": "privileged"}, spec: privileged},
		{name: "hardened defaults meet restricted", policy: "tasks: {podSecurity: restricted}", spec: hardenedPod()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := load(t, tt.policy)
			errs, warnings := p.ValidatePodSecurity(p.PodSecurityFor(tt.labels), &metav1.ObjectMeta{}, tt.spec, appPaths)
			assertErrors(t, errs, tt.errs)
			if !reflect.DeepEqual(warnings, tt.warnings) {
				t.Errorf("warnings = %q, want %q", warnings, tt.warnings)
			}
		})
	}
}

func TestPodSecurityFor(t *testing.T) {
	const enforce, version = "pod-security.kubernetes.io/enforce", "pod-security.kubernetes.io/enforce-version"
	tests := []struct {
		policy string
		labels map[string]string
		want   string
	}{
		{"", nil, `PodSecurity "baseline:latest" (policy tasks.podSecurity)`},
		{"tasks: {allowPrivileged: true}", nil, `PodSecurity "privileged:latest" (policy tasks.podSecurity)`},
		{"tasks: {podSecurity: restricted}", nil, `PodSecurity "restricted:latest" (policy tasks.podSecurity)`},
		{"", map[string]string{enforce: "privileged"}, `PodSecurity "baseline:latest" (policy tasks.podSecurity)`},
		{"", map[string]string{enforce: "baseline", version: "v1.25"}, `PodSecurity "baseline:latest" (policy tasks.podSecurity)`},
		{"", map[string]string{enforce: "restricted"}, `PodSecurity "restricted:latest" (namespace label pod-security.kubernetes.io/enforce)`},
		{"", map[string]string{enforce: "restricted", version: "v1.25"}, `PodSecurity "restricted:v1.25" (namespace label pod-security.kubernetes.io/enforce)`},
		{"tasks: {podSecurity: privileged}", map[string]string{enforce: "baseline"}, `PodSecurity "baseline:latest" (namespace label pod-security.kubernetes.io/enforce)`},
		{"tasks: {podSecurity: restricted}", map[string]string{enforce: "baseline"}, `PodSecurity "restricted:latest" (policy tasks.podSecurity)`},
		// PodSecurity admission enforces restricted for a level it cannot parse.
		{"", map[string]string{enforce: "strict"}, `PodSecurity "restricted:latest" (namespace label pod-security.kubernetes.io/enforce)`},
		// The version label alone changes nothing.
		{"", map[string]string{version: "v1.20"}, `PodSecurity "baseline:latest" (policy tasks.podSecurity)`},
	}
	for _, tt := range tests {
		if got := load(t, tt.policy).PodSecurityFor(tt.labels).String(); got != tt.want {
			t.Errorf("policy %q, labels %v: got %s, want %s", tt.policy, tt.labels, got, tt.want)
		}
	}
}

func TestPodSecurityPolicyFields(t *testing.T) {
	tests := []struct {
		body string
		want string // the error, or the podSecurity it loads as
	}{
		{"", "baseline"},
		{"tasks: {allowPrivileged: true}", "privileged"},
		{"tasks: {podSecurity: restricted}", "restricted"},
		{"tasks: {allowPrivileged: true, podSecurity: privileged}", "privileged"},
		{"tasks: {allowPrivileged: false, podSecurity: privileged}", "privileged"},
		{"tasks: {allowPrivileged: true, podSecurity: restricted}",
			"policy.yaml: tasks.allowPrivileged: Invalid value: true: is a deprecated alias of podSecurity: privileged and conflicts with podSecurity: restricted; remove allowPrivileged"},
		{"tasks: {podSecurity: strict}",
			`policy.yaml: tasks.podSecurity: Unsupported value: "strict": supported values: "baseline", "privileged", "restricted"`},
	}
	for _, tt := range tests {
		p, err := Load([]byte("apiVersion: taskgate.dev/v1alpha1\nkind: Policy\n" + tt.body))
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = string(p.Tasks.PodSecurity)
		}
		if got != tt.want {
			t.Errorf("%q: got %s\nwant %s", tt.body, got, tt.want)
		}
	}
}

// BenchmarkValidatePodSecurity is what the check adds to each App and
// Task admission: the hardened pod, which passes every check, at
// restricted.
func BenchmarkValidatePodSecurity(b *testing.B) {
	p := load(b, "tasks: {podSecurity: restricted}")
	spec, meta := hardenedPod(), &metav1.ObjectMeta{}
	req := p.PodSecurityFor(nil)
	for b.Loop() {
		if errs, _ := p.ValidatePodSecurity(req, meta, spec, appPaths); errs != nil {
			b.Fatal(errs)
		}
	}
}
