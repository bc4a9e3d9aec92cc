package store

import "strings"

// The attribute tables: one per SCIM resource, the one place that says what a
// User or a Group attribute is. Everything else is derived from them:
//   - /Schemas (scim/discovery.go adds only the descriptions);
//   - the filter and sortBy whitelist (UserAttrs, GroupAttrs in filter.go);
//   - the PostgreSQL column of a filterable attribute (AttrDef.Column);
//   - the in-memory evaluator's accessor (AttrDef.Get);
//   - the PATCH setter of a simple single-valued string (AttrDef.Field);
//   - through UserStrings, every other place that handles the simple
//     single-valued strings one by one: the SCIM decoder and encoder
//     (scim/user_json.go, scim/encode.go), the length checks (ValidateUser)
//     and the PostgreSQL columns written and read (store/postgres/users.go);
//     the audit view (audit.go) mirrors them by hand, held to them by tests.
//
// Attributes whose semantics are special (name as a whole, manager, the
// multi-valued attributes, members, roles, the Roster extension's role) keep
// explicit code where they are read or written; the table still declares them.

// The schemas an attribute belongs to. The filter names of the extensions'
// attributes carry the prefix ("enterprise.costCenter"); the SCIM layer maps
// the URNs to it.
const (
	SchemaCore       = ""
	SchemaEnterprise = "enterprise"
	SchemaRoster     = "roster"
)

// SCIM attribute characteristics (RFC 7643 §2.2, §7).
const (
	ReadWrite = "readWrite"
	ReadOnly  = "readOnly"
	WriteOnly = "writeOnly"

	ReturnedDefault = "default"
	ReturnedAlways  = "always"
	ReturnedNever   = "never"
)

// AttrDef is one attribute of a resource R (User or Group).
type AttrDef[R any] struct {
	Name       string
	Schema     string // SchemaCore, SchemaEnterprise or SchemaRoster
	Type       string // SCIM type: string, boolean, dateTime, reference, complex
	Multi      bool
	Required   bool
	CaseExact  bool
	Mutability string
	Returned   string
	Uniqueness string
	Canonical  []string
	RefTypes   []string
	Sub        []AttrDef[R]
	// Common marks an RFC 7643 §3.1 common attribute (meta): filterable,
	// never declared in /Schemas.
	Common bool

	// Filterable: the attribute may appear in a filter and, single-valued,
	// in sortBy. Its filter type follows from Type and CaseExact.
	Filterable bool
	// Column is the PostgreSQL expression of a filterable attribute, under
	// the alias u (users) or g (groups); for a sub-attribute of a
	// multi-valued attribute, under the alias of the value (e or m). A
	// simple string that is not filterable names its column too (u.<column>):
	// the PostgreSQL store writes and reads every one of them by it.
	Column string
	// Get reads a filterable single-valued attribute for the in-memory
	// evaluator: string, bool or *time.Time (a string with a Field needs
	// none).
	Get func(*R) any
	// Field is the writable string of a simple single-valued string
	// attribute: PATCH sets it through this.
	Field func(*R) *string
}

// filterName is an attribute's name in a Filter: the extension prefix, the
// parent (for a sub-attribute of a single-valued complex one) and the name.
func filterName(schema, parent, name string) string {
	n := name
	if parent != "" {
		n = parent + "." + name
	}
	if schema != SchemaCore {
		n = schema + "." + n
	}
	return n
}

func attr[R any](name string) AttrDef[R] {
	return AttrDef[R]{Name: name, Type: "string", Mutability: ReadWrite, Returned: ReturnedDefault, Uniqueness: "none"}
}

