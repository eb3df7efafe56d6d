package policy

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// BoundSecurityGroups returns the security groups bound to a namespace, in
// the order the policy first names them.
func (p *Policy) BoundSecurityGroups(namespace string, nsLabels map[string]string) []string {
	var groups []string
	for i := range p.Tasks.SecurityGroups {
		b := &p.Tasks.SecurityGroups[i]
		// Validate requires a matcher; a binding that slipped through
		// without one binds nothing rather than everything.
		if len(b.Namespaces) == 0 && b.NamespaceSelector == nil {
			continue
		}
		if !matchNamespace(b.Namespaces, namespace) || !matchSelector(b.NamespaceSelector, nsLabels) {
			continue
		}
		for _, g := range b.Groups {
			if !slices.Contains(groups, g) {
				groups = append(groups, g)
			}
		}
	}
	return groups
}

// ValidateSecurityGroups forbids each of groups (an App's
// spec.securityGroups, at fldPath) that tasks.securityGroups does not bind
// to the namespace. Security groups label pods for admins' NetworkPolicies,
// so, as in Cloud Foundry, admins bind them to namespaces and App authors
// choose among those. In audit mode errors come back as warnings.
func (p *Policy) ValidateSecurityGroups(groups []string, namespace string, nsLabels map[string]string, fldPath *field.Path) (field.ErrorList, []string) {
	bound := p.BoundSecurityGroups(namespace, nsLabels)
	mayUse := " none"
	if len(bound) > 0 {
		quoted := make([]string, len(bound))
		for i, g := range bound {
			quoted[i] = fmt.Sprintf("%q", g)
		}
		mayUse = ": " + strings.Join(quoted, ", ")
	}
	var fs []finding
	for i, g := range groups {
		if slices.Contains(bound, g) {
			continue
		}
		fs = append(fs, finding{
			err: field.Forbidden(fldPath.Index(i), fmt.Sprintf(
				"security group %q is not bound to namespace %q; it may use%s (policy tasks.securityGroups); ask a cluster admin to bind it",
				g, namespace, mayUse)),
			short: fmt.Sprintf("%s: %q is not bound to namespace %q (tasks.securityGroups)", fldPath.Index(i), g, namespace),
		})
	}
	return p.verdict(fs)
}

func validateSecurityGroupBindings(bindings []SecurityGroupBinding, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i := range bindings {
		b, p := &bindings[i], fldPath.Index(i)
		errs = append(errs, validateName(b.Name, names, p.Child("name"))...)
		groupsPath := p.Child("groups")
		if len(b.Groups) == 0 {
			errs = append(errs, field.Required(groupsPath, "list the security groups the binding lets its namespaces use, such as [web-egress]"))
		}
		seen := sets.New[string]()
		for j, g := range b.Groups {
			if seen.Has(g) {
				errs = append(errs, field.Duplicate(groupsPath.Index(j), g))
				continue
			}
			seen.Insert(g)
			// As App.spec.securityGroups allows.
			for _, msg := range validation.IsDNS1123Label(g) {
				errs = append(errs, field.Invalid(groupsPath.Index(j), g, msg))
			}
		}
		if len(b.Namespaces) == 0 && b.NamespaceSelector == nil {
			errs = append(errs, field.Required(p,
				`set namespaces or namespaceSelector; to bind the groups in every namespace, set namespaces: ["*"]`))
		}
		errs = append(errs, validateGlobs(b.Namespaces, p.Child("namespaces"))...)
		errs = append(errs, validateSelector(b.NamespaceSelector, p.Child("namespaceSelector"))...)
	}
	return errs
}
