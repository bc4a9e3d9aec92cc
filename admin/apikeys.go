package admin

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/roster-dev/roster/access"
	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/store"
)

// A tenant's admin API keys: minted by the operator or by a credential of
// the tenant holding integrations.manage, who can grant only permissions
// they hold themselves. The key (rsk_…, package auth) is shown once, in the
// answer to POST; the store keeps its hash.

type apiKeyView struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Permissions []string   `json:"permissions"`
	Key         string     `json:"key,omitempty"` // only in the answer to create
	CreatedAt   time.Time  `json:"created_at"`
	CreatedBy   actorView  `json:"created_by"`
	LastUsedAt  *time.Time `json:"last_used_at"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}

func viewAPIKey(k store.APIKey) apiKeyView {
	perms := k.Permissions
	if perms == nil {
		perms = []string{}
	}
	return apiKeyView{ID: k.ID, Name: k.Name, Permissions: perms, CreatedAt: k.CreatedAt,
		CreatedBy:  actorView{Kind: k.CreatedBy.Kind, ID: k.CreatedBy.ID, Name: k.CreatedBy.Name},
		LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}

func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name        *string   `json:"name"`
		Permissions *[]string `json:"permissions"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var bad []FieldError
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" || len(*in.Name) > 100 {
		bad = append(bad, FieldError{"name", `is required: 1 to 100 characters naming what uses the key, e.g. "hr-sync"`})
	}
	var perms []string
	if in.Permissions == nil {
		bad = append(bad, FieldError{"permissions", `is required: the permission flags the key grants, e.g. ["users.view"]; flags: ` +
			strings.Join(access.AllFlags(), ", ")})
	} else {
		var err error
		perms, err = access.ValidateFlags(*in.Permissions)
		var flagErrs access.FlagErrors
		switch {
		case errors.As(err, &flagErrs):
			for _, f := range flagErrs {
				bad = append(bad, FieldError{"permissions", f.Error()})
			}
		case err != nil:
			return err
		}
	}
	if len(bad) > 0 {
		return invalid(bad...)
	}
	if err := mayGrant(callerOf(r), perms, "granting them to a new API key"); err != nil {
		return err
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	secret, id, hash, err := auth.NewAPIKey(a.rand)
	if err != nil {
		return err
	}
	k, err := a.store.CreateAPIKey(r.Context(), t.ID, store.APIKey{ID: id, Name: strings.TrimSpace(*in.Name), Permissions: perms, Hash: hash}, actor(r))
	if err != nil {
		return err
	}
	view := viewAPIKey(k)
	view.Key = secret
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, view)
	return nil
}

func (a *API) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	keys, err := a.store.ListAPIKeys(r.Context(), t.ID)
	if err != nil {
		return err
	}
	out := make([]apiKeyView, 0, len(keys))
	for _, k := range keys {
		out = append(out, viewAPIKey(k))
	}
	writeJSON(w, http.StatusOK, map[string]any{"api_keys": out})
	return nil
}

// revokeAPIKey revokes a key at once (its next request is 401); revoking
// it again is no error and keeps the first time.
func (a *API) revokeAPIKey(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	id := r.PathValue("keyID")
	_, err = a.store.RevokeAPIKey(r.Context(), t.ID, id, a.now(), actor(r))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("tenant %s has no API key %q", t.ID, id)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