func (a AttrDef[R]) in(schema string) AttrDef[R] {
	a.Schema = schema
	return a
}
func (a AttrDef[R]) typ(t string) AttrDef[R]         { a.Type = t; return a }
func (a AttrDef[R]) req() AttrDef[R]                 { a.Required = true; return a }
func (a AttrDef[R]) exact() AttrDef[R]               { a.CaseExact = true; return a }
func (a AttrDef[R]) multi() AttrDef[R]               { a.Multi = true; return a }
func (a AttrDef[R]) ro() AttrDef[R]                  { a.Mutability = ReadOnly; return a }
func (a AttrDef[R]) always() AttrDef[R]              { a.Returned = ReturnedAlways; return a }
func (a AttrDef[R]) unique(u string) AttrDef[R]      { a.Uniqueness = u; return a }
func (a AttrDef[R]) canon(v ...string) AttrDef[R]    { a.Canonical = v; return a }
func (a AttrDef[R]) refs(r ...string) AttrDef[R]     { a.RefTypes = r; return a }
func (a AttrDef[R]) subs(s ...AttrDef[R]) AttrDef[R] { a.Type = "complex"; a.Sub = s; return a }
func (a AttrDef[R]) get(f func(*R) any) AttrDef[R]   { a.Get = f; return a }
func (a AttrDef[R]) filter(column string) AttrDef[R] { a.Filterable, a.Column = true, column; return a }
func (a AttrDef[R]) column(column string) AttrDef[R] { a.Column = column; return a }
func (a AttrDef[R]) field(f func(*R) *string) AttrDef[R] {
	a.Field = f
	return a
}

// multiValuedSubs are the sub-attributes of emails, phoneNumbers and roles,
// filterable on the JSON element e.
func multiValuedSubs[R any](types ...string) []AttrDef[R] {
	return []AttrDef[R]{
		attr[R]("value").filter(`coalesce(e.value ->> 'value', '')`),
		attr[R]("display").filter(`coalesce(e.value ->> 'display', '')`),
		attr[R]("type").canon(types...).filter(`coalesce(e.value ->> 'type', '')`),
		attr[R]("primary").typ("boolean").filter(`coalesce((e.value ->> 'primary')::boolean, false)`),
	}
}

func metaAttr[R any](created, lastModified func(*R) any, alias string) AttrDef[R] {
	m := attr[R]("meta").ro().subs(
		attr[R]("created").typ("dateTime").ro().filter(alias+".created_at").get(created),
		attr[R]("lastModified").typ("dateTime").ro().filter(alias+".updated_at").get(lastModified),
	)
	m.Common = true
	return m
}

