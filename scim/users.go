package scim

import (
	"errors"
	"net/http"
	"strings"

	"github.com/roster-dev/roster/store"
)

func (h *handler) createUser(c *call) (result, error) {
	proj, err := c.projection()
	if err != nil {
		return result{}, err
	}
	in, err := decodeUser(c.body)
	if err != nil {
		return result{}, err
	}
	var u store.User
	if err := in.apply(&u, true); err != nil {
		return result{}, err
	}
	c.pushed(&u)
	created, err := h.st.CreateUser(c.ctx, c.tenant, u, c.actor)
	if err != nil {
		return result{}, err
	}
	return h.userResult(c, http.StatusCreated, &created, nil, proj), nil
}

// pushed marks a user as the IdP's: every SCIM create and write hands the
// user to the IdP that sent it (the token's name is the IdP's name in the
// admin API's messages) and ends any drift a manual override left.
func (c *call) pushed(u *store.User) {
	u.Managed, u.IdP, u.DriftedAt = store.ManagedSCIM, c.actor.Name, nil
}

// pushedGroup marks a group as the IdP's, as pushed does a user.
func (c *call) pushedGroup(g *store.Group) {
	g.Managed, g.IdP = store.ManagedSCIM, c.actor.Name
}

// userResult renders a user answer. groups are the user's groups when
// loaded; location is set on 201.
func (h *handler) userResult(c *call, status int, u *store.User, groups []store.Group, proj projection) result {
	v := h.userView(c.base, u, groups, h.now())
	res := result{status: status, v: proj.apply(v), etag: v.Meta.Version}
	if status == http.StatusCreated {
		res.location = v.Meta.Location
	}
	return res
}

func (c *call) projection() (projection, error) {
	if c.rawQuery == "" {
		return projection{}, nil
	}
	return parseProjection(splitList(c.param("attributes")), splitList(c.param("excludedAttributes")))
}

// userGroups loads the groups of a user when the projection returns them.
func (h *handler) userGroups(c *call, id string, proj projection, explicit bool) ([]store.Group, error) {
	if !proj.wants("groups", explicit) {
		return nil, nil
	}
	_, groups, err := h.st.GetUserWithGroups(c.ctx, c.tenant, id) // one round trip
	return groups, err
}

func (h *handler) getUser(c *call, id string) (result, error) {
	proj, err := c.projection()
	if err != nil {
		return result{}, err
	}
	var (
		u      store.User
		groups []store.Group
	)
	if proj.wants("groups", false) {
		u, groups, err = h.st.GetUserWithGroups(c.ctx, c.tenant, id) // one round trip
	} else {
		u, err = h.st.GetUser(c.ctx, c.tenant, id)
	}
	if err != nil {
		return result{}, userNotFound(err, id)
	}
	if c.ifNoneMatch != "" && etagMatches(c.ifNoneMatch, u.Version) {
		return result{status: http.StatusNotModified, etag: etag(u.Version)}, nil
	}
	return h.userResult(c, http.StatusOK, &u, groups, proj), nil
}

func userNotFound(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return notFound("User", id)
	}
	return err
}

func groupNotFound(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return notFound("Group", id)
	}
	return err
}

func (h *handler) replaceUser(c *call, id string) (result, error) {
	proj, err := c.projection()
	if err != nil {
		return result{}, err
	}
	in, err := decodeUser(c.body)
	if err != nil {
		return result{}, err
	}
	return h.updateUser(c, id, proj, func(u *store.User) error { return in.apply(u, false) })
}

func (h *handler) patchUser(c *call, id string) (result, error) {
	proj, err := c.projection()
	if err != nil {
		return result{}, err
	}
	ops, err := parsePatch(store.Users, c.body)
	if err != nil {
		return result{}, err
	}
	return h.updateUser(c, id, proj, func(u *store.User) error { return applyUserPatch(u, ops) })
}

// updateUser applies change to the user inside the update transaction, after
// the If-Match check, and answers 200 with the updated user (PUT and PATCH).
func (h *handler) updateUser(c *call, id string, proj projection, change func(*store.User) error) (result, error) {
	u, err := h.st.UpdateUser(c.ctx, c.tenant, id, c.actor, func(u *store.User) error {
		if err := c.checkIfMatch(u.Version); err != nil {
			return err
		}
		if err := change(u); err != nil {
			return err
		}
		c.pushed(u)
		return nil
	})
	if err != nil {
		return result{}, userNotFound(err, id)
	}
	groups, err := h.userGroups(c, id, proj, false)
	if err != nil {
		return result{}, err
	}
	return h.userResult(c, http.StatusOK, &u, groups, proj), nil
}

