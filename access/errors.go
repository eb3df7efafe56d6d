package access

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
)

// Forbidden says, for each missing need, which field asks for what
// permission the requester lacks, why, and what to do: for example
// `spec.serviceBindings[0].secretName: Forbidden: you (user "alice") may
// not get secret "db-creds" in namespace "shop"; binding a Secret needs
// get on it; ask for that permission or bind a Secret you can read`.
func Forbidden(requester user.Info, missing []Need) field.ErrorList {
	var errs field.ErrorList
	for _, n := range missing {
		errs = append(errs, field.Forbidden(n.Field, fmt.Sprintf("you (user %q) may not %s; %s; %s",
			requester.GetName(), n.Permission(), n.Why, n.Fix)))
	}
	return errs
}