// UserSchema is the User resource: the core schema, then the enterprise and
// Roster extensions, in the order /Schemas declares them.
var UserSchema = []AttrDef[User]{
	attr[User]("id").exact().ro().always().unique("server").filter("u.id").get(func(u *User) any { return u.ID }),
	attr[User]("externalId").exact().filter("u.external_id").field(func(u *User) *string { return &u.ExternalID }),
	attr[User]("userName").req().unique("server").filter("u.user_name").field(func(u *User) *string { return &u.UserName }),
	attr[User]("name").subs(
		attr[User]("formatted").filter("u.name_formatted").field(func(u *User) *string { return &u.Name.Formatted }),
		attr[User]("familyName").filter("u.name_family").field(func(u *User) *string { return &u.Name.FamilyName }),
		attr[User]("givenName").filter("u.name_given").field(func(u *User) *string { return &u.Name.GivenName }),
		attr[User]("middleName").column("u.name_middle").field(func(u *User) *string { return &u.Name.MiddleName }),
		attr[User]("honorificPrefix").column("u.name_honorific_prefix").field(func(u *User) *string { return &u.Name.HonorificPrefix }),
		attr[User]("honorificSuffix").column("u.name_honorific_suffix").field(func(u *User) *string { return &u.Name.HonorificSuffix })),
	attr[User]("displayName").filter("u.display_name").field(func(u *User) *string { return &u.DisplayName }),
	attr[User]("nickName").filter("u.nick_name").field(func(u *User) *string { return &u.NickName }),
	attr[User]("profileUrl").typ("reference").refs("external").column("u.profile_url").field(func(u *User) *string { return &u.ProfileURL }),
	attr[User]("title").filter("u.title").field(func(u *User) *string { return &u.Title }),
	attr[User]("userType").filter("u.user_type").field(func(u *User) *string { return &u.UserType }),
	attr[User]("preferredLanguage").filter("u.preferred_language").field(func(u *User) *string { return &u.PreferredLanguage }),
	attr[User]("locale").filter("u.locale").field(func(u *User) *string { return &u.Locale }),
	attr[User]("timezone").filter("u.timezone").field(func(u *User) *string { return &u.Timezone }),
	attr[User]("active").typ("boolean").filter("u.active").get(func(u *User) any { return u.Active }),
	{Name: "password", Type: "string", Mutability: WriteOnly, Returned: ReturnedNever, Uniqueness: "none"},
	attr[User]("emails").multi().subs(multiValuedSubs[User]("work", "home", "other")...).filter("u.emails"),
	attr[User]("phoneNumbers").multi().subs(multiValuedSubs[User]("work", "home", "mobile", "fax", "pager", "other")...).filter("u.phone_numbers"),
	attr[User]("addresses").multi().subs(
		attr[User]("formatted"), attr[User]("streetAddress"), attr[User]("locality"),
		attr[User]("region"), attr[User]("postalCode"), attr[User]("country"),
		attr[User]("type").canon("work", "home", "other"), attr[User]("primary").typ("boolean")),
	attr[User]("roles").multi().subs(multiValuedSubs[User]()...).filter("u.scim_roles"),
	attr[User]("groups").multi().ro().subs(
		attr[User]("value").ro(), attr[User]("$ref").typ("reference").refs("Group").ro(),
		attr[User]("display").ro(), attr[User]("type").ro().canon("direct")),
	metaAttr(func(u *User) any { return &u.CreatedAt }, func(u *User) any { return &u.UpdatedAt }, "u"),

	attr[User]("employeeNumber").in(SchemaEnterprise).filter("u.ent_employee_number").field(func(u *User) *string { return &u.Enterprise.EmployeeNumber }),
	attr[User]("costCenter").in(SchemaEnterprise).filter("u.ent_cost_center").field(func(u *User) *string { return &u.Enterprise.CostCenter }),
	attr[User]("organization").in(SchemaEnterprise).filter("u.ent_organization").field(func(u *User) *string { return &u.Enterprise.Organization }),
	attr[User]("division").in(SchemaEnterprise).filter("u.ent_division").field(func(u *User) *string { return &u.Enterprise.Division }),
	attr[User]("department").in(SchemaEnterprise).filter("u.ent_department").field(func(u *User) *string { return &u.Enterprise.Department }),
	attr[User]("manager").in(SchemaEnterprise).subs(
		attr[User]("value").exact().filter("u.ent_manager_id").get(func(u *User) any { return u.Enterprise.ManagerID }),
		attr[User]("$ref").typ("reference").refs("User").ro()),

	attr[User]("role").in(SchemaRoster).filter("u.role").get(func(u *User) any { return u.Role }),
	attr[User]("stores").in(SchemaRoster).exact().multi(),
	attr[User]("accessExpiresAt").in(SchemaRoster).typ("dateTime").filter("u.access_expires_at").get(func(u *User) any { return u.AccessExpiresAt }),
	attr[User]("lastActiveAt").in(SchemaRoster).typ("dateTime").ro().filter("u.last_active_at").get(func(u *User) any { return u.LastActiveAt }),
	attr[User]("seat").in(SchemaRoster).ro().canon("consumed", "light", "none"),
}

// GroupSchema is the Group resource, in the order /Schemas declares it.
var GroupSchema = []AttrDef[Group]{
	attr[Group]("id").exact().ro().always().unique("server").filter("g.id").get(func(g *Group) any { return g.ID }),
	attr[Group]("externalId").exact().filter("g.external_id").get(func(g *Group) any { return g.ExternalID }),
	attr[Group]("displayName").req().unique("server").filter("g.display_name").get(func(g *Group) any { return g.DisplayName }),
	attr[Group]("members").multi().subs(
		// m is a group_members row, mu the member's users row.
		attr[Group]("value").exact().refs("User").filter("m.user_id"),
		attr[Group]("$ref").typ("reference").refs("User").ro(),
		attr[Group]("display").ro().filter(`case when mu.display_name <> '' then mu.display_name else mu.user_name end`),
		attr[Group]("type").ro().canon("User")).filter(""), // the members subquery is store/postgres's (groupsTable.multi)
	metaAttr(func(g *Group) any { return &g.CreatedAt }, func(g *Group) any { return &g.UpdatedAt }, "g"),
}

