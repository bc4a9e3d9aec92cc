package main

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	"github.com/google/uuid"
)

// The bare in-memory baseline: a SCIM server on the same library rosterd is
// built on (github.com/elimity-com/scim at the pinned version), Users only,
// kept in a map under a mutex with a case-insensitive userName index — what
// the library's own examples do, plus the uniqueness check every real server
// needs. No authentication, tenants, seats, roles or audit.

type memUsers struct {
	mu     sync.RWMutex
	byID   map[string]scim.Resource
	byName map[string]string // lower(userName) → id
}

func newMemServer() (http.Handler, error) {
	h := &memUsers{byID: map[string]scim.Resource{}, byName: map[string]string{}}
	srv, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{MaxResults: 1000, SupportFiltering: true, SupportPatch: true},
		ResourceTypes: []scim.ResourceType{{
			ID: optional.NewString("User"), Name: "User", Endpoint: "/Users",
			Description: optional.NewString("User Account"),
			Schema:      schema.CoreUserSchema(),
			Handler:     h,
		}},
	})
	if err != nil {
		return nil, err
	}
	return http.StripPrefix("/mem", srv), nil
}

// copyAttrs copies the top level: the library adds id, schemas and meta to
// the map it is given, so a stored map is never handed out.
func copyAttrs(a scim.ResourceAttributes) scim.ResourceAttributes {
	out := make(scim.ResourceAttributes, len(a)+3)
	for k, v := range a {
		out[k] = v
	}
	return out
}

func (h *memUsers) Create(_ *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	name, _ := attrs["userName"].(string)
	key := strings.ToLower(name)
	now := time.Now()
	res := scim.Resource{ID: uuid.NewString(), Attributes: copyAttrs(attrs), Meta: scim.Meta{Created: &now, LastModified: &now}}
	if ext, ok := attrs["externalId"].(string); ok {
		res.ExternalID = optional.NewString(ext)
	}
	h.mu.Lock()
	if _, taken := h.byName[key]; taken {
		h.mu.Unlock()
		return scim.Resource{}, scimerrors.ScimErrorUniqueness
	}
	h.byName[key] = res.ID
	h.byID[res.ID] = res
	h.mu.Unlock()
	res.Attributes = copyAttrs(res.Attributes)
	return res, nil
}

func (h *memUsers) Get(_ *http.Request, id string) (scim.Resource, error) {
	h.mu.RLock()
	res, ok := h.byID[id]
	h.mu.RUnlock()
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	res.Attributes = copyAttrs(res.Attributes)
	return res, nil
}

func (h *memUsers) GetAll(_ *http.Request, p scim.ListRequestParams) (scim.Page, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	page := scim.Page{TotalResults: len(h.byID), Resources: []scim.Resource{}}
	i := 0
	for _, res := range h.byID {
		i++
		if i >= p.StartIndex && len(page.Resources) < p.Count {
			res.Attributes = copyAttrs(res.Attributes)
			page.Resources = append(page.Resources, res)
		}
	}
	return page, nil
}

func (h *memUsers) Replace(*http.Request, string, scim.ResourceAttributes) (scim.Resource, error) {
	return scim.Resource{}, scimerrors.ScimError{Status: http.StatusNotImplemented, Detail: "not part of the baseline"}
}

func (h *memUsers) Delete(*http.Request, string) error {
	return scimerrors.ScimError{Status: http.StatusNotImplemented, Detail: "not part of the baseline"}
}

func (h *memUsers) Patch(*http.Request, string, []scim.PatchOperation) (scim.Resource, error) {
	return scim.Resource{}, scimerrors.ScimError{Status: http.StatusNotImplemented, Detail: "not part of the baseline"}
}
