package scim

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
	var list []memberIn
	switch firstByte(raw) {
	case '{':
		var one memberIn
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, badRequest(typeInvalidValue, "members must be an array of objects {\"value\": user id}")
		}
		list = []memberIn{one}
	default:
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, badRequest(typeInvalidValue, "members must be an array of objects {\"value\": user id}")
		}
	}
	ids := make([]string, 0, len(list))
	for _, m := range list {
		if strings.TrimSpace(m.Value) == "" {
			return nil, badRequest(typeInvalidValue, "every member needs a value: the user's id")
		}
		ids = append(ids, m.Value)
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
	for i, op := range ops {
		if err := applyGroupOp(g, op); err != nil {
			if e, ok := err.(Error); ok && len(ops) > 1 {
				e.Detail = "operation " + itoa(i+1) + ": " + e.Detail
				return e
			}
			return err
		}
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
			p, err := parsePatchPath(store.Groups, k)
			if err != nil {
				return err
			}
			if err := keys.add(p, k); err != nil {
				return err
			}
			switch p.attr {
			case "id", "meta", "schemas":
				continue // Okta sends the id inside a rename
			}
			if err := applyGroupPath(g, op.kind, p, v); err != nil {
				return err
			}
		}
		return nil
	}
	return applyGroupPath(g, op.kind, op.path, op.value)
}

func applyGroupPath(g *store.GroupUpdate, kind opKind, p *patchPath, value json.RawMessage) error {
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
			if isNull(value) {
				g.Replace() // no value: remove every member (RFC 7644 §3.5.2.2)
			} else if len(ids) > 0 {
				g.Remove(ids...) // Entra and OneLogin: remove only the listed members
			}
		}
		return nil
	case "id", "meta", "schemas":
		return badRequest(typeMutability, "%s is read-only and cannot be changed", p.raw)
	}
	return unknownAttr(p)
}
