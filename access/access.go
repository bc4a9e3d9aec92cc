// Package access is Roster's permission model as data: the permission
// catalogue (areas and their flags), the built-in roles, and the rules that
// pick one role from what an IdP sends. Pure logic, no I/O.
//
// A permission flag is written "area.flag" (conversations.reply). A custom
// role is a set of flags; the built-in roles admin, supervisor and agent are
// defined here from the seed product's role table and exist in every tenant.
package access

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/roster-dev/roster/store"
)

// Flag is one permission of an area.
type Flag struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Area is a functional area of the application and its flags.
type Area struct {
	Name  string `json:"name"`
	Flags []Flag `json:"flags"`
}

// catalogue is the permission catalogue, in the order the application shows it.
var catalogue = []Area{
	{Name: "conversations", Flags: []Flag{
		{"view_assigned", "see conversations assigned to them or their teams"},
		{"view_all", "see every conversation of the organisation"},
		{"reply", "answer customers in the conversations they can see"},
		{"assign", "assign and reassign conversations to agents and teams"},
		{"close", "close and reopen conversations"},
		{"delete", "delete conversations"},
		{"export", "export conversations"},
	}},
	{Name: "customers", Flags: []Flag{
		{"view", "see customer timelines"},
		{"notes", "write notes on customers"},
		{"edit", "edit customer records"},
		{"delete", "delete customer records"},
		{"export", "export customer records"},
	}},
	{Name: "reporting", Flags: []Flag{
		{"view_own", "see their own activity reports"},
		{"view_team", "see the reports of their teams and monitor agent activity"},
		{"view_org", "see organisation-wide reports"},
		{"export", "export reports"},
	}},
	{Name: "settings", Flags: []Flag{
		{"view", "see organisation settings"},
		{"manage", "change organisation settings"},
		{"workflows", "create and change workflows"},
	}},
	{Name: "teams", Flags: []Flag{
		{"view", "see teams and their members"},
		{"manage", "create teams and change their members"},
	}},
	{Name: "integrations", Flags: []Flag{
		{"view", "see installed integrations"},
		{"manage", "install, configure and remove integrations and API keys"},
	}},
	{Name: "users", Flags: []Flag{
		{"view", "see the users of the organisation"},
		{"manage", "invite, deactivate and edit users"},
		{"roles", "create custom roles and change users' roles"},
	}},
	{Name: "billing", Flags: []Flag{
		{"view", "see the plan, seats and invoices"},
		{"manage", "change the plan, seats and payment details"},
	}},
}

// Catalogue returns the permission catalogue: every area and its flags.
func Catalogue() []Area {
	out := make([]Area, len(catalogue))
	for i, a := range catalogue {
		out[i] = Area{Name: a.Name, Flags: slices.Clone(a.Flags)}
	}
	return out
}

// Areas lists the area names in catalogue order.
func Areas() []string {
	out := make([]string, len(catalogue))
	for i, a := range catalogue {
		out[i] = a.Name
	}
	return out
}

// AllFlags lists every flag of the catalogue as "area.flag", in catalogue order.
func AllFlags() []string {
	var out []string
	for _, a := range catalogue {
		for _, f := range a.Flags {
			out = append(out, a.Name+"."+f.Name)
		}
	}
	return out
}

// AreaFlags lists the flags of one area as "area.flag"; nil for an unknown area.
func AreaFlags(area string) []string {
	for _, a := range catalogue {
		if a.Name == area {
			out := make([]string, len(a.Flags))
			for i, f := range a.Flags {
				out[i] = a.Name + "." + f.Name
			}
			return out
		}
	}
	return nil
}

// FlagError is a permission flag that is not in the catalogue.
type FlagError struct {
	Flag  string   // as given
	Area  string   // its area when the area exists, else ""
	Known []string // the area's flags, or the areas when the area is unknown
}

func (e *FlagError) Error() string {
	if e.Area == "" {
		return fmt.Sprintf("unknown permission %q: flags are written area.flag; areas: %s", e.Flag, strings.Join(e.Known, ", "))
	}
	return fmt.Sprintf("unknown permission %q; the flags of %s are: %s", e.Flag, e.Area, strings.Join(e.Known, ", "))
}

// Is makes errors.Is(err, store.ErrInvalid) true.
func (e *FlagError) Is(target error) bool { return target == store.ErrInvalid }

// FlagErrors are all the unknown flags of one list, in the order given.
// errors.As finds the first *FlagError in it.
type FlagErrors []*FlagError

