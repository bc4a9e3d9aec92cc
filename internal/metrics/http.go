package metrics

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Note is what a request's handlers tell the metrics about it while it
// runs; the middleware reads it when the request ends.
type Note struct {
	scimResource, scimOperation string
}

type noteKey struct{}

// Track gives a request's context a Note for its handlers (NoteSCIM) and
// answers it, to be handed to Done. With a nil receiver ctx is unchanged
// and the Note nil.
func (m *Metrics) Track(ctx context.Context) (context.Context, *Note) {
	if m == nil {
		return ctx, nil
	}
	n := &Note{}
	return context.WithValue(ctx, noteKey{}, n), n
}

// SCIM resources and operations (NoteSCIM).
const (
	ResourceUsers     = "Users"
	ResourceGroups    = "Groups"
	ResourceBulk      = "Bulk"
	ResourceSearch    = "search" // POST /.search at the root: every resource type
	ResourceDiscovery = "discovery"
	ResourceOther     = "other"

	OpList    = "list"
	OpSearch  = "search" // POST …/.search
	OpGet     = "get"
	OpCreate  = "create"
	OpReplace = "replace"
	OpPatch   = "patch"
	OpDelete  = "delete"
	OpBulk    = "bulk"
	OpOther   = "other"
)

// NoteSCIM records, on the Note of ctx, which SCIM operation the request
// is (one of the Resource and Op constants); the operation is counted
// with the request's status and IdP kind when it ends. Without a Note
// (metrics off) it does nothing.
func NoteSCIM(ctx context.Context, resource, operation string) {
	if n, ok := ctx.Value(noteKey{}).(*Note); ok && n != nil {
		n.scimResource, n.scimOperation = resource, operation
	}
}

// Done counts a request that ended with status after took: by route
// template (r.Pattern, which net/http's ServeMux sets on the request it
// routes, so r must be the request the mux was given), method and status
// class, its latency by route, and the SCIM operation its Note carries.
func (m *Metrics) Done(r *http.Request, n *Note, status int, took time.Duration) {
	if m == nil {
		return
	}
	code := statusClass(status)
	rs := m.series(reqKey{pattern: r.Pattern, method: method(r.Method), code: code})
	rs.requests.Inc()
	rs.latency.Observe(took.Seconds())
	if n != nil && n.scimOperation != "" {
		k := scimKey{n.scimResource, n.scimOperation, IdPKind(r), code}
		c, ok := m.scimSeries.Load(k)
		if !ok {
			c, _ = m.scimSeries.LoadOrStore(k, m.scimOps.WithLabelValues(k.resource, k.operation, k.idp, k.code))
		}
		c.(prometheus.Counter).Inc()
	}
}

// reqKey is where a request's labels come from: the pattern it matched,
// its method (method) and status class. Patterns are the mux's, methods
// and classes short lists: the keys are bounded.
type reqKey struct{ pattern, method, code string }

type reqSeries struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

type scimKey struct{ resource, operation, idp, code string }

func (m *Metrics) series(k reqKey) *reqSeries {
	if v, ok := m.reqSeries.Load(k); ok {
		return v.(*reqSeries)
	}
	rt := route(k.pattern, k.method)
	v, _ := m.reqSeries.LoadOrStore(k, &reqSeries{
		requests: m.requests.WithLabelValues(rt, k.method, k.code),
		latency:  m.duration.WithLabelValues(rt),
	})
	return v.(*reqSeries)
}

// IdP kinds.
const (
	IdPOkta     = "okta"
	IdPEntra    = "entra"
	IdPOneLogin = "onelogin"
	IdPUnknown  = "unknown"
)

// IdPKind tells which identity provider sent a SCIM request, from what
// each sends on every request (the recorded conversations under
// testdata/idp): Okta's User-Agent names Okta ("Okta SCIM Client 1.0.0",
// "OKTA SCIM Integration"), Entra's is "Microsoft.AAD.Provisioning/…" and
// it adds ?aadOptscim062020 to its requests, OneLogin's names OneLogin.
// Anything else is "unknown". The User-Agent is the client's to choose, so
// this is a label for dashboards, never a decision.
func IdPKind(r *http.Request) string {
	var ua string
	if v := r.Header["User-Agent"]; len(v) > 0 { // the canonical key: no Header.Get canonicalisation per request
		ua = v[0]
	}
	switch {
	case containsFold(ua, "okta"):
		return IdPOkta
	case containsFold(ua, "microsoft.aad"), containsFold(ua, "azure"), containsFold(r.URL.RawQuery, "aadoptscim"):
		return IdPEntra
	case containsFold(ua, "onelogin"):
		return IdPOneLogin
	}
	return IdPUnknown
}

// containsFold says whether s contains the lower-case ASCII word sub in any
// case, without the copy strings.ToLower makes on every request.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
