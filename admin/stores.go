package admin

import (
	"net/http"
	"time"

	"github.com/roster-dev/roster/store"
)

// The store catalogue: the stores a tenant's users may be given
// access to. A user's stores are checked against it in every user write.

type storeView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func viewStore(o store.Outlet) storeView {
	return storeView{ID: o.ID, Name: o.Name, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
}

// listStores answers GET /admin/v1/tenants/{id}/stores in creation order.
func (a *API) listStores(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	list, err := a.store.ListOutlets(r.Context(), t.ID)
	if err != nil {
		return err
	}
	out := make([]storeView, 0, len(list))
	for _, o := range list {
		out = append(out, viewStore(o))
	}
	writeJSON(w, http.StatusOK, map[string]any{"stores": out})
	return nil
}

// createStore answers POST /admin/v1/tenants/{id}/stores {"id","name"}.
func (a *API) createStore(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ID   *string `json:"id"`
		Name *string `json:"name"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var faults []FieldError
	if in.ID == nil {
		faults = append(faults, FieldError{"id", "is required: the store's id as users' stores name it, e.g. \"store-1\""})
	}
	if in.Name == nil {
		faults = append(faults, FieldError{"name", "is required: the store's display name"})
	}
	if len(faults) > 0 {
		return invalid(faults...)
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	o, err := a.store.CreateOutlet(r.Context(), t.ID, store.Outlet{ID: *in.ID, Name: *in.Name}, actor(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, viewStore(o))
	return nil
}

// renameStore answers PATCH /admin/v1/tenants/{id}/stores/{store} {"name"}.
// The id is what users' stores hold, so it does not change.
func (a *API) renameStore(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name *string `json:"name"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Name == nil {
		return invalid(FieldError{"name", "is required: the store's new display name (the id cannot change)"})
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	id := r.PathValue("store")
	o, err := a.store.RenameOutlet(r.Context(), t.ID, id, *in.Name, actor(r))
	if err != nil {
		return storeNotFound(err, t.ID, id)
	}
	writeJSON(w, http.StatusOK, viewStore(o))
	return nil
}

// deleteStore answers DELETE /admin/v1/tenants/{id}/stores/{store}: the store
// leaves the catalogue and every user loses access to it, in one transaction.
func (a *API) deleteStore(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	id := r.PathValue("store")
	n, err := a.store.DeleteOutlet(r.Context(), t.ID, id, actor(r))
	if err != nil {
		return storeNotFound(err, t.ID, id)
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": id, "users_updated": n})
	return nil
}

func storeNotFound(err error, tenantID, id string) error {
	if err == store.ErrNotFound {
		return notFound("tenant %s has no store %q", tenantID, id)
	}
	return err
}
