package scim

import (
	"net/http"
	"strings"
)

// Discovery (RFC 7644 §4): ServiceProviderConfig, ResourceTypes and Schemas
// advertise exactly what this package implements.

const (
	schemaSPC          = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	schemaResourceType = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	schemaSchema       = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	maxBulkOperations  = 1000
)

type discovery struct {
	schemas []*schemaDef
}

type attrDef struct {
	Name            string     `json:"name"`
	Type            string     `json:"type"`
	MultiValued     bool       `json:"multiValued"`
	Description     string     `json:"description,omitempty"`
	Required        bool       `json:"required"`
	CanonicalValues []string   `json:"canonicalValues,omitempty"`
	CaseExact       bool       `json:"caseExact"`
	Mutability      string     `json:"mutability"`
	Returned        string     `json:"returned"`
	Uniqueness      string     `json:"uniqueness"`
	ReferenceTypes  []string   `json:"referenceTypes,omitempty"`
	SubAttributes   []*attrDef `json:"subAttributes,omitempty"`
}

type schemaDef struct {
	Schemas     []string   `json:"schemas"`
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Attributes  []*attrDef `json:"attributes"`
	Meta        *metaRef   `json:"meta,omitempty"`
}

type metaRef struct {
	ResourceType string `json:"resourceType"`
	Location     string `json:"location"`
}

// attribute builders
func str(name, desc string) *attrDef {
	return &attrDef{Name: name, Type: "string", Description: desc, Mutability: "readWrite", Returned: "default", Uniqueness: "none"}
}

func (a *attrDef) req() *attrDef            { a.Required = true; return a }
func (a *attrDef) exact() *attrDef          { a.CaseExact = true; return a }
func (a *attrDef) multi() *attrDef          { a.MultiValued = true; return a }
func (a *attrDef) ro() *attrDef             { a.Mutability = "readOnly"; return a }
func (a *attrDef) always() *attrDef         { a.Returned = "always"; return a }
func (a *attrDef) typ(t string) *attrDef    { a.Type = t; return a }
func (a *attrDef) unique(u string) *attrDef { a.Uniqueness = u; return a }
func (a *attrDef) canon(v ...string) *attrDef {
	a.CanonicalValues = v
	return a
}
func (a *attrDef) refs(r ...string) *attrDef { a.ReferenceTypes = r; return a }
func (a *attrDef) subs(s ...*attrDef) *attrDef {
	a.Type = "complex"
	a.SubAttributes = s
	return a
}

func multiValuedSubs(types ...string) []*attrDef {
	return []*attrDef{
		str("value", "The value."),
		str("display", "A human-readable name."),
		str("type", "A label indicating the value's function.").canon(types...),
		str("primary", "The primary or preferred value.").typ("boolean"),
	}
}

