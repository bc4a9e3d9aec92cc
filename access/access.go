// Package access is Roster's permission model as data: the permission
// catalogue (areas and their flags), the built-in roles, and the rules that
// pick one role from what an IdP sends. Pure logic, no I/O.
package access

import (
	"strings"

	"github.com/roster-dev/roster/store"
)

// ExplicitRole is the role a user's own SCIM attributes name: the Roster
// extension role beats the core roles attribute (its primary value, else the
// first). "" when neither names one.
func ExplicitRole(extensionRole string, roles []store.MultiValue) string {
	if r := strings.TrimSpace(extensionRole); r != "" {
		return r
	}
	for _, v := range roles {
		if v.Primary && strings.TrimSpace(v.Value) != "" {
			return strings.TrimSpace(v.Value)
		}
	}
	for _, v := range roles {
		if r := strings.TrimSpace(v.Value); r != "" {
			return r
		}
	}
	return ""
}
