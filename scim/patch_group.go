package scim

// PATCH of a group: displayName, externalId and membership, as row-level member
// operations (store.GroupUpdate), never a rewritten member list.

import (
	"encoding/json"
	"strings"

	"github.com/roster-dev/roster/store"
)

type memberIn struct {
	Value string `json:"value"`
}

// memberIDs decodes a members value: an array of {"value": id} (or a single
// object), every id non-empty.
func memberIDs(raw json.RawMessage) ([]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	ids, err := objectList(raw, func(m memberIn) string { return m.Value }, "")
	if err != nil {
		return nil, badRequest(typeInvalidValue, "members must be an array of objects {\"value\": user id}")
	}
	for _, id := range ids {
		if strings.TrimSpace(id) == "" {
			return nil, badRequest(typeInvalidValue, "every member needs a value: the user's id")
		}
	}
	return ids, nil
}

// memberFilterIDs reads members[value eq "a" or value eq "b"].
func memberFilterIDs(f store.Filter, out []string) ([]string, bool) {
	switch f := f.(type) {
	case store.Or:
		out, ok := memberFilterIDs(f.Left, out)
		if !ok {
			return nil, false
		}
		return memberFilterIDs(f.Right, out)
	case store.Compare:
		s, ok := f.Value.(string)
		if f.Op != store.OpEq || !strings.EqualFold(f.Attr, "value") || !ok {
			return nil, false
		}
		return append(out, s), true
	}
	return nil, false
}

// applyGroupPatch applies PATCH operations to a group inside the update
// transaction; member changes become row-level MemberOps.
func applyGroupPatch(g *store.GroupUpdate, ops []parsedOp) error {
	if err := applyOps(ops, func(op parsedOp) error { return applyGroupOp(g, op) }); err != nil {
		return err
	}
	return checkGroup(&g.Group)
}

func applyGroupOp(g *store.GroupUpdate, op parsedOp) error {
	if op.path == nil {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(op.value, &obj); err != nil {
			return badRequest(typeInvalidValue, "the value of an operation without a path must be an object")
		}
		var keys attrKeys
		for k, v := range obj {
			p, err := pathlessKey(store.Groups, schemaGroup, k, true)
			if err != nil {
				return err
			}
			if err := keys.add(p, k); err != nil {
				return err
			}
			if err := applyGroupPath(g, op.kind, p, v, true); err != nil {
				return err
			}
		}
		return nil
	}
	return applyGroupPath(g, op.kind, op.path, op.value, false)
}

// applyGroupPath applies one operation on one attribute path; pathless: the
// path is a key of a pathless operation's value.
func applyGroupPath(g *store.GroupUpdate, kind opKind, p *patchPath, value json.RawMessage, pathless bool) error {
	switch p.attr {
	case "displayname", "externalid":
		if p.filter != nil || p.sub != "" {
			return unknownAttr(p)
		}
		field := &g.Group.DisplayName
		if p.attr == "externalid" {
			field = &g.Group.ExternalID
		}
		if kind == opRemove && p.attr == "displayname" {
			return badRequest(typeMutability, "displayName is required and cannot be removed")
		}
		return setString(kind, p, value, field)
	case "members":
		if p.sub != "" && p.sub != "value" {
			return unknownAttr(p)
		}
		if p.filter != nil {
			ids, ok := memberFilterIDs(p.filter, nil)
			if !ok {
				return badRequest(typeInvalidFilter, "%s: a member filter may only compare value with eq, joined by or", p.raw)
			}
			if kind != opRemove {
				return badRequest(typeInvalidPath, "%s: add members with path \"members\" and a value list", p.raw)
			}
			for _, id := range ids {
				if strings.TrimSpace(id) == "" {
					return badRequest(typeInvalidFilter, "%s: a member filter compares value with a user's id, not an empty string", p.raw)
				}
			}
			g.Remove(ids...)
			return nil
		}
		ids, err := memberIDs(value)
		if err != nil {
			return err
		}
		switch kind {
		case opAdd:
			if len(ids) > 0 {
				g.Add(ids...)
			}
		case opReplace:
			g.Replace(ids...)
		case opRemove:
			removeMembers(g, value, ids)
		}
		return nil
	case "id", "meta", "schemas":
		return readOnlyAttr(p, pathless)
	}
	return unknownAttr(p)
}