func buildDiscovery() discovery {
	user := &schemaDef{ID: schemaUser, Name: "User", Description: "User Account", Attributes: []*attrDef{
		str("id", "Unique identifier assigned by Roster.").exact().ro().always().unique("server"),
		str("externalId", "Identifier of the user in the provisioning client.").exact(),
		str("userName", "Unique identifier of the user in the tenant, compared case-insensitively.").req().unique("server"),
		str("name", "The components of the user's name.").subs(
			str("formatted", "The full name."), str("familyName", "The family name."),
			str("givenName", "The given name."), str("middleName", "The middle name."),
			str("honorificPrefix", "The honorific prefix."), str("honorificSuffix", "The honorific suffix.")),
		str("displayName", "The name displayed to end-users."),
		str("nickName", "The casual name."),
		str("profileUrl", "A URI of the user's online profile.").typ("reference").refs("external"),
		str("title", "The user's title."),
		str("userType", "The relationship to the organisation; \"External\" users carry accessExpiresAt."),
		str("preferredLanguage", "Preferred language (RFC 7231 Accept-Language)."),
		str("locale", "Default location for localisation."),
		str("timezone", "Time zone in IANA form."),
		str("active", "Whether the user may sign in and holds a seat; removing it deactivates the user.").typ("boolean"),
		{Name: "password", Type: "string", Description: "Accepted and never stored.", Mutability: "writeOnly", Returned: "never", Uniqueness: "none"},
		str("emails", "Email addresses.").multi().subs(multiValuedSubs("work", "home", "other")...),
		str("phoneNumbers", "Phone numbers.").multi().subs(multiValuedSubs("work", "home", "mobile", "fax", "pager", "other")...),
		str("addresses", "Physical mailing addresses.").multi().subs(
			str("formatted", "The full address."), str("streetAddress", "Street."), str("locality", "City."),
			str("region", "State or region."), str("postalCode", "Postal code."), str("country", "Country (ISO 3166-1 alpha-2)."),
			str("type", "The kind of address.").canon("work", "home", "other"), str("primary", "The primary address.").typ("boolean")),
		str("roles", "The user's role: one primary value, the role the user holds, with the display and type sent with it. roles.type and roles.display cannot be filtered.").multi().subs(multiValuedSubs()...),
		str("groups", "The groups (teams) the user belongs to; change them on the Group.").multi().ro().subs(
			str("value", "The group's id.").ro(), str("$ref", "The group's URI.").typ("reference").refs("Group").ro(),
			str("display", "The group's displayName.").ro(), str("type", "direct").ro().canon("direct")),
	}}
	group := &schemaDef{ID: schemaGroup, Name: "Group", Description: "Group (a team)", Attributes: []*attrDef{
		str("id", "Unique identifier assigned by Roster.").exact().ro().always().unique("server"),
		str("externalId", "Identifier of the group in the provisioning client.").exact(),
		str("displayName", "The group's name, unique in the tenant.").req().unique("server"),
		str("members", "The members of the group.").multi().subs(
			str("value", "The member's id.").exact().refs("User"), str("$ref", "The member's URI.").typ("reference").refs("User").ro(),
			str("display", "The member's displayName.").ro(), str("type", "User").ro().canon("User")),
	}}
	enterprise := &schemaDef{ID: schemaEnterprise, Name: "EnterpriseUser", Description: "Enterprise User", Attributes: []*attrDef{
		str("employeeNumber", "Employee number."), str("costCenter", "Cost center."),
		str("organization", "Organisation."), str("division", "Division."), str("department", "Department."),
		str("manager", "The user's manager: {\"value\": id}; a bare id is accepted, \"\" removes it.").subs(
			str("value", "The manager's id.").exact(), str("$ref", "The manager's URI.").typ("reference").refs("User").ro()),
	}}
	roster := &schemaDef{ID: schemaRoster, Name: "RosterUser", Description: "Roster user extension", Attributes: []*attrDef{
		str("role", "The role the user holds: admin, supervisor, agent or a custom role. On write, the role the IdP assigns; read, the role in force."),
		str("stores", "The stores the user may see, by store id (compared exactly, as the store catalogue does).").exact().multi(),
		str("accessExpiresAt", "When an external user's access ends.").typ("dateTime"),
		str("lastActiveAt", "The user's last sign-in.").typ("dateTime").ro(),
		str("seat", "The seat the user holds.").ro().canon("consumed", "light", "none"),
	}}
	return discovery{schemas: []*schemaDef{user, group, enterprise, roster}}
}

type spcOut struct {
	Schemas               []string      `json:"schemas"`
	DocumentationURI      string        `json:"documentationUri,omitempty"`
	Patch                 supported     `json:"patch"`
	Bulk                  bulkSupport   `json:"bulk"`
	Filter                filterSupport `json:"filter"`
	ChangePassword        supported     `json:"changePassword"`
	Sort                  supported     `json:"sort"`
	ETag                  supported     `json:"etag"`
	AuthenticationSchemes []authScheme  `json:"authenticationSchemes"`
	Meta                  metaRef       `json:"meta"`
}

type supported struct {
	Supported bool `json:"supported"`
}

type bulkSupport struct {
	Supported      bool `json:"supported"`
	MaxOperations  int  `json:"maxOperations"`
	MaxPayloadSize int  `json:"maxPayloadSize"`
}

type filterSupport struct {
	Supported  bool `json:"supported"`
	MaxResults int  `json:"maxResults"`
}