// StringAttr is a simple single-valued string attribute of a table: one
// with a Field, with what the layers that handle it one by one need of its
// AttrDef (a small struct: they loop over all of them for every user).
type StringAttr[R any] struct {
	Name   string
	Schema string
	// Parent is the single-valued complex attribute it belongs to ("name"),
	// "" for one at the top of its schema.
	Parent string
	// Path is the attribute's name as an error names it: parent.name for
	// a sub-attribute (name.givenName), else its name (an extension's
	// without the prefix, as its own object holds it).
	Path     string
	Required bool
	Column   string
	Field    func(*R) *string
}

// UserStrings are the simple single-valued strings of UserSchema, in its
// order: the core ones, name's sub-attributes among them, then the
// enterprise extension's.
var UserStrings = stringAttrs(UserSchema)

func stringAttrs[R any](schema []AttrDef[R]) []StringAttr[R] {
	var out []StringAttr[R]
	for _, a := range schema {
		if a.Field != nil {
			out = append(out, stringAttr(a, ""))
		}
		if a.Multi {
			continue
		}
		for _, s := range a.Sub {
			if s.Field != nil {
				out = append(out, stringAttr(s, a.Name))
			}
		}
	}
	return out
}

func stringAttr[R any](a AttrDef[R], parent string) StringAttr[R] {
	path := a.Name
	if parent != "" {
		path = parent + "." + a.Name
	}
	return StringAttr[R]{Name: a.Name, Schema: a.Schema, Parent: parent, Path: path, Required: a.Required, Column: a.Column, Field: a.Field}
}

// userString reads a string attribute through its setter. Not generic: the
// in-memory evaluator calls it for every user a filter scans.
func userString(f func(*User) *string) func(*User) any {
	return func(u *User) any { return *f(u) }
}

// filterType is the filter type of a filterable attribute.
func filterType[R any](a AttrDef[R]) AttrType {
	switch {
	case a.Multi:
		return TypeMulti
	case a.Type == "boolean":
		return TypeBool
	case a.Type == "dateTime":
		return TypeTime
	case a.CaseExact:
		return TypeExactString
	}
	return TypeString
}

// filterTable derives the filter whitelist of a resource from its schema:
// every filterable attribute under its filter name, keyed by lower-case name.
func filterTable[R any](schema []AttrDef[R]) map[string]Attr {
	m := map[string]Attr{}
	add := func(name string, a AttrDef[R]) {
		fa := Attr{Name: name, Type: filterType(a), Access: &Access{Column: a.Column}}
		switch get := any(a.Get).(type) {
		case func(*User) any:
			fa.UserValue = get
		case func(*Group) any:
			fa.GroupValue = get
		}
		if f, ok := any(a.Field).(func(*User) *string); ok && f != nil && fa.UserValue == nil {
			fa.UserValue = userString(f)
		}
		if a.Multi {
			fa.Sub = map[string]Attr{}
			for _, s := range a.Sub {
				if s.Filterable {
					fa.Sub[strings.ToLower(s.Name)] = Attr{Name: s.Name, Type: filterType(s), Access: &Access{Column: s.Column}}
				}
			}
		}
		m[strings.ToLower(name)] = fa
	}
	for _, a := range schema {
		switch {
		case a.Filterable:
			add(filterName(a.Schema, "", a.Name), a)
		case a.Type == "complex" && !a.Multi:
			for _, s := range a.Sub {
				if s.Filterable {
					add(filterName(a.Schema, a.Name, s.Name), s)
				}
			}
		}
	}
	return m
}
