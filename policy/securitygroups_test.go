package policy

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

const bindings = `tasks:
  securityGroups:
  - {name: shop, groups: [web-egress, dns], namespaces: [shop]}
  - {name: teams, groups: [dns, team-egress], namespaces: ["team-*"]}
  - {name: pci, groups: [db-egress], namespaceSelector: {matchLabels: {compliance: pci}}}
  - {name: both, groups: [audit-log], namespaces: [shop], namespaceSelector: {matchLabels: {compliance: pci}}}
`

func TestBoundSecurityGroups(t *testing.T) {
	p := load(t, bindings)
	tests := []struct {
		name     string
		ns       string
		nsLabels map[string]string
		want     []string
	}{
		{name: "by name, in policy order", ns: "shop", want: []string{"web-egress", "dns"}},
		{name: "by glob", ns: "team-a", want: []string{"dns", "team-egress"}},
		{name: "by label", ns: "payments", nsLabels: map[string]string{"compliance": "pci"}, want: []string{"db-egress"}},
		{name: "every matcher set must match", ns: "shop", nsLabels: map[string]string{"compliance": "pci"},
			want: []string{"web-egress", "dns", "db-egress", "audit-log"}},
		{name: "none", ns: "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.BoundSecurityGroups(tt.ns, tt.nsLabels); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("BoundSecurityGroups(%s) = %q, want %q", tt.ns, got, tt.want)
			}
		})
	}
	if got := Default().BoundSecurityGroups("shop", nil); got != nil {
		t.Errorf("default policy binds %q, want none", got)
	}
}

func TestValidateSecurityGroups(t *testing.T) {
	fldPath := field.NewPath("spec", "securityGroups")
	tests := []struct {
		name     string
		policy   string
		groups   []string
		ns       string
		errs     []string
		warnings []string
	}{
		{name: "bound", policy: bindings, groups: []string{"dns", "web-egress"}, ns: "shop"},
		{name: "no groups", groups: nil, ns: "shop"},
		{
			name: "not bound", policy: bindings, groups: []string{"web-egress", "db-egress"}, ns: "shop",
			errs: []string{`spec.securityGroups[1]: Forbidden: security group "db-egress" is not bound to namespace "shop"; it may use: "web-egress", "dns" (policy tasks.securityGroups); ask a cluster admin to bind it`},
		},
		{
			name: "nothing bound by default", groups: []string{"postgres-egress"}, ns: "shop",
			errs: []string{`spec.securityGroups[0]: Forbidden: security group "postgres-egress" is not bound to namespace "shop"; it may use none (policy tasks.securityGroups); ask a cluster admin to bind it`},
		},
		{
			name: "audit", policy: "mode: audit", groups: []string{"postgres-egress"}, ns: "shop",
			warnings: []string{`audit: would reject spec.securityGroups[0]: "postgres-egress" is not bound to namespace "shop" (tasks.securityGroups)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs, warnings := load(t, tt.policy).ValidateSecurityGroups(tt.groups, tt.ns, nil, fldPath)
			assertErrors(t, errs, tt.errs)
			if !reflect.DeepEqual(warnings, tt.warnings) {
				t.Errorf("warnings = %q, want %q", warnings, tt.warnings)
			}
		})
	}
}

func TestValidateSecurityGroupBindings(t *testing.T) {
	p, err := Decode([]byte(header + `tasks:
  securityGroups:
  - {name: a, groups: [web-egress], namespaces: ["*"]}
  - {name: a, groups: [], namespaces: ["["]}
  - {groups: [dns, dns, Bad_Group], namespaceSelector: {matchLabels: {"bad key!": x}}}
  - {name: everywhere, groups: [dns]}
`))
	if err != nil {
		t.Fatal(err)
	}
	SetDefaults(p)
	assertErrors(t, Validate(p), []string{
		`tasks.securityGroups[1].name: Duplicate value: "a"`,
		`tasks.securityGroups[1].groups: Required value: list the security groups the binding lets its namespaces use, such as [web-egress]`,
		`tasks.securityGroups[1].namespaces[0]: Invalid value: "[": must be a namespace name or a glob in path.Match syntax, such as team-* or ci-[0-9]`,
		`tasks.securityGroups[2].name: Required value: a name such as failed-jobs-week, used in decisions and metrics`,
		`tasks.securityGroups[2].groups[1]: Duplicate value: "dns"`,
		`tasks.securityGroups[2].groups[2]: Invalid value: "Bad_Group": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
		`tasks.securityGroups[2].namespaceSelector.matchLabels: Invalid value: "bad key!": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
		`tasks.securityGroups[3]: Required value: set namespaces or namespaceSelector; to bind the groups in every namespace, set namespaces: ["*"]`,
	})
}
