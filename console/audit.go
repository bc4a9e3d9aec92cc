package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Audit: the tenant's trail, newest first, each change shown as the fields
// it changed (before struck through, after inserted) rather than as the two
// JSON documents the trail stores; filtered by the person it is about, the
// actor, the action and the days; paged by the API's keyset cursor; and the
// same selection as CSV (the admin API's own export of GET …/audit).

func init() {
	routes = append(routes,
		route{"GET /console/{tenant}/audit", func(c *Console) pageFunc { return c.audit }},
		route{"GET /console/{tenant}/audit/export", func(c *Console) pageFunc { return c.auditExport }},
	)
}

// auditPageSize is how many events one page shows.
const auditPageSize = 50

// auditActions are offered as suggestions in the action filter (any
// action can be typed).
var auditActions = []string{
	"user.created", "user.updated", "user.role_changed", "user.deactivated", "user.reactivated", "user.deleted", "user.signed_in",
	"group.created", "group.updated", "group.deleted",
	"role.created", "role.updated", "role.deleted", "role_mappings.updated",
	"role.privileged_granted", "role.approval_requested", "role.approval_approved", "role.approval_rejected", "role.approval_superseded",
	"tenant.updated", "token.created", "token.revoked", "api_key.created", "api_key.revoked",
	"saml.updated", "saml.deleted", "console_link.created",
	"store.created", "store.updated", "store.deleted",
	"webhook.created", "webhook.deleted", "webhook.enabled", "webhook.disabled", "webhook.delivery_retried",
}

type auditActor struct {
	Kind      string `json:"kind"`
	ID        string `json:"id"`
	Name      string `json:"name"`
	RequestID string `json:"request_id"`
}

type auditEntry struct {
	Seq        int64           `json:"seq"`
	Time       time.Time       `json:"time"`
	Actor      auditActor      `json:"actor"`
	Action     string          `json:"action"`
	TargetType string          `json:"target_type"`
	TargetID   string          `json:"target_id"`
	Detail     string          `json:"detail"`
	Before     json.RawMessage `json:"before"`
	After      json.RawMessage `json:"after"`
}

// auditRow is an event as the page shows it.
type auditRow struct {
	auditEntry
	Target string // the target's name when its record has one
	Change changeSet
}

// auditFilter is the page's filter form: what the person typed, and the
// ids the API filters by.
type auditFilter struct {
	Person, Actor, Action, From, To string
	PersonID, PersonLabel           string
	ActorID, ActorLabel             string
	Cursor                          string
}

type auditData struct {
	F       auditFilter
	Rows    []auditRow
	Next    string
	Actions []string
	Export  string // the CSV link with the filters
	Newest  string // the first page with the filters
}

func (c *Console) audit(w http.ResponseWriter, r *http.Request, p *person) error {
	f := c.auditFilters(r, p)
	d := auditData{F: f, Actions: auditActions}
	d.Newest = tenantPage(p, "/audit?"+f.query(false).Encode())
	d.Export = tenantPage(p, "/audit/export?"+f.query(false).Encode())
	q := f.apiQuery()
	if f.Cursor != "" {
		q.Set("cursor", f.Cursor)
	}
	q.Set("limit", strconv.Itoa(auditPageSize))
	var out struct {
		Events     []auditEntry `json:"events"`
		NextCursor *string      `json:"next_cursor"`
	}
	status, problem := http.StatusOK, ""
	if err := c.call(r.Context(), r, p, http.MethodGet, adminBase(p)+"/audit?"+q.Encode(), nil, &out); err != nil {
		e, ok := refusal(err)
		if !ok || e.Status == http.StatusForbidden {
			return err
		}
		status, problem = e.Status, e.Text()
	}
	names := map[string]string{}
	for _, e := range out.Events {
		row := auditRow{auditEntry: e, Target: targetName(e), Change: diffRecords(e.Before, e.After)}
		if row.Target == "" && e.TargetType == "user" && p.Can("users.view") {
			// A sign-in or a grant carries no record: name the person.
			if _, seen := names[e.TargetID]; !seen {
				var u personHit
				if c.call(r.Context(), r, p, http.MethodGet, adminBase(p)+"/users/"+url.PathEscape(e.TargetID), nil, &u) == nil {
					names[e.TargetID] = u.UserName
				} else {
					names[e.TargetID] = ""
				}
			}
			row.Target = names[e.TargetID]
		}
		d.Rows = append(d.Rows, row)
	}
	if out.NextCursor != nil {
		fq := f.query(false)
		fq.Set("cursor", *out.NextCursor)
		d.Next = tenantPage(p, "/audit?"+fq.Encode())
	}
	c.renderView(w, r, status, "audit", view{P: p, Title: "Audit trail", Nav: "audit", Data: d, Problem: problem})
	return nil
}