func (h *handler) deleteUser(c *call, id string) (result, error) {
	if c.ifMatch != "" {
		u, err := h.st.GetUser(c.ctx, c.tenant, id)
		if err != nil {
			return result{}, userNotFound(err, id)
		}
		if err := c.checkIfMatch(u.Version); err != nil {
			return result{}, err
		}
	}
	if err := h.st.DeleteUser(c.ctx, c.tenant, id, c.actor); err != nil {
		return result{}, userNotFound(err, id)
	}
	return result{status: http.StatusNoContent}, nil
}

// userFilter parses a user filter; the core roles attribute reads as the one
// resolved role the user is shown with ([{"value": role, "primary": true}]).
func userFilter(s string) (store.Filter, error) {
	f, err := parseFilter(store.Users, s)
	if err != nil {
		return nil, err
	}
	if err := roleSubFilter(f); err != nil {
		return nil, err
	}
	return rewriteRoles(f), nil
}

// roleSubFilter refuses filters on roles.type and roles.display: a user is
// shown with the type and display the IdP sent with the role they hold, which
// no store column keeps apart from the other values the IdP sent, so such a
// filter could not find exactly what a GET shows.
func roleSubFilter(f store.Filter) error {
	var err error
	mapLeaves(f, func(leaf store.Filter) store.Filter {
		if vp, ok := leaf.(store.ValuePath); ok && vp.Attr == "roles" {
			mapLeaves(vp.Filter, func(in store.Filter) store.Filter {
				if c, ok := in.(store.Compare); ok && err == nil {
					switch strings.ToLower(c.Attr) {
					case "type", "display":
						err = badRequest(typeInvalidFilter, "roles.%s cannot be filtered; filter on roles.value (the role the user holds) or roles.primary", strings.ToLower(c.Attr))
					}
				}
				return in
			})
		}
		return leaf
	})
	return err
}

// alwaysTrue and alwaysFalse are filters of constant value (every user has an id).
var (
	alwaysTrue  store.Filter = store.Compare{Attr: "id", Op: store.OpPr}
	alwaysFalse store.Filter = store.Not{Filter: alwaysTrue}
)

// rewriteRoles turns value paths on roles into comparisons on the resolved
// role (roster.role): the shown roles value is that role, primary is true
// (type and display are refused by roleSubFilter).
func rewriteRoles(f store.Filter) store.Filter {
	return mapLeaves(f, func(leaf store.Filter) store.Filter {
		if vp, ok := leaf.(store.ValuePath); ok && vp.Attr == "roles" {
			return mapLeaves(vp.Filter, roleCompare)
		}
		return leaf
	})
}

// mapLeaves rebuilds f with fn applied to every operand of its and, or and
// not.
func mapLeaves(f store.Filter, fn func(store.Filter) store.Filter) store.Filter {
	switch f := f.(type) {
	case store.And:
		return store.And{Left: mapLeaves(f.Left, fn), Right: mapLeaves(f.Right, fn)}
	case store.Or:
		return store.Or{Left: mapLeaves(f.Left, fn), Right: mapLeaves(f.Right, fn)}
	case store.Not:
		return store.Not{Filter: mapLeaves(f.Filter, fn)}
	}
	return fn(f)
}

// roleCompare is a comparison inside roles[…] on the user's one shown role.
func roleCompare(f store.Filter) store.Filter {
	c, ok := f.(store.Compare)
	if !ok {
		return f
	}
	switch c.Attr {
	case "value":
		return store.Compare{Attr: "roster.role", Op: c.Op, Value: c.Value}
	case "primary":
		b, _ := c.Value.(bool)
		if (c.Op == store.OpPr) || (c.Op == store.OpEq) == b {
			return alwaysTrue
		}
		return alwaysFalse
	default: // type and display are refused before (roleSubFilter)
		if constCompare("", c.Op, c.Value) {
			return alwaysTrue
		}
		return alwaysFalse
	}
}

// constCompare evaluates a filter's string comparison on s, a lower-cased
// value; the filter's value compares lower-cased too.
func constCompare(s string, op store.Op, v any) bool {
	w, _ := v.(string)
	w = strings.ToLower(w)
	switch op {
	case store.OpPr:
		return s != ""
	case store.OpEq:
		return s == w
	case store.OpNe:
		return s != w
	case store.OpCo:
		return strings.Contains(s, w)
	case store.OpSw:
		return strings.HasPrefix(s, w)
	case store.OpEw:
		return strings.HasSuffix(s, w)
	case store.OpGt:
		return s > w
	case store.OpGe:
		return s >= w
	case store.OpLt:
		return s < w
	case store.OpLe:
		return s <= w
	}
	return false
}

