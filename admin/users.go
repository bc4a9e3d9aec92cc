package admin

// Bulk role change: POST /admin/v1/tenants/{id}/users/role.

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/roster-dev/roster/store"
)

// maxBulkUsers bounds one bulk role change: it is one transaction.
const maxBulkUsers = 1000

// roleChangeView is one user's move.
type roleChangeView struct {
	ID       string `json:"id"`
	UserName string `json:"userName"`
	OldRole  string `json:"old_role"`
	NewRole  string `json:"new_role"`
	OldSeat  string `json:"old_seat"`
	NewSeat  string `json:"new_seat"`
	Changed  bool   `json:"changed"`
}

// lookupUser finds a live user by id, else by userName.
func (a *API) lookupUser(r *http.Request, tenantID, ref string) (store.User, error) {
	u, err := a.store.GetUser(r.Context(), tenantID, ref)
	if errors.Is(err, store.ErrNotFound) {
		u, err = a.store.GetUserByUserName(r.Context(), tenantID, ref)
	}
	return u, err
}

// setUsersRole gives the listed users (ids or userNames) the role
// explicitly, all or nothing: an unknown user or role, or a seat cap the
// moves would pass, changes nothing.
func (a *API) setUsersRole(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Users *[]string `json:"users"`
		Role  *string   `json:"role"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var bad []FieldError
	switch {
	case in.Users == nil || len(*in.Users) == 0:
		bad = append(bad, FieldError{"users", "is required: a list of user ids or userNames"})
	case len(*in.Users) > maxBulkUsers:
		bad = append(bad, FieldError{"users", fmt.Sprintf("at most %d users per request", maxBulkUsers)})
	}
	if in.Role == nil || strings.TrimSpace(*in.Role) == "" {
		bad = append(bad, FieldError{"role", "is required"})
	}
	if len(bad) > 0 {
		return invalid(bad...)
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	if err := a.mayGive(r, t.ID, *in.Role); err != nil {
		return err
	}
	var ids, missing []string
	for _, ref := range *in.Users {
		u, err := a.lookupUser(r, t.ID, strings.TrimSpace(ref))
		if errors.Is(err, store.ErrNotFound) {
			missing = append(missing, ref)
			continue
		}
		if err != nil {
			return err
		}
		ids = append(ids, u.ID)
	}
	if len(missing) > 0 {
		return invalid(FieldError{"users", "no such user in tenant " + t.ID + " (by id or userName): " + strings.Join(missing, ", ") + "; nothing was changed"})
	}
	changes, err := a.dir.SetUsersRole(r.Context(), t.ID, ids, *in.Role, actor(r))
	if err != nil {
		return err
	}
	out := make([]roleChangeView, 0, len(changes))
	changed := 0
	for _, c := range changes {
		v := roleChangeView{ID: c.UserID, UserName: c.UserName, OldRole: c.OldRole, NewRole: c.NewRole,
			OldSeat: string(c.OldSeat), NewSeat: string(c.NewSeat), Changed: c.OldRole != c.NewRole || c.OldSeat != c.NewSeat}
		if v.Changed {
			changed++
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"role": store.CanonicalRole(*in.Role), "changed": changed, "users": out})
	return nil
}
