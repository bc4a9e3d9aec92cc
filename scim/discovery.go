package scim

import (
	"net/http"
	"strings"

	"github.com/roster-dev/roster/store"
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

// The attributes /Schemas declares come from the attribute tables
// (store.UserSchema, store.GroupSchema); this file adds only the
// descriptions, which are SCIM's to word.

// Descriptions by attribute path within its schema ("name.givenName",
// "manager.value"). A sub-attribute of emails, phoneNumbers or roles not
// listed falls back to multiValuedDesc.
var (
	userDesc = map[string]string{
		"id":                      "Unique identifier assigned by Roster.",
		"externalId":              "Identifier of the user in the provisioning client.",
		"userName":                "Unique identifier of the user in the tenant, compared case-insensitively.",
		"name":                    "The components of the user's name.",
		"name.formatted":          "The full name.",
		"name.familyName":         "The family name.",
		"name.givenName":          "The given name.",
		"name.middleName":         "The middle name.",
		"name.honorificPrefix":    "The honorific prefix.",
		"name.honorificSuffix":    "The honorific suffix.",
		"displayName":             "The name displayed to end-users.",
		"nickName":                "The casual name.",
		"profileUrl":              "A URI of the user's online profile.",
		"title":                   "The user's title.",
		"userType":                "The relationship to the organisation; \"External\" users carry accessExpiresAt.",
		"preferredLanguage":       "Preferred language (RFC 7231 Accept-Language).",
		"locale":                  "Default location for localisation.",
		"timezone":                "Time zone in IANA form.",
		"active":                  "Whether the user may sign in and holds a seat; removing it deactivates the user.",
		"password":                "Accepted and never stored.",
		"emails":                  "Email addresses.",
		"phoneNumbers":            "Phone numbers.",
		"addresses":               "Physical mailing addresses.",
		"addresses.formatted":     "The full address.",
		"addresses.streetAddress": "Street.",
		"addresses.locality":      "City.",
		"addresses.region":        "State or region.",
		"addresses.postalCode":    "Postal code.",
		"addresses.country":       "Country (ISO 3166-1 alpha-2).",
		"addresses.type":          "The kind of address.",
		"addresses.primary":       "The primary address.",
		"roles":                   "The user's role: one primary value, the role the user holds, with the display and type sent with it. roles.type and roles.display cannot be filtered.",
		"groups":                  "The groups (teams) the user belongs to; change them on the Group.",
		"groups.value":            "The group's id.",
		"groups.$ref":             "The group's URI.",
		"groups.display":          "The group's displayName.",
		"groups.type":             "direct",
	}
	groupDesc = map[string]string{
		"id":              "Unique identifier assigned by Roster.",
		"externalId":      "Identifier of the group in the provisioning client.",
		"displayName":     "The group's name, unique in the tenant.",
		"members":         "The members of the group.",
		"members.value":   "The member's id.",
		"members.$ref":    "The member's URI.",
		"members.display": "The member's displayName.",
		"members.type":    "User",
	}
	enterpriseDesc = map[string]string{
		"employeeNumber": "Employee number.",
		"costCenter":     "Cost center.",
		"organization":   "Organisation.",
		"division":       "Division.",
		"department":     "Department.",
		"manager":        "The user's manager: {\"value\": id}; a bare id is accepted, \"\" removes it.",
		"manager.value":  "The manager's id.",
		"manager.$ref":   "The manager's URI.",
	}
	rosterDesc = map[string]string{
		"role":            "The role the user holds: admin, supervisor, agent or a custom role. On write, the role the IdP assigns; read, the role in force.",
		"stores":          "The stores the user may see, by store id (compared exactly, as the store catalogue does).",
		"accessExpiresAt": "When an external user's access ends.",
		"lastActiveAt":    "The user's last sign-in.",
		"seat":            "The seat the user holds.",
	}
	multiValuedDesc = map[string]string{
		"value":   "The value.",
		"display": "A human-readable name.",
		"type":    "A label indicating the value's function.",
		"primary": "The primary or preferred value.",
	}
)

// declare turns the attributes of one schema of a resource's table into
// /Schemas declarations. A missing description panics at start-up: every
// declared attribute has one (TestGolden_discovery would show it anyway).
func declare[R any](attrs []store.AttrDef[R], schema string, desc map[string]string) []*attrDef {
	var out []*attrDef
	for _, a := range attrs {
		if a.Schema != schema || a.Common {
			continue
		}
		out = append(out, declared(a, "", desc))
	}
	return out
}

func declared[R any](a store.AttrDef[R], parent string, desc map[string]string) *attrDef {
	path := a.Name
	if parent != "" {
		path = parent + "." + a.Name
	}
	d, ok := desc[path]
	if !ok && parent != "" {
		d, ok = multiValuedDesc[a.Name]
	}
	if !ok {
		panic("scim: no /Schemas description for " + path)
	}
	out := &attrDef{Name: a.Name, Type: a.Type, MultiValued: a.Multi, Description: d, Required: a.Required,
		CanonicalValues: a.Canonical, CaseExact: a.CaseExact, Mutability: a.Mutability, Returned: a.Returned,
		Uniqueness: a.Uniqueness, ReferenceTypes: a.RefTypes}
	for _, s := range a.Sub {
		out.SubAttributes = append(out.SubAttributes, declared(s, path, desc))
	}
	return out
}

func buildDiscovery() discovery {
	user := &schemaDef{ID: schemaUser, Name: "User", Description: "User Account",
		Attributes: declare(store.UserSchema, store.SchemaCore, userDesc)}
	group := &schemaDef{ID: schemaGroup, Name: "Group", Description: "Group (a team)",
		Attributes: declare(store.GroupSchema, store.SchemaCore, groupDesc)}
	enterprise := &schemaDef{ID: schemaEnterprise, Name: "EnterpriseUser", Description: "Enterprise User",
		Attributes: declare(store.UserSchema, store.SchemaEnterprise, enterpriseDesc)}
	roster := &schemaDef{ID: schemaRoster, Name: "RosterUser", Description: "Roster user extension",
		Attributes: declare(store.UserSchema, store.SchemaRoster, rosterDesc)}
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