func (h *handler) listUsers(c *call, lp listParams) (result, error) {
	var f store.Filter
	if lp.filter != "" {
		var err error
		if f, err = userFilter(lp.filter); err != nil {
			return result{}, err
		}
	}
	sortBy, err := sortAttr(store.Users, lp.sortBy)
	if err != nil {
		return result{}, err
	}
	var page store.UserPage
	if cmp, ok := f.(store.Compare); ok && cmp.Attr == "userName" && cmp.Op == store.OpEq {
		// The lookup every IdP sends before a create: one indexed read,
		// with the user's groups in the same round trip when they are asked
		// for. userName eq compares the uniqueness key, exactly as the filter
		// does.
		name := cmp.Value.(string)
		var u store.User
		var groups []store.Group
		var err error
		withGroups := lp.proj.wants("groups", false)
		if withGroups {
			u, groups, err = h.st.GetUserByUserNameWithGroups(c.ctx, c.tenant, name)
		} else {
			u, err = h.st.GetUserByUserName(c.ctx, c.tenant, name)
		}
		switch {
		case err == nil:
			if lp.startIndex == 1 && lp.count > 0 {
				view := h.userView(c.base, &u, groups, h.now())
				return listResult(lp, 1, []any{lp.proj.apply(view)}), nil
			}
			page.Total = 1
		case !errors.Is(err, store.ErrNotFound):
			return result{}, err
		}
	} else {
		page, err = h.st.ListUsers(c.ctx, c.tenant, store.UserQuery{Filter: f, StartIndex: lp.startIndex,
			Count: lp.count, SortBy: sortBy, Descending: lp.descending})
		if err != nil {
			return result{}, err
		}
	}
	resources, err := h.userResources(c, lp.proj, page.Users, nil)
	if err != nil {
		return result{}, err
	}
	return listResult(lp, page.Total, resources), nil
}

// userResources renders a page of users, with their groups (returned by
// default, RFC 7643 §4.1.2) loaded in one round trip for the whole page
// unless the projection leaves groups out.
func (h *handler) userResources(c *call, proj projection, users []store.User, resources []any) ([]any, error) {
	if len(users) == 0 {
		return resources, nil
	}
	var groups map[string][]store.Group
	if proj.wants("groups", false) {
		ids := make([]string, len(users))
		for i := range users {
			ids[i] = users[i].ID
		}
		var err error
		if groups, err = h.st.GroupsOfUsers(c.ctx, c.tenant, ids); err != nil {
			return nil, err
		}
	}
	now := h.now()
	for i := range users {
		u := &users[i]
		resources = append(resources, proj.apply(h.userView(c.base, u, groups[u.ID], now)))
	}
	return resources, nil
}

// searchAll is POST /.search across Users and Groups: users first, then
// groups, paged over the concatenation. A filter that does not apply to one
// resource type selects none of it.
func (h *handler) searchAll(c *call, lp listParams) (result, error) {
	var uf, gf store.Filter
	var uerr, gerr error
	if lp.filter != "" {
		uf, uerr = userFilter(lp.filter)
		gf, gerr = parseFilter(store.Groups, lp.filter)
		if uerr != nil && gerr != nil {
			return result{}, uerr
		}
	}
	if lp.sortBy != "" {
		return result{}, badRequest(typeInvalidValue, "sortBy is not supported on a search across resource types")
	}
	total := 0
	var resources []any
	start, count := lp.startIndex, lp.count
	if uerr == nil {
		page, err := h.st.ListUsers(c.ctx, c.tenant, store.UserQuery{Filter: uf, StartIndex: start, Count: count})
		if err != nil {
			return result{}, err
		}
		total += page.Total
		if resources, err = h.userResources(c, lp.proj, page.Users, resources); err != nil {
			return result{}, err
		}
		count -= len(page.Users)
		start = max(1, start-page.Total)
	}
	if gerr == nil {
		page, err := h.st.ListGroups(c.ctx, c.tenant, store.GroupQuery{Filter: gf, StartIndex: start, Count: max(count, 0)})
		if err != nil {
			return result{}, err
		}
		total += page.Total
		return h.groupList(c, lp, total, resources, page.Groups), nil // members streamed (stream.go)
	}
	return listResult(lp, total, resources), nil
}
