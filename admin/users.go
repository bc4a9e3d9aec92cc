package admin

// Bulk changes of people: POST /admin/v1/tenants/{id}/users/role (a role),
// …/users/deactivate and …/users/reactivate (active), each all or nothing,
// each with ?dry_run=true for a preview that writes nothing, and each
// answering what it does to the tenant's seats and monthly cost.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
)

// maxBulkUsers bounds one bulk change: it is one transaction.
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

// seatEffectView is what a bulk change does to the tenant's seats and
// monthly cost, in the terms of GET …/seats (licensing.Report with the seats
// held before and after): full and light seats held, billable seats, and the
// monthly cost in US cents.
type seatEffectView struct {
	FullBefore             int   `json:"full_before"`
	FullAfter              int   `json:"full_after"`
	LightBefore            int   `json:"light_before"`
	LightAfter             int   `json:"light_after"`
	BillableBefore         int   `json:"billable_before"`
	BillableAfter          int   `json:"billable_after"`
	MonthlyCostCentsBefore int64 `json:"monthly_cost_cents_before"`
	MonthlyCostCentsAfter  int64 `json:"monthly_cost_cents_after"`
}

// seatMove is one user's seat before and after a bulk change.
type seatMove struct{ old, new store.SeatClass }

// seatDelta is the change of seats held that the moves make together.
func seatDelta(moves []seatMove) store.SeatCounts {
	var d store.SeatCounts
	count := func(c store.SeatClass, n int) {
		switch c {
		case store.SeatFull:
			d.Full += n
		case store.SeatLight:
			d.Light += n
		}
	}
	for _, m := range moves {
		count(m.old, -1)
		count(m.new, 1)
	}
	return d
}

// seatEffect answers the effect of delta on the seats the tenant's users
// hold, read now: for a change already applied the figures read are after
// it, for a dry run they are before it. A dry run also gets the seat limit
// the change would meet (the error the real change gives: licensing.
// CapAllows, the check every backend makes as it writes), nil when it fits.
func (a *API) seatEffect(ctx context.Context, t store.Tenant, delta store.SeatCounts, applied bool) (seatEffectView, error, error) {
	now, err := a.store.SeatCounts(ctx, t.ID)
	if err != nil {
		return seatEffectView{}, nil, err
	}
	before, after := now, store.SeatCounts{Full: now.Full + delta.Full, Light: now.Light + delta.Light}
	if applied {
		before, after = store.SeatCounts{Full: now.Full - delta.Full, Light: now.Light - delta.Light}, now
	}
	c, at := t.Contract(), a.now()
	rb, ra := licensing.Report(c, before, at), licensing.Report(c, after, at)
	v := seatEffectView{FullBefore: before.Full, FullAfter: after.Full, LightBefore: before.Light, LightAfter: after.Light,
		BillableBefore: rb.BillableSeats, BillableAfter: ra.BillableSeats,
		MonthlyCostCentsBefore: rb.MonthlyCostCents, MonthlyCostCentsAfter: ra.MonthlyCostCents}
	var capErr error
	if usable := c.UsableAt(at); !applied && !licensing.CapAllows(before.Full, delta.Full, usable, c.Overage) {
		capErr = &store.SeatLimitError{TenantID: t.ID, InUse: before.Full, Purchased: usable}
	}
	return v, capErr, nil
}

// errorBody is the answer err gets from fail, for a dry run that reports
// the refusal its real run would meet instead of answering it.
func errorBody(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return storeError(err)
}

