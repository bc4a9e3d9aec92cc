package scim

import (
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/roster-dev/roster/store"
)

// groupIn is a Group as POST and PUT send it; members is absent, null or a
// list of {"value": user id}.
type groupIn struct {
	Schemas     []string        `json:"schemas"`
	DisplayName string          `json:"displayName"`
	ExternalID  string          `json:"externalId"`
	Members     json.RawMessage `json:"members"`
}

func decodeGroup(body []byte) (groupIn, []string, error) {
	var in groupIn
	if err := decodeBody(body, &in); err != nil {
		return in, nil, err
	}
	if err := checkSchemas(in.Schemas, schemaGroup, schemaEntraGroup); err != nil {
		return in, nil, err
	}
	ids, err := memberIDs(in.Members)
	if err != nil {
		return in, nil, err
	}
	g := store.Group{DisplayName: in.DisplayName, ExternalID: in.ExternalID}
	return in, ids, checkGroup(&g)
}

func checkGroup(g *store.Group) error {
	for _, f := range [...]struct{ n, v string }{{"displayName", g.DisplayName}, {"externalId", g.ExternalID}} {
		switch {
		case len(f.v) > store.MaxStringLen:
			return badRequest(typeInvalidValue, "%s is %d bytes long; at most %d are accepted", f.n, len(f.v), store.MaxStringLen)
		case !utf8.ValidString(f.v), strings.IndexByte(f.v, 0) >= 0:
			return badRequest(typeInvalidValue, "%s contains characters that are not allowed", f.n)
		}
	}
	if strings.TrimSpace(g.DisplayName) == "" {
		return badRequest(typeInvalidValue, "displayName is required")
	}
	return nil
}

type groupOut struct {
	Schemas     []string `json:"schemas"`
	ID          string   `json:"id"`
	ExternalID  string   `json:"externalId,omitempty"`
	DisplayName string   `json:"displayName"`
	Members     []refOut `json:"members,omitempty"`
	Meta        metaOut  `json:"meta"`
}

var schemasGroup = []string{schemaGroup}

func (h *handler) groupView(base string, g *store.Group) *groupOut {
	o := &groupOut{Schemas: schemasGroup, ID: g.ID, ExternalID: g.ExternalID, DisplayName: g.DisplayName,
		Meta: metaOut{ResourceType: "Group", Created: g.CreatedAt, LastModified: g.UpdatedAt,
			Location: base + "/Groups/" + g.ID, Version: etag(g.Version)}}
	if len(g.Members) > 0 {
		o.Members = make([]refOut, len(g.Members))
		for i, m := range g.Members {
			o.Members[i] = refOut{Value: m.UserID, Ref: base + "/Users/" + m.UserID, Display: m.Display, Type: "User"}
		}
	}
	return o
}

func (h *handler) groupResult(c *call, status int, g *store.Group, proj projection) result {
	v := h.groupView(c.base, g)
	res := result{status: status, v: proj.apply(v), etag: v.Meta.Version}
	if status == http.StatusCreated {
		res.location = v.Meta.Location
	}
	return res
}

func (h *handler) createGroup(c *call) (result, error) {
	proj, err := c.projection()
	if err != nil {
		return result{}, err
	}
	in, ids, err := decodeGroup(c.body)
	if err != nil {
		return result{}, err
	}
	g := store.Group{DisplayName: in.DisplayName, ExternalID: in.ExternalID}
	c.pushedGroup(&g)
	for _, id := range ids {
		g.Members = append(g.Members, store.Member{UserID: id})
	}
	created, err := h.st.CreateGroup(c.ctx, c.tenant, g, c.actor)
	if err != nil {
		return result{}, err
	}
	if !proj.wants("members", false) {
		created.Members = nil
	}
	return h.groupResult(c, http.StatusCreated, &created, proj), nil
}

func (h *handler) getGroup(c *call, id string) (result, error) {
	proj, err := c.projection()
	if err != nil {
		return result{}, err
	}
	// The members are read as the answer is written (stream.go).
	g, err := h.st.GetGroup(c.ctx, c.tenant, id, false)
	if err != nil {
		return result{}, groupNotFound(err, id)
	}
	if c.ifNoneMatch != "" && etagMatches(c.ifNoneMatch, g.Version) {
		return result{status: http.StatusNotModified, etag: etag(g.Version)}, nil
	}
	return h.streamedGroup(c, http.StatusOK, g, proj), nil
}