// auditExport answers the filtered trail as the admin API's CSV.
func (c *Console) auditExport(w http.ResponseWriter, r *http.Request, p *person) error {
	f := c.auditFilters(r, p)
	q := f.apiQuery()
	q.Set("format", "csv")
	raw, h, err := c.callRaw(r.Context(), r, p, http.MethodGet, adminBase(p)+"/audit?"+q.Encode(), "text/csv", nil)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	cd := h.Get("Content-Disposition")
	if cd == "" {
		cd = `attachment; filename="audit.csv"`
	}
	w.Header().Set("Content-Disposition", cd)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(raw)
	return nil
}

// auditFilters reads the filter form. A person or actor given as a
// userName or email is looked up (GET …/users?q=, when the person may read
// users) and filtered by id; anything else is taken as an id (an API key's,
// "operator").
func (c *Console) auditFilters(r *http.Request, p *person) auditFilter {
	q := r.URL.Query()
	f := auditFilter{Person: strings.TrimSpace(q.Get("person")), Actor: strings.TrimSpace(q.Get("actor")),
		Action: strings.TrimSpace(q.Get("action")), From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")),
		Cursor: q.Get("cursor")}
	f.PersonID, f.PersonLabel = c.resolvePerson(r, p, f.Person)
	f.ActorID, f.ActorLabel = c.resolvePerson(r, p, f.Actor)
	return f
}

func (c *Console) resolvePerson(r *http.Request, p *person, v string) (id, label string) {
	if v == "" || !p.Can("users.view") {
		return v, v
	}
	var out struct {
		Users []personHit `json:"users"`
	}
	if err := c.call(r.Context(), r, p, http.MethodGet, adminBase(p)+"/users?limit=20&q="+url.QueryEscape(v), nil, &out); err == nil {
		for _, u := range out.Users {
			if strings.EqualFold(u.UserName, v) || slices.ContainsFunc(u.Emails, func(e string) bool { return strings.EqualFold(e, v) }) {
				return u.ID, u.UserName
			}
		}
	}
	var u personHit
	if err := c.call(r.Context(), r, p, http.MethodGet, adminBase(p)+"/users/"+url.PathEscape(v), nil, &u); err == nil {
		return u.ID, u.UserName
	}
	return v, v
}

// query is the filter as the page's own query string.
func (f auditFilter) query(cursor bool) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"person": f.Person, "actor": f.Actor, "action": f.Action, "from": f.From, "to": f.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if cursor && f.Cursor != "" {
		q.Set("cursor", f.Cursor)
	}
	return q
}

// apiQuery is the filter in the admin API's terms. The form's "to" is a
// day the person wants included; the API's to is exclusive, so a date
// becomes the next day's midnight.
func (f auditFilter) apiQuery() url.Values {
	q := url.Values{}
	if f.PersonID != "" {
		q.Set("user", f.PersonID)
	}
	if f.ActorID != "" {
		q.Set("actor", f.ActorID)
	}
	if f.Action != "" {
		q.Set("action", f.Action)
	}
	if f.From != "" {
		q.Set("from", f.From)
	}
	if f.To != "" {
		to := f.To
		if d, err := time.Parse(time.DateOnly, to); err == nil {
			to = d.AddDate(0, 0, 1).Format(time.DateOnly)
		}
		q.Set("to", to)
	}
	return q
}

// ---- before → after, field by field ----

// changeSet is what one audited change did to its record.
type changeSet struct {
	Kind  string // "created", "deleted", "changed" or "" (no record)
	Rows  []diffRow
	Quiet int // bookkeeping fields that changed and are not listed
}

// diffRow is one field: a value before and after, or for a list, what was
// kept, removed and added.
type diffRow struct {
	Field             string
	Before, After     string
	HasBefore         bool
	HasAfter          bool
	List              bool
	Kept, Gone, Added []string
}