type authScheme struct {
	Type        string `json:"type"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Primary     bool   `json:"primary"`
}

type resourceTypeOut struct {
	Schemas          []string       `json:"schemas"`
	ID               string         `json:"id"`
	Name             string         `json:"name"`
	Endpoint         string         `json:"endpoint"`
	Description      string         `json:"description"`
	Schema           string         `json:"schema"`
	SchemaExtensions []schemaExtOut `json:"schemaExtensions,omitempty"`
	Meta             metaRef        `json:"meta"`
}

type schemaExtOut struct {
	Schema   string `json:"schema"`
	Required bool   `json:"required"`
}

func (d discovery) spc(c *call) *spcOut {
	return &spcOut{
		Schemas: []string{schemaSPC},
		Patch:   supported{true},
		Bulk:    bulkSupport{Supported: true, MaxOperations: maxBulkOperations, MaxPayloadSize: MaxBodyBytes},
		Filter:  filterSupport{Supported: true, MaxResults: maxCount},
		Sort:    supported{true},
		ETag:    supported{true},
		AuthenticationSchemes: []authScheme{{Type: "oauthbearertoken", Name: "OAuth Bearer Token",
			Description: "The tenant's SCIM token, created with POST /admin/v1/tenants/{id}/tokens, sent as Authorization: Bearer <token>.", Primary: true}},
		Meta: metaRef{ResourceType: "ServiceProviderConfig", Location: c.base + "/ServiceProviderConfig"},
	}
}

func (d discovery) resourceTypes(c *call) []*resourceTypeOut {
	return []*resourceTypeOut{
		{Schemas: []string{schemaResourceType}, ID: "User", Name: "User", Endpoint: "/Users", Description: "User Account",
			Schema: schemaUser, SchemaExtensions: []schemaExtOut{{Schema: schemaEnterprise}, {Schema: schemaRoster}},
			Meta: metaRef{ResourceType: "ResourceType", Location: c.base + "/ResourceTypes/User"}},
		{Schemas: []string{schemaResourceType}, ID: "Group", Name: "Group", Endpoint: "/Groups", Description: "Group (a team)",
			Schema: schemaGroup, Meta: metaRef{ResourceType: "ResourceType", Location: c.base + "/ResourceTypes/Group"}},
	}
}

func (d discovery) schemaList(c *call) []*schemaDef {
	out := make([]*schemaDef, len(d.schemas))
	for i, s := range d.schemas {
		cp := *s
		cp.Schemas = []string{schemaSchema}
		cp.Meta = &metaRef{ResourceType: "Schema", Location: c.base + "/Schemas/" + s.ID}
		out[i] = &cp
	}
	return out
}

func (d discovery) serve(c *call, head, id string) (result, error) {
	switch {
	case strings.EqualFold(head, "ServiceProviderConfig"):
		if id != "" {
			break
		}
		return result{status: http.StatusOK, v: d.spc(c)}, nil
	case strings.EqualFold(head, "ResourceTypes"):
		return discoveryAnswer(d.resourceTypes(c), id, "ResourceType", func(rt *resourceTypeOut) string { return rt.ID })
	case strings.EqualFold(head, "Schemas"):
		return discoveryAnswer(d.schemaList(c), id, "Schema", func(s *schemaDef) string { return s.ID })
	}
	return result{}, Error{Status: http.StatusNotFound, Detail: "no SCIM endpoint at this path"}
}

// discoveryAnswer answers /ResourceTypes or /Schemas: without an id, a list
// response of all items; with one, the item of that id (what names the kind
// of item in the 404).
func discoveryAnswer[T any](items []T, id, what string, idOf func(T) string) (result, error) {
	if id == "" {
		list := make([]any, len(items))
		for i, it := range items {
			list[i] = it
		}
		return result{status: http.StatusOK, v: &listOut{Schemas: schemasList, TotalResults: len(list), ItemsPerPage: len(list), StartIndex: 1, Resources: list}}, nil
	}
	for _, it := range items {
		if strings.EqualFold(idOf(it), id) {
			return result{status: http.StatusOK, v: it}, nil
		}
	}
	return result{}, notFound(what, id)
}
