package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
)

// tenantView is a tenant as the admin API shows it.
type tenantView struct {
	ID        string             `json:"id"`
	Name      string             `json:"name"`
	Plan      string             `json:"plan"`
	Seats     int                `json:"seats"`
	Addons    []string           `json:"addons"`
	Settings  store.Settings     `json:"settings"`
	CreatedAt time.Time          `json:"created_at"`
	UpdatedAt time.Time          `json:"updated_at"`
	Contract  tenantContractView `json:"contract"` // seats: admin/seats.go
	// SCIMReady is on GET of one tenant only (it reads the SAML configuration
	// and the tokens): admin/readiness.go.
	SCIMReady *scimReadyView `json:"scim_ready,omitempty"`
}

func viewTenant(t store.Tenant) tenantView {
	addons := t.Addons
	if addons == nil {
		addons = []string{}
	}
	return tenantView{ID: t.ID, Name: t.Name, Plan: t.Plan, Seats: t.Seats, Addons: addons, Settings: t.Settings,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, Contract: viewTenantContract(t)}
}

// tenantIDPattern keeps tenant ids safe in URLs, logs and SAML entity ids.
var tenantIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// maxSeats bounds the purchased seats to something a contract can have.
const maxSeats = 1_000_000

// tenantInput is the body of POST and PATCH; nil fields are not given.
type tenantInput struct {
	ID            *string                    `json:"id"`
	Name          *string                    `json:"name"`
	Plan          *string                    `json:"plan"`
	Seats         *int                       `json:"seats"`
	Addons        *[]string                  `json:"addons"`
	Settings      map[string]json.RawMessage `json:"settings"`
	ContractStart *string                    `json:"contract_start"` // seats: admin/seats.go applyContract
}

// apply checks every given field and applies the good ones to t; it returns
// every fault at once.
func (in tenantInput) apply(t *store.Tenant, roles []store.Role) []FieldError {
	var bad []FieldError
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if name == "" || len(name) > 200 {
			bad = append(bad, FieldError{"name", "must be 1 to 200 characters"})
		}
		t.Name = name
	}
	if in.Plan != nil {
		if _, ok := licensing.Lookup(*in.Plan); !ok {
			bad = append(bad, FieldError{"plan", fmt.Sprintf("unknown plan %q; plans: %s", *in.Plan, strings.Join(licensing.PlanIDs(), ", "))})
		}
		t.Plan = *in.Plan
	}
	if in.Seats != nil {
		if *in.Seats < 0 || *in.Seats > maxSeats {
			bad = append(bad, FieldError{"seats", fmt.Sprintf("must be between 0 and %d", maxSeats)})
		}
		t.Seats = *in.Seats
	}
	if in.Addons != nil {
		if err := licensing.ValidateAddons(*in.Addons); err != nil {
			bad = append(bad, FieldError{"addons", err.Error()})
		}
		t.Addons = slices.Clone(*in.Addons)
	}
	bad = append(bad, applySettings(&t.Settings, in.Settings, roles)...)
	return bad
}

// applySettings merges the given settings keys into s, checking each.
func applySettings(s *store.Settings, in map[string]json.RawMessage, roles []store.Role) []FieldError {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var bad []FieldError
	for _, k := range keys {
		field := "settings." + k
		raw := in[k]
		var err error
		switch k {
		case "rate_limit_per_second":
			var n int
			if err = json.Unmarshal(raw, &n); err == nil && (n < 0 || n > 100_000) {
				err = errors.New("must be between 0 (no limit) and 100000")
			}
			s.RateLimitPerSecond = n
		case "overage":
			err = json.Unmarshal(raw, &s.Overage)
		case "privileged_roles":
			var v string
			if err = json.Unmarshal(raw, &v); err == nil && v != "deny" && v != "allow" && v != "approve" {
				err = errors.New(`must be "deny", "allow" or "approve"`)
			}
			s.PrivilegedRoles = v
		case "idp_initiated_sso":
			err = json.Unmarshal(raw, &s.IdPInitiatedSSO)
		case "manual_overrides":
			err = json.Unmarshal(raw, &s.ManualOverrides)
		case "light_seat_price_cents":
			var n int
			if err = json.Unmarshal(raw, &n); err == nil && (n < 0 || n > 1_000_000) {
				err = errors.New("must be between 0 and 1000000")
			}
			s.LightSeatPriceCents = n
		case "default_role":
			var v string
			if err = json.Unmarshal(raw, &v); err == nil && !roleExists(v, roles) {
				err = fmt.Errorf("unknown role %q; roles: %s", v, strings.Join(roleNames(roles), ", "))
			}
			s.DefaultRole = v
		default:
			bad = append(bad, FieldError{field, "is not a known setting; settings: default_role, idp_initiated_sso, light_seat_price_cents, manual_overrides, overage, privileged_roles, rate_limit_per_second"})
			continue
		}
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr):
			bad = append(bad, FieldError{field, "must be a JSON " + jsonType(typeErr.Type.Kind().String())})
		case err != nil && strings.HasPrefix(err.Error(), "json:") || err != nil && strings.Contains(err.Error(), "invalid character"):
			bad = append(bad, FieldError{field, "is not a valid JSON value"})
		case err != nil:
			bad = append(bad, FieldError{field, err.Error()})
		}
	}
	return bad
}