// bookkeeping fields change with every write; listing them would hide the
// change itself (the CSV export has them).
var bookkeeping = map[string]bool{"meta.lastModified": true, "meta.version": true, "updated_at": true, "updatedAt": true}

func diffRecords(before, after json.RawMessage) changeSet {
	b, okB := flatRecord(before)
	a, okA := flatRecord(after)
	var cs changeSet
	switch {
	case okB && okA:
		cs.Kind = "changed"
	case okA:
		cs.Kind = "created"
	case okB:
		cs.Kind = "deleted"
	default:
		return cs
	}
	keys := map[string]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range a {
		keys[k] = true
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		bv, inB := b[k]
		av, inA := a[k]
		if inB && inA && slices.Equal(bv.items, av.items) && bv.list == av.list {
			continue
		}
		if cs.Kind == "changed" && bookkeeping[k] {
			cs.Quiet++
			continue
		}
		row := diffRow{Field: k, HasBefore: inB, HasAfter: inA}
		if (bv.list || av.list) && !sameItemsReordered(bv.items, av.items) {
			row.List = true
			for _, x := range bv.items {
				if slices.Contains(av.items, x) {
					row.Kept = append(row.Kept, x)
				} else {
					row.Gone = append(row.Gone, x)
				}
			}
			for _, x := range av.items {
				if !slices.Contains(bv.items, x) {
					row.Added = append(row.Added, x)
				}
			}
		} else {
			row.Before, row.After = bv.text(), av.text()
		}
		cs.Rows = append(cs.Rows, row)
	}
	return cs
}

// sameItemsReordered: a list whose items only moved (mappings reordered)
// reads better as the whole list before and after.
func sameItemsReordered(x, y []string) bool {
	if len(x) != len(y) || len(x) < 2 || slices.Equal(x, y) {
		return false
	}
	a, b := slices.Clone(x), slices.Clone(y)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// flatValue is a leaf of a record: one scalar, or a list of items.
type flatValue struct {
	items []string
	list  bool
}

func (v flatValue) text() string {
	if v.list {
		if len(v.items) == 0 {
			return "(none)"
		}
		out := make([]string, len(v.items))
		for i, x := range v.items {
			out[i] = strconv.Itoa(i+1) + ". " + x
		}
		return strings.Join(out, "  ")
	}
	if len(v.items) == 0 {
		return ""
	}
	return v.items[0]
}

// flatRecord flattens a JSON record into dotted field paths; a list is one
// leaf of its items (objects in a list written as "key: value, …").
func flatRecord(raw json.RawMessage) (map[string]flatValue, bool) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return nil, false
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return map[string]flatValue{"(record)": {items: []string{s}}}, true
	}
	out := map[string]flatValue{}
	flatten("", v, out)
	return out, true
}

func flatten(prefix string, v any, out map[string]flatValue) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			name := shortKey(k)
			if prefix != "" {
				name = prefix + "." + k
			}
			flatten(name, e, out)
		}
	case []any:
		items := make([]string, len(x))
		for i, e := range x {
			items[i] = compact(e)
		}
		if prefix == "" {
			prefix = "list"
		}
		out[prefix] = flatValue{items: items, list: true}
	default:
		out[prefix] = flatValue{items: []string{compact(v)}}
	}
}

// shortKey names a SCIM extension by its short name: the roster
// extension's role is "roster.role", not the schema URN's 60 characters.
func shortKey(k string) string {
	if !strings.HasPrefix(k, "urn:") {
		return k
	}
	parts := strings.Split(k, ":")
	for i, p := range parts {
		if p == "extension" && i+1 < len(parts) {
			return parts[i+1]
		}
	}
	return parts[len(parts)-1]
}

// compact writes a JSON value on one line as a person reads it.
func compact(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		return x
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + compact(x[k])
		}
		return strings.Join(parts, ", ")
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = compact(e)
		}
		return "[" + strings.Join(parts, "; ") + "]"
	}
	return fmt.Sprint(v)
}

// targetName is the name in the event's record, when it has one.
func targetName(e auditEntry) string {
	for _, raw := range []json.RawMessage{e.After, e.Before} {
		var m map[string]any
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		for _, k := range []string{"userName", "displayName", "name", "display_name"} {
			if s, ok := m[k].(string); ok && s != "" && s != e.TargetID {
				return s
			}
		}
	}
	return ""
}
