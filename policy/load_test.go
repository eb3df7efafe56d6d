package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

const header = "apiVersion: taskgate.dev/v1alpha1\nkind: Policy\n"

// TestDecodeErrors pins what an admin sees for a document that does not
// parse: every problem at once, each with its path.
func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{
			name: "misspelt field in a rule",
			doc:  header + "ttl:\n  rules:\n  - {name: a, kinds: [Job], whne: Failed, ttlSecondsAfterFinished: 60}\n",
			want: `policy.yaml: ttl.rules[0].whne: Invalid value: unknown field; did you mean "when"? ` +
				`fields here: includeOperatorJobs, kinds, name, namespaceSelector, namespaces, selector, ttlSecondsAfterFinished, when`,
		},
		{
			name: "field names are case-sensitive",
			doc:  header + "TTL: {}\n",
			want: `policy.yaml: TTL: Invalid value: unknown field; did you mean "ttl"? fields here: apiVersion, exemptions, kind, mode, tasks, ttl`,
		},
		{
			name: "unknown field inside a label selector",
			doc:  header + "tasks: {cap: {overrides: [{name: a, maxTasks: 1, appSelector: {matchLabel: {a: b}}}]}}\n",
			want: `policy.yaml: tasks.cap.overrides[0].appSelector.matchLabel: Invalid value: unknown field; did you mean "matchLabels"? fields here: matchExpressions, matchLabels`,
		},
		{
			name: "unknown field with no near match",
			doc:  header + "retention: 5\n",
			want: `policy.yaml: retention: Invalid value: unknown field; fields here: apiVersion, exemptions, kind, mode, tasks, ttl`,
		},
		{
			name: "wrong kind and apiVersion",
			doc:  "apiVersion: v1\nkind: ConfigMap\n",
			want: `policy.yaml: apiVersion: Unsupported value: "v1": supported values: "taskgate.dev/v1alpha1"; ` +
				`kind: Unsupported value: "ConfigMap": supported values: "Policy"`,
		},
		{
			name: "apiVersion of the wrong type",
			doc:  "apiVersion: 1\nkind: Policy\n",
			want: `policy.yaml: apiVersion: Invalid value: 1: must be a string; quote numbers and booleans`,
		},
		{
			name: "missing kind and apiVersion",
			doc:  "mode: audit\n",
			want: `policy.yaml: apiVersion: Required value: must be "taskgate.dev/v1alpha1"; kind: Required value: must be "Policy"`,
		},
		{
			name: "values of the wrong type",
			doc: header + `
ttl:
  minSeconds: "60"
  maxSeconds: 1.5
  hookFloorSeconds: 99999999999
  rules: {name: a}
tasks:
  allowPrivileged: "yes"
  timeout: {default: 90}
  pendingDeadline: 5 minutes
  resources: {defaults: {memory: lots}}
exemptions:
  namespaces: legacy
  optOutLabel: [a]
`,
			want: `policy.yaml: exemptions.namespaces: Invalid value: "legacy": must be a list; ` +
				`exemptions.optOutLabel: Invalid value: must be a string; quote numbers and booleans; ` +
				`tasks.allowPrivileged: Invalid value: "yes": must be true or false; ` +
				`tasks.pendingDeadline: Invalid value: "5 minutes": must be a duration such as 90s, 5m or 1h30m; ` +
				`tasks.resources.defaults.memory: Invalid value: "lots": must be a quantity such as 500m, 2, 256Mi or 1Gi; ` +
				`tasks.timeout.default: Invalid value: 90: must be a duration such as 90s, 5m or 1h30m; ` +
				`ttl.hookFloorSeconds: Invalid value: 99999999999: must be at most 2147483647; ` +
				`ttl.maxSeconds: Invalid value: 1.5: must be a whole number; ` +
				`ttl.minSeconds: Invalid value: "60": must be a whole number, without quotes; ` +
				`ttl.rules: Invalid value: must be a list`,
		},
		{
			name: "quantities too large to compare",
			doc:  header + "tasks: {resources: {ceilings: {memory: 1e3000000000, cpu: \"1e65\", disk: 0000000000000000000000000000000000000000000000000000000000000001Gi}}}\n",
			want: `policy.yaml: tasks.resources.ceilings.cpu: Invalid value: "1e65": must be a quantity such as 500m, 2, 256Mi or 1Gi; ` +
				`tasks.resources.ceilings.disk: Invalid value: "0000000000000000000000000000000000000000000000000000000000000001Gi": must be a quantity such as 500m, 2, 256Mi or 1Gi; ` +
				`tasks.resources.ceilings.memory: Invalid value: "1e3000000000": must be a quantity such as 500m, 2, 256Mi or 1Gi`,
		},
		{
			name: "label values must be strings",
			doc:  header + "ttl: {rules: [{name: a, kinds: [Job], when: Created, ttlSecondsAfterFinished: 1, selector: {matchLabels: {version: 2}}}]}\n",
			want: `policy.yaml: ttl.rules[0].selector.matchLabels[version]: Invalid value: 2: must be a string; quote numbers and booleans`,
		},
		{
			name: "duplicate keys",
			doc:  header + "mode: audit\nmode: enforce\n",
			want: `policy.yaml: not valid YAML: yaml: unmarshal errors: line 4: key "mode" already set in map`,
		},
		{
			name: "not a mapping",
			doc:  "- apiVersion: taskgate.dev/v1alpha1\n",
			want: "policy.yaml: must be a YAML mapping that starts with apiVersion: taskgate.dev/v1alpha1 and kind: Policy",
		},
		{
			name: "not YAML",
			doc:  "ttl: [\n",
			want: "policy.yaml: not valid YAML: yaml: line 1: did not find expected node content",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Decode([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Decode succeeded: %+v", p)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}

func TestDecodeNullsAndEmpty(t *testing.T) {
	for _, doc := range []string{
		header,
		header + "ttl: null\ntasks: {cap: null}\nexemptions: {namespaces: null}\n",
		header + "ttl: {}\ntasks: {}\nexemptions: {}\n",
	} {
		p, err := Load([]byte(doc))
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		if !semanticEqual(p, Default()) {
			t.Errorf("%q: got %+v, want the defaults", doc, p)
		}
	}
}

// TestValidateErrors pins the message for every validation rule.
func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string
	}{
		{
			name: "mode",
			body: "mode: dry-run",
			want: []string{`mode: Unsupported value: "dry-run": supported values: "audit", "enforce"`},
		},
		{
			name: "explicit",
			body: "ttl: {explicit: Ignore}",
			want: []string{`ttl.explicit: Unsupported value: "Ignore": supported values: "Override", "Respect"`},
		},
		{
			name: "negative seconds and min above max",
			body: "ttl: {minSeconds: 100, maxSeconds: 50, hookFloorSeconds: -1, completionGraceSeconds: -5}",
			want: []string{
				`ttl.hookFloorSeconds: Invalid value: -1: must be greater than or equal to 0`,
				`ttl.completionGraceSeconds: Invalid value: -5: must be greater than or equal to 0`,
				`ttl.maxSeconds: Invalid value: 50: must be at least ttl.minSeconds (100)`,
			},
		},
		{
			name: "hook floor above max",
			body: "ttl: {maxSeconds: 600}",
			want: []string{`ttl.hookFloorSeconds: Invalid value: 3600: must not exceed ttl.maxSeconds (600)`},
		},
		{
			name: "rule: when",
			body: "ttl: {rules: [{name: a, kinds: [Job], when: Done, ttlSecondsAfterFinished: 60}]}",
			want: []string{`ttl.rules[0].when: Unsupported value: "Done": supported values: "Created", "Failed", "Finished", "Succeeded"`},
		},
		{
			name: "rule: required fields",
			body: "ttl: {rules: [{}]}",
			want: []string{
				`ttl.rules[0].name: Required value: a name such as failed-jobs-week, used in decisions and metrics`,
				`ttl.rules[0].kinds: Required value: list the kinds the rule applies to: "Job", "Task" or both`,
				`ttl.rules[0].when: Required value: must be one of "Created", "Failed", "Finished", "Succeeded"`,
				`ttl.rules[0].ttlSecondsAfterFinished: Required value: the TTL in seconds the rule gives, for example 3600`,
			},
		},
		{
			name: "rule: names unique and DNS labels",
			body: `
ttl:
  rules:
  - {name: week, kinds: [Job], when: Failed, ttlSecondsAfterFinished: 1}
  - {name: week, kinds: [Job], when: Succeeded, ttlSecondsAfterFinished: 1}
  - {name: Failed_Jobs, kinds: [Job], when: Succeeded, ttlSecondsAfterFinished: 1}`,
			want: []string{
				`ttl.rules[1].name: Duplicate value: "week"`,
				`ttl.rules[2].name: Invalid value: "Failed_Jobs": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
			},
		},
		{
			name: "rule: kinds",
			body: "ttl: {rules: [{name: a, kinds: [Job, CronJob, Job], when: Failed, ttlSecondsAfterFinished: 1}]}",
			want: []string{
				`ttl.rules[0].kinds[1]: Unsupported value: "CronJob": supported values: "Job", "Task"`,
				`ttl.rules[0].kinds[2]: Duplicate value: "Job"`,
			},
		},
		{
			name: "rule: globs, selectors, ttl",
			body: `
ttl:
  rules:
  - name: a
    kinds: [Job]
    namespaces: ["team-[", ""]
    namespaceSelector: {matchLabels: {"bad key!": x}}
    selector: {matchExpressions: [{key: tier, operator: In}]}
    when: Failed
    ttlSecondsAfterFinished: -1`,
			want: []string{
				`ttl.rules[0].namespaces[0]: Invalid value: "team-[": must be a namespace name or a glob in path.Match syntax, such as team-* or ci-[0-9]`,
				`ttl.rules[0].namespaces[1]: Required value: a namespace name or a glob such as team-*`,
				`ttl.rules[0].namespaceSelector.matchLabels: Invalid value: "bad key!": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
				`ttl.rules[0].selector.matchExpressions[0].values: Required value: must be specified when ` + "`operator`" + ` is 'In' or 'NotIn'`,
				`ttl.rules[0].ttlSecondsAfterFinished: Invalid value: -1: must be greater than or equal to 0`,
			},
		},
		{
			name: "cap",
			body: `
tasks:
  cap:
    default: -1
    overrides:
    - {name: a}
    - {name: a, namespaces: [x], maxTasks: -2}`,
			want: []string{
				`tasks.cap.default: Invalid value: -1: must be greater than or equal to 0`,
				`tasks.cap.overrides[0]: Required value: set namespaces, namespaceSelector or appSelector; to change the cap everywhere, set tasks.cap.default`,
				`tasks.cap.overrides[0].maxTasks: Required value: the number of newest Tasks to keep per App, for example 50`,
				`tasks.cap.overrides[1].name: Duplicate value: "a"`,
				`tasks.cap.overrides[1].maxTasks: Invalid value: -2: must be greater than or equal to 0`,
			},
		},
		{
			name: "resources",
			body: "tasks: {resources: {defaults: {cpu: -1, memory: 16Gi}, ceilings: {memory: 8Gi, disk: 0}}}",
			want: []string{
				`tasks.resources.defaults.cpu: Invalid value: "-1": must not be negative; 0 sets no default`,
				`tasks.resources.defaults.memory: Invalid value: "16Gi": must not exceed tasks.resources.ceilings.memory (8Gi)`,
				`tasks.resources.ceilings.disk: Invalid value: "0": must be greater than 0; omit it for no ceiling`,
			},
		},
		{
			name: "timeout default above max",
			body: "tasks: {timeout: {default: 48h, max: 24h}}",
			want: []string{`tasks.timeout.default: Invalid value: "48h0m0s": must not exceed tasks.timeout.max (24h)`},
		},
		{
			name: "timeout default of no limit with a max",
			body: "tasks: {timeout: {default: 0s, max: 24h}}",
			want: []string{`tasks.timeout.default: Invalid value: "0s": 0s means no limit, which tasks.timeout.max forbids; choose at most 24h`},
		},
		{
			name: "timeout negative, max zero, pending negative",
			body: "tasks: {timeout: {default: -1m, max: 0s}, pendingDeadline: -5m}",
			want: []string{
				`tasks.timeout.default: Invalid value: "-1m0s": must not be negative; 0s means no limit`,
				`tasks.timeout.max: Invalid value: "0s": must be greater than 0s; omit it for no maximum`,
				`tasks.pendingDeadline: Invalid value: "-5m0s": must not be negative; 0s never fails pending Tasks`,
			},
		},
		{
			name: "exemptions",
			body: "exemptions: {namespaces: [\"[\"], optOutLabel: \"not a label\"}",
			want: []string{
				`exemptions.namespaces[0]: Invalid value: "[": must be a namespace name or a glob in path.Match syntax, such as team-* or ci-[0-9]`,
				`exemptions.optOutLabel: Invalid value: "not a label": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Decode([]byte(header + tt.body))
			if err != nil {
				t.Fatal(err)
			}
			SetDefaults(p)
			assertErrors(t, Validate(p), tt.want)
		})
	}
}

// TestLoadError checks what the ConfigMap webhook shows and can inspect.
func TestLoadError(t *testing.T) {
	_, err := Load([]byte(header + "ttl: {rules: [{name: a, kinds: [Job], when: Done, ttlSecondsAfterFinished: 60}]}"))
	want := `policy.yaml: ttl.rules[0].when: Unsupported value: "Done": supported values: "Created", "Failed", "Finished", "Succeeded"`
	if err == nil || err.Error() != want {
		t.Fatalf("Load error:\n got %v\nwant %s", err, want)
	}
	var perr *Error
	if !errors.As(err, &perr) || len(perr.Errs) != 1 || perr.Errs[0].Type != field.ErrorTypeNotSupported {
		t.Errorf("errors.As(*Error) = %+v", perr)
	}
	var ferr *field.Error
	if !errors.As(err, &ferr) || ferr.Field != "ttl.rules[0].when" {
		t.Errorf("errors.As(*field.Error) = %+v", ferr)
	}

	_, err = Load([]byte(header + "ttl: {minSeconds: -1, maxSeconds: -2}"))
	if got := err.Error(); !strings.HasPrefix(got, "policy.yaml: ttl.minSeconds: ") || !strings.Contains(got, "; ttl.maxSeconds: ") {
		t.Errorf("several errors are joined with \"; \": %s", got)
	}
}

// TestLoadExample loads the full example of docs/policy.md.
func TestLoadExample(t *testing.T) {
	p := load(t, strings.TrimPrefix(exampleDoc, header))
	want := []string{"failed-jobs-week", "succeeded-jobs-hour", "tasks-month", "argo-workflows"}
	var got []string
	for _, r := range p.TTL.Rules {
		got = append(got, r.Name)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rules = %v, want %v", got, want)
	}
}

// exampleDoc is the full example in docs/policy.md; keep them in step.
const exampleDoc = `apiVersion: taskgate.dev/v1alpha1
kind: Policy
mode: enforce
ttl:
  explicit: Respect
  minSeconds: 60
  maxSeconds: 2592000
  hookFloorSeconds: 3600
  completionGraceSeconds: 60
  rules:
  - name: failed-jobs-week
    kinds: [Job]
    when: Failed
    ttlSecondsAfterFinished: 604800
  - name: succeeded-jobs-hour
    kinds: [Job]
    when: Succeeded
    ttlSecondsAfterFinished: 3600
  - name: tasks-month
    kinds: [Task]
    namespaces: ["team-*", ci]
    when: Finished
    ttlSecondsAfterFinished: 2592000
  - name: argo-workflows
    kinds: [Job]
    namespaceSelector:
      matchLabels: {taskgate.dev/operator-cleanup: "true"}
    when: Finished
    ttlSecondsAfterFinished: 86400
    includeOperatorJobs: true
tasks:
  cap:
    default: 500
    overrides:
    - name: team-a
      namespaces: [team-a]
      maxTasks: 50
    - name: migrations
      appSelector:
        matchLabels: {example.com/role: migrations}
      maxTasks: 20
  resources:
    defaults: {cpu: 100m, memory: 256Mi, disk: 1Gi}
    ceilings: {cpu: "4", memory: 8Gi, disk: 20Gi}
  timeout:
    default: 1h
    max: 24h
  pendingDeadline: 5m
  allowPrivileged: false
  podMetadata:
    annotations: ["sidecar.istio.io/inject"]
    labels: ["example.com/*"]
  securityGroups:
  - name: shop-database
    groups: [postgres-egress]
    namespaces: [shop]
  - name: pci
    groups: [db-egress]
    namespaceSelector:
      matchLabels: {compliance: pci}
exemptions:
  namespaces: ["legacy-*"]
  optOutLabel: taskgate.dev/policy
`
