package admin

// OpenAPIPath is where the API's description is served.
const OpenAPIPath = openAPIPath

// RouteNeeds is the route table as registered: pattern → "operator", a
// permission flag, or "" (any credential of the tenant).
func (a *API) RouteNeeds() map[string]string {
	out := map[string]string{}
	for _, r := range a.routes {
		switch {
		case r.need.operatorOnly:
			out[r.pattern] = "operator"
		default:
			out[r.pattern] = r.need.perm
		}
	}
	return out
}