// dryRunParam reads ?dry_run=true|false, the only parameter of a bulk change.
func dryRunParam(r *http.Request) (bool, error) {
	if err := onlyParams(r, "dry_run"); err != nil {
		return false, err
	}
	v, ok := param(r.URL.Query(), "dry_run")
	if !ok {
		return false, nil
	}
	switch strings.ToLower(v) {
	case "true", "1", "":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, invalid(FieldError{"dry_run", "must be true or false"})
}

// bulkUsers reads the users of a bulk change (ids or userNames) and checks
// their number; more is whatever else the body holds.
func bulkUsers(users *[]string) []FieldError {
	switch {
	case users == nil || len(*users) == 0:
		return []FieldError{{"users", "is required: a list of user ids or userNames"}}
	case len(*users) > maxBulkUsers:
		return []FieldError{{"users", fmt.Sprintf("at most %d users per request", maxBulkUsers)}}
	}
	return nil
}

// lookupUser finds a live user by id, else by userName.
func (a *API) lookupUser(r *http.Request, tenantID, ref string) (store.User, error) {
	u, err := a.store.GetUser(r.Context(), tenantID, ref)
	if errors.Is(err, store.ErrNotFound) {
		u, err = a.store.GetUserByUserName(r.Context(), tenantID, ref)
	}
	return u, err
}

// userIDs resolves the refs (ids or userNames) of a bulk change to ids; any
// that names no live user is a 400 naming every such ref.
func (a *API) userIDs(r *http.Request, tenantID string, refs []string) ([]string, error) {
	var ids, missing []string
	for _, ref := range refs {
		u, err := a.lookupUser(r, tenantID, strings.TrimSpace(ref))
		if errors.Is(err, store.ErrNotFound) {
			missing = append(missing, ref)
			continue
		}
		if err != nil {
			return nil, err
		}
		ids = append(ids, u.ID)
	}
	if len(missing) > 0 {
		return nil, invalid(FieldError{"users", "no such user in tenant " + tenantID + " (by id or userName): " + strings.Join(missing, ", ") + "; nothing was changed"})
	}
	return ids, nil
}

// setUsersRole gives the listed users (ids or userNames) the role
// explicitly, all or nothing: an unknown user or role, or a seat cap the
// moves would pass, changes nothing. With ?dry_run=true it answers the
// same, writing nothing, and the refusal the real change would meet in
// would_fail.
func (a *API) setUsersRole(w http.ResponseWriter, r *http.Request) error {
	dryRun, err := dryRunParam(r)
	if err != nil {
		return err
	}
	var in struct {
		Users *[]string `json:"users"`
		Role  *string   `json:"role"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	bad := bulkUsers(in.Users)
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
	ids, err := a.userIDs(r, t.ID, *in.Users)
	if err != nil {
		return err
	}
	change := a.dir.SetUsersRole
	if dryRun {
		change = a.dir.PreviewUsersRole
	}
	changes, err := change(r.Context(), t.ID, ids, *in.Role, actor(r))
	if err != nil {
		return err
	}
	moves := make([]seatMove, 0, len(changes))
	for _, c := range changes {
		moves = append(moves, seatMove{c.OldSeat, c.NewSeat})
	}
	seats, capErr, err := a.seatEffect(r.Context(), t, seatDelta(moves), !dryRun)
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
	body := map[string]any{"role": store.CanonicalRole(*in.Role), "dry_run": dryRun, "changed": changed, "users": out, "seats": seats}
	if dryRun {
		body["would_fail"] = wouldFail(capErr)
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// wouldFail is a dry run's would_fail: the error body the real run would
// answer, or null.
func wouldFail(err error) any {
	if err == nil {
		return nil
	}
	return errorBody(err)
}

// activeChangeView is one user's part in a bulk deactivation or reactivation.
type activeChangeView struct {
	ID        string `json:"id"`
	UserName  string `json:"userName"`
	Managed   string `json:"managed"` // scim (the IdP's) or manual
	OldActive bool   `json:"old_active"`
	NewActive bool   `json:"new_active"`
	OldSeat   string `json:"old_seat"`
	NewSeat   string `json:"new_seat"`
	Changed   bool   `json:"changed"`
	// Refused says why the user may not be changed by hand (a dry run's
	// answer; the real run refuses the whole request with it); null when
	// they may.
	Refused *Error `json:"refused"`
}

// deactivateUsers is POST …/users/deactivate.
func (a *API) deactivateUsers(w http.ResponseWriter, r *http.Request) error {
	return a.setUsersActive(w, r, false)
}

// reactivateUsers is POST …/users/reactivate.
func (a *API) reactivateUsers(w http.ResponseWriter, r *http.Request) error {
	return a.setUsersActive(w, r, true)
}

// setUsersActive deactivates (seats released, sessions ended) or
// reactivates (seats taken, the cap checked for all together) the listed
// users (ids or userNames), all or nothing, through the directory's one
// transaction: an unknown user is a 400, an IdP-managed user without the
// tenant's manual_overrides a 409 idp_managed naming every such user, seats
// beyond the cap a 403 seat_limit. With ?dry_run=true it answers each
// user's change and refusal and the refusal the whole run would meet
// (would_fail), writing nothing.
func (a *API) setUsersActive(w http.ResponseWriter, r *http.Request, active bool) error {
	dryRun, err := dryRunParam(r)
	if err != nil {
		return err
	}
	var in struct {
		Users *[]string `json:"users"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if bad := bulkUsers(in.Users); len(bad) > 0 {
		return invalid(bad...)
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	ids, err := a.userIDs(r, t.ID, *in.Users)
	if err != nil {
		return err
	}
	change := a.dir.SetUsersActive
	if dryRun {
		change = a.dir.PreviewUsersActive
	}
	changes, err := change(r.Context(), t.ID, ids, active, actor(r))
	if err != nil {
		return err
	}
	out := make([]activeChangeView, 0, len(changes))
	moves := make([]seatMove, 0, len(changes))
	changed, refused := 0, []string{}
	for _, c := range changes {
		v := activeChangeView{ID: c.UserID, UserName: c.UserName, Managed: c.Managed, OldActive: c.OldActive, NewActive: c.NewActive,
			OldSeat: string(c.OldSeat), NewSeat: string(c.NewSeat), Changed: c.OldActive != c.NewActive || c.OldSeat != c.NewSeat}
		if c.Refused != nil {
			v.Refused = errorBody(c.Refused)
			refused = append(refused, c.UserName)
		}
		if v.Changed {
			changed++
		}
		out = append(out, v)
		moves = append(moves, seatMove{c.OldSeat, c.NewSeat})
	}
	seats, capErr, err := a.seatEffect(r.Context(), t, seatDelta(moves), !dryRun)
	if err != nil {
		return err
	}
	body := map[string]any{"active": active, "dry_run": dryRun, "changed": changed, "refused": len(refused), "users": out, "seats": seats}
	if dryRun {
		// The refusal the real run would answer first: the IdP's users
		// (the directory refuses them before it writes), else the cap.
		if len(refused) > 0 {
			capErr = &directory.ManagedUsersError{Attribute: "active", UserNames: refused}
		}
		body["would_fail"] = wouldFail(capErr)
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}
