package policy

import (
	"reflect"
	"testing"
)

func TestTaskPodMetadata(t *testing.T) {
	annotations := map[string]string{
		"sidecar.istio.io/inject":                          "false",
		"example.com/owner":                                "team-a",
		"container.apparmor.security.beta.kubernetes.io/x": "unconfined",
		"taskgate.dev/policy-decision":                     "set ttlSecondsAfterFinished=60",
		"kubectl.kubernetes.io/last-applied-configuration": "{}",
	}
	labels := map[string]string{
		"team":                "a",
		"example.com/tier":    "batch",
		"taskgate.dev/app":    "shop",
		"taskgate.dev/sg-x":   "true",
		"taskgate.dev/policy": "disabled",
	}
	tests := []struct {
		name   string
		policy string
		want   PodMetadataDecision
	}{
		{
			name: "default: nothing passes",
			want: PodMetadataDecision{
				DroppedAnnotations: []string{"container.apparmor.security.beta.kubernetes.io/x", "example.com/owner", "sidecar.istio.io/inject"},
				DroppedLabels:      []string{"example.com/tier", "team"},
			},
		},
		{
			name:   "keys and globs",
			policy: "tasks: {podMetadata: {annotations: [example.com/*], labels: [team, other]}}",
			want: PodMetadataDecision{
				Annotations:        map[string]string{"example.com/owner": "team-a"},
				Labels:             map[string]string{"team": "a"},
				DroppedAnnotations: []string{"container.apparmor.security.beta.kubernetes.io/x", "sidecar.istio.io/inject"},
				DroppedLabels:      []string{"example.com/tier"},
			},
		},
		{
			name:   "a glob without a prefix matches no prefixed key",
			policy: "tasks: {podMetadata: {annotations: ['*'], labels: ['*']}}",
			want: PodMetadataDecision{
				Labels:             map[string]string{"team": "a"},
				DroppedAnnotations: []string{"container.apparmor.security.beta.kubernetes.io/x", "example.com/owner", "sidecar.istio.io/inject"},
				DroppedLabels:      []string{"example.com/tier"},
			},
		},
		{
			name:   "audit: annotations still pass, labels do not",
			policy: "mode: audit\ntasks: {podMetadata: {annotations: [sidecar.istio.io/inject]}}",
			want: PodMetadataDecision{
				Annotations: map[string]string{
					"sidecar.istio.io/inject":                          "false",
					"example.com/owner":                                "team-a",
					"container.apparmor.security.beta.kubernetes.io/x": "unconfined",
				},
				DroppedAnnotations: []string{"container.apparmor.security.beta.kubernetes.io/x", "example.com/owner"},
				DroppedLabels:      []string{"example.com/tier", "team"},
				Audit:              true,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := load(t, tt.policy).TaskPodMetadata(annotations, labels)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("TaskPodMetadata:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if got := Default().TaskPodMetadata(nil, nil); !reflect.DeepEqual(got, PodMetadataDecision{}) {
		t.Errorf("no metadata: got %+v, want nothing", got)
	}
}

func TestPodMetadataWarnings(t *testing.T) {
	tests := []struct {
		name string
		d    PodMetadataDecision
		want []string
	}{
		{name: "nothing dropped"},
		{
			name: "both",
			d:    PodMetadataDecision{DroppedAnnotations: []string{"a.io/x", "b"}, DroppedLabels: []string{"team"}},
			want: []string{
				"annotations not copied to the pod (policy tasks.podMetadata.annotations): a.io/x, b",
				"labels not copied to the pod (policy tasks.podMetadata.labels): team",
			},
		},
		{
			name: "audit",
			d:    PodMetadataDecision{DroppedAnnotations: []string{"a.io/x"}, Audit: true},
			want: []string{"audit: annotations would not be copied to the pod (policy tasks.podMetadata.annotations): a.io/x"},
		},
		{
			name: "cut at 119 characters",
			d:    PodMetadataDecision{DroppedLabels: []string{"0123456789012345678901234567890123456789", "0123456789012345678901234567890123456789"}},
			want: []string{"labels not copied to the pod (policy tasks.podMetadata.labels): 0123456789012345678901234567890123456789, 0123456789..."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.Warnings(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Warnings:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestValidatePodMetadata(t *testing.T) {
	p, err := Decode([]byte(header + `tasks:
  podMetadata:
    annotations: [sidecar.istio.io/inject, "example.com/*", "", "[", taskgate.dev/policy-decision, "*/*"]
    labels: [team, "Not A Label", "taskgate.*/*", "*.dev/x", "kubernetes.io/*"]
`))
	if err != nil {
		t.Fatal(err)
	}
	SetDefaults(p)
	assertErrors(t, Validate(p), []string{
		`tasks.podMetadata.annotations[2]: Required value: a key such as example.com/team, or a glob such as example.com/*`,
		`tasks.podMetadata.annotations[3]: Invalid value: "[": must be a key or a glob in path.Match syntax, such as example.com/*`,
		`tasks.podMetadata.annotations[4]: Invalid value: "taskgate.dev/policy-decision": matches taskgate.dev/ keys, which are taskgate's own and never come from a Task; name another prefix`,
		`tasks.podMetadata.annotations[5]: Invalid value: "*/*": matches taskgate.dev/ keys, which are taskgate's own and never come from a Task; name another prefix`,
		`tasks.podMetadata.labels[1]: Invalid value: "Not A Label": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
		`tasks.podMetadata.labels[2]: Invalid value: "taskgate.*/*": matches taskgate.dev/ keys, which are taskgate's own and never come from a Task; name another prefix`,
		`tasks.podMetadata.labels[3]: Invalid value: "*.dev/x": matches taskgate.dev/ keys, which are taskgate's own and never come from a Task; name another prefix`,
	})
}

func TestDecodePodMetadataStrictly(t *testing.T) {
	_, err := Decode([]byte(header + "tasks: {podMetadata: {annotation: [x]}, securityGroups: [{name: a, group: [dns]}]}\n"))
	want := `policy.yaml: tasks.podMetadata.annotation: Invalid value: unknown field; did you mean "annotations"? fields here: annotations, labels; ` +
		`tasks.securityGroups[0].group: Invalid value: unknown field; did you mean "groups"? fields here: groups, name, namespaceSelector, namespaces`
	if err == nil || err.Error() != want {
		t.Errorf("Decode error =\n%v\nwant\n%s", err, want)
	}
}