func (e FlagErrors) Error() string {
	msgs := make([]string, len(e))
	for i, f := range e {
		msgs[i] = f.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap lets errors.Is and errors.As see each flag's error.
func (e FlagErrors) Unwrap() []error {
	out := make([]error, len(e))
	for i, f := range e {
		out[i] = f
	}
	return out
}

// ValidateFlags checks permission flags against the catalogue and returns
// them normalised: trimmed, lower-case, each once, in catalogue order.
// "area.*" stands for every flag of the area. Unknown flags are a FlagErrors
// naming every one of them (an admin fixing a list should not find the
// second typo only after fixing the first), each listing its area's flags.
func ValidateFlags(flags []string) ([]string, error) {
	want := map[string]bool{}
	var bad FlagErrors
	for _, raw := range flags {
		f := strings.ToLower(strings.TrimSpace(raw))
		area, name, ok := strings.Cut(f, ".")
		known := AreaFlags(area)
		if !ok || known == nil {
			bad = append(bad, &FlagError{Flag: raw, Known: Areas()})
			continue
		}
		if name == "*" {
			for _, k := range known {
				want[k] = true
			}
			continue
		}
		if !slices.Contains(known, f) {
			bad = append(bad, &FlagError{Flag: raw, Area: area, Known: known})
			continue
		}
		want[f] = true
	}
	if len(bad) > 0 {
		return nil, bad
	}
	out := []string{}
	for _, f := range AllFlags() {
		if want[f] {
			out = append(out, f)
		}
	}
	return out, nil
}

// builtin are the built-in roles, from the seed product's role table.
var builtin = []store.Role{
	{
		Name:        store.RoleAdmin,
		Description: "Full access to all settings, user management, billing, integrations, workflows and all conversation data",
		Permissions: AllFlags(),
		Privileged:  true,
		SeatClass:   store.SeatFull,
	},
	{
		Name:        store.RoleSupervisor,
		Description: "Sees all conversations, reporting and team management, monitors agent activity; no organisation settings or billing",
		Permissions: []string{
			"conversations.view_assigned", "conversations.view_all", "conversations.reply", "conversations.assign",
			"conversations.close", "conversations.export",
			"customers.view", "customers.notes", "customers.edit",
			"reporting.view_own", "reporting.view_team", "reporting.view_org", "reporting.export",
			"teams.view", "teams.manage",
			"integrations.view",
			"users.view",
		},
		SeatClass: store.SeatFull,
	},
	{
		Name:        store.RoleAgent,
		Description: "Handles conversations assigned to them or their teams; sees customer timelines and notes; nothing in settings",
		Permissions: []string{
			"conversations.view_assigned", "conversations.reply", "conversations.close",
			"customers.view", "customers.notes",
			"reporting.view_own",
			"teams.view",
		},
		SeatClass: store.SeatFull,
	},
}

// BuiltinRoles returns the built-in roles, most powerful first.
func BuiltinRoles() []store.Role {
	out := make([]store.Role, len(builtin))
	for i, r := range builtin {
		out[i] = r.Clone()
	}
	return out
}

// Builtin returns a built-in role by name.
func Builtin(name string) (store.Role, bool) {
	for _, r := range builtin {
		if r.Name == name {
			return r.Clone(), true
		}
	}
	return store.Role{}, false
}

// IsBuiltin says whether name is a built-in role.
func IsBuiltin(name string) bool { return store.IsBuiltinRole(name) }

// Lookup finds a role of a tenant by name among the built-in roles and the
// tenant's custom roles.
func Lookup(name string, custom []store.Role) (store.Role, bool) {
	if r, ok := Builtin(name); ok {
		return r, true
	}
	for _, r := range custom {
		if r.Name == name {
			return r.Clone(), true
		}
	}
	return store.Role{}, false
}

// Permissions are the effective permission flags of a role of a tenant, in
// catalogue order; false when the role does not exist. Flags a custom role
// holds that the catalogue no longer knows are dropped.
func Permissions(role string, custom []store.Role) ([]string, bool) {
	r, ok := Lookup(role, custom)
	if !ok {
		return nil, false
	}
	set := map[string]bool{}
	for _, f := range r.Permissions {
		set[f] = true
	}
	out := []string{}
	for _, f := range AllFlags() {
		if set[f] {
			out = append(out, f)
		}
	}
	return out, true
}

// Can says whether a role of a tenant holds a permission flag.
func Can(role string, custom []store.Role, flag string) bool {
	perms, _ := Permissions(role, custom)
	return slices.Contains(perms, flag)
}

// Precedence ranks a role name for picking among several core roles values:
// admin, then supervisor, then agent, then any other (custom) role. Lower is
// stronger.
func Precedence(name string) int {
	switch Canonical(name) {
	case store.RoleAdmin:
		return 0
	case store.RoleSupervisor:
		return 1
	case store.RoleAgent:
		return 2
	}
	return 3
}

// Canonical is the form role names are compared and stored in.
func Canonical(name string) string { return store.CanonicalRole(name) }

// RoleValue is the role a core roles value names. Entra's single-role PATCH
// sends the app role as a JSON-encoded string
// ({"id":"…","value":"Admin","displayName":"Admin"}); its value (else its
// displayName) is the role.
func RoleValue(v string) string {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "{") {
		var obj struct {
			Value       any    `json:"value"`
			DisplayName string `json:"displayName"`
		}
		if json.Unmarshal([]byte(v), &obj) == nil {
			if s, ok := obj.Value.(string); ok && strings.TrimSpace(s) != "" {
				return strings.TrimSpace(s)
			}
			return strings.TrimSpace(obj.DisplayName)
		}
	}
	return v
}

// ExplicitRole is the role a user's own SCIM attributes name: the Roster
// extension role beats the core roles attribute, whose primary value beats
// the others; among several candidates the highest-precedence role wins
// (admin, supervisor, agent, then custom roles in the order sent). Values are
// decoded (RoleValue) and returned in canonical form; "" when neither names
// one.
func ExplicitRole(extensionRole string, roles []store.MultiValue) string {
	if r := Canonical(RoleValue(extensionRole)); r != "" {
		return r
	}
	pick := func(primaryOnly bool) string {
		best := ""
		for _, v := range roles {
			if primaryOnly && !v.Primary {
				continue
			}
			r := Canonical(RoleValue(v.Value))
			if r != "" && (best == "" || Precedence(r) < Precedence(best)) {
				best = r
			}
		}
		return best
	}
	if r := pick(true); r != "" {
		return r
	}
	return pick(false)
}