func roleNames(custom []store.Role) []string {
	names := []string{store.RoleAdmin, store.RoleSupervisor, store.RoleAgent}
	for _, r := range custom {
		names = append(names, r.Name)
	}
	return names
}

func roleExists(name string, custom []store.Role) bool {
	return slices.Contains(roleNames(custom), name)
}

func (a *API) createTenant(w http.ResponseWriter, r *http.Request) error {
	var in tenantInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	t := store.Tenant{Plan: licensing.Trial, Settings: store.DefaultSettings()}
	var bad []FieldError
	switch {
	case in.ID == nil:
		bad = append(bad, FieldError{"id", "is required"})
	case !tenantIDPattern.MatchString(*in.ID):
		bad = append(bad, FieldError{"id", "must be 1 to 63 lower-case letters, digits or dashes, starting with a letter or digit"})
	default:
		t.ID, t.Name = *in.ID, *in.ID
	}
	if in.Plan == nil {
		bad = append(bad, FieldError{"plan", "is required; plans: " + strings.Join(licensing.PlanIDs(), ", ")})
	}
	bad = append(bad, in.apply(&t, nil)...)
	bad = append(bad, applyContract(store.Tenant{}, &t, in, a.now())...) // seats (admin/seats.go)
	if len(bad) > 0 {
		return invalid(bad...)
	}
	created, err := a.store.CreateTenant(r.Context(), t, actor(r))
	if errors.Is(err, store.ErrConflict) {
		return &Error{Status: http.StatusConflict, Code: "conflict", Message: fmt.Sprintf("tenant %q already exists", t.ID)}
	}
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/admin/v1/tenants/"+created.ID)
	writeJSON(w, http.StatusCreated, viewTenant(created))
	return nil
}

func (a *API) listTenants(w http.ResponseWriter, r *http.Request) error {
	ts, err := a.store.ListTenants(r.Context())
	if err != nil {
		return err
	}
	out := make([]tenantView, 0, len(ts))
	for _, t := range ts {
		out = append(out, viewTenant(t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"tenants": out})
	return nil
}

// tenant loads the tenant of the path, or a 404 naming it.
func (a *API) tenant(r *http.Request) (store.Tenant, error) {
	id := r.PathValue("id")
	t, err := a.store.GetTenant(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return t, notFound("no tenant %q", id)
	}
	t.SetContract(licensing.Roll(t.Contract(), a.now())) // a seat reduction due at the renewal shows in force
	return t, err
}

func (a *API) getTenant(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	v := viewTenant(t)
	if v.SCIMReady, err = a.scimReadiness(r.Context(), t); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *API) patchTenant(w http.ResponseWriter, r *http.Request) error {
	var in tenantInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.ID != nil {
		return invalid(FieldError{"id", "cannot be changed"})
	}
	// A tenant's own credential changes its name and settings; what the
	// tenant buys is the operator's to change.
	if err := operatorFields(r, fieldGiven{"plan", in.Plan != nil}, fieldGiven{"seats", in.Seats != nil},
		fieldGiven{"addons", in.Addons != nil}, fieldGiven{"contract_start", in.ContractStart != nil}); err != nil {
		return err
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	var roles []store.Role
	if _, ok := in.Settings["default_role"]; ok {
		if roles, err = a.store.ListRoles(r.Context(), t.ID); err != nil {
			return err
		}
	}
	updated, err := a.dir.UpdateTenant(r.Context(), t.ID, actor(r), func(t *store.Tenant) error {
		before := t.Clone()
		bad := in.apply(t, roles)
		bad = append(bad, applyContract(before, t, in, a.now())...) // seats lowered wait for the renewal (admin/seats.go)
		if len(bad) > 0 {
			return invalid(bad...)
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no tenant %q", t.ID)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewTenant(updated))
	return nil
}

// deleteTenant removes a tenant and everything of it. The operator confirms
// by repeating the tenant id: DELETE /admin/v1/tenants/acme?confirm=acme.
func (a *API) deleteTenant(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("confirm") != t.ID {
		return invalid(FieldError{"confirm", fmt.Sprintf(
			"deleting tenant %s removes all its users, groups, tokens and history; repeat its id to confirm: ?confirm=%s", t.ID, t.ID)})
	}
	if err := a.store.DeleteTenant(r.Context(), t.ID, actor(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