// streamedGroup answers a group whose members, unless the projection leaves
// them out, are read from the store as the answer is written (stream.go).
// A Bulk operation never writes its result's body, so it reads none.
func (h *handler) streamedGroup(c *call, status int, g store.Group, proj projection) result {
	g.Members = nil
	return result{status: status, etag: etag(g.Version),
		v: &groupBody{h: h, c: c, g: g, proj: proj, members: proj.wants("members", false)}}
}

func (h *handler) replaceGroup(c *call, id string) (result, error) {
	proj, err := c.projection()
	if err != nil {
		return result{}, err
	}
	in, ids, err := decodeGroup(c.body)
	if err != nil {
		return result{}, err
	}
	g, err := h.st.UpdateGroup(c.ctx, c.tenant, id, c.actor, func(u *store.GroupUpdate) error {
		if err := c.checkIfMatch(u.Group.Version); err != nil {
			return err
		}
		u.Group.DisplayName, u.Group.ExternalID = in.DisplayName, in.ExternalID
		u.Replace(ids...) // PUT replaces the whole membership
		c.pushedGroup(&u.Group)
		return nil
	})
	if err != nil {
		return result{}, groupNotFound(err, id)
	}
	return h.groupAfterWrite(c, &g, proj)
}

// groupAfterWrite answers a PUT (or a PATCH asking for attributes) with the
// group as written, its members (unless excluded) streamed from the store.
func (h *handler) groupAfterWrite(c *call, g *store.Group, proj projection) (result, error) {
	return h.streamedGroup(c, http.StatusOK, *g, proj), nil
}

// patchGroup answers 204 (Entra expects it) unless attributes is asked for.
func (h *handler) patchGroup(c *call, id string) (result, error) {
	proj, err := c.projection()
	if err != nil {
		return result{}, err
	}
	ops, err := parsePatch(store.Groups, c.body)
	if err != nil {
		return result{}, err
	}
	g, err := h.st.UpdateGroup(c.ctx, c.tenant, id, c.actor, func(u *store.GroupUpdate) error {
		if err := c.checkIfMatch(u.Group.Version); err != nil {
			return err
		}
		if err := applyGroupPatch(u, ops); err != nil {
			return err
		}
		c.pushedGroup(&u.Group)
		return nil
	})
	if err != nil {
		return result{}, groupNotFound(err, id)
	}
	if proj.include == nil {
		return result{status: http.StatusNoContent, etag: etag(g.Version)}, nil
	}
	return h.groupAfterWrite(c, &g, proj)
}

func (h *handler) deleteGroup(c *call, id string) (result, error) {
	if c.ifMatch != "" {
		g, err := h.st.GetGroup(c.ctx, c.tenant, id, false)
		if err != nil {
			return result{}, groupNotFound(err, id)
		}
		if err := c.checkIfMatch(g.Version); err != nil {
			return result{}, err
		}
	}
	if err := h.st.DeleteGroup(c.ctx, c.tenant, id, c.actor); err != nil {
		return result{}, groupNotFound(err, id)
	}
	return result{status: http.StatusNoContent}, nil
}

// listGroups answers a group list, members included unless excluded (Entra
// sends excludedAttributes=members, which then loads none).
func (h *handler) listGroups(c *call, lp listParams) (result, error) {
	var f store.Filter
	if lp.filter != "" {
		var err error
		if f, err = parseFilter(store.Groups, lp.filter); err != nil {
			return result{}, err
		}
	}
	sortBy, err := sortAttr(store.Groups, lp.sortBy)
	if err != nil {
		return result{}, err
	}
	// The page's groups without members: each group's members are read as
	// the answer is written (stream.go).
	page, err := h.st.ListGroups(c.ctx, c.tenant, store.GroupQuery{Filter: f, StartIndex: lp.startIndex, Count: lp.count,
		SortBy: sortBy, Descending: lp.descending})
	if err != nil {
		return result{}, err // toSCIM: an invalid value is 400 invalidValue
	}
	return h.groupList(c, lp, page.Total, nil, page.Groups), nil
}

// groupList answers a list whose groups are streamed; before are resources
// rendered already (a search across types puts its users first).
func (h *handler) groupList(c *call, lp listParams, total int, before []any, groups []store.Group) result {
	return result{status: http.StatusOK, v: &groupListBody{h: h, c: c, total: total, start: lp.startIndex,
		before: before, groups: groups, proj: lp.proj, members: lp.proj.wants("members", false)}}
}
