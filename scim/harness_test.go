package scim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/internal/requestid"
	"github.com/roster-dev/roster/scim"
	"github.com/roster-dev/roster/scimauth"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	tenantID = "acme"
	baseURL  = "https://roster.example.com"
	base     = baseURL + "/scim/v2/" + tenantID
)

// backends are the stores every SCIM test runs against.
var backends = []struct {
	name string
	open func(t testing.TB, now func() time.Time) store.Store
}{
	{"memory", func(_ testing.TB, now func() time.Time) store.Store { return memory.New(memory.Options{Now: now}) }},
	{"postgres", func(t testing.TB, now func() time.Time) store.Store { return pgtest.Store(t, now) }},
}

// env is a SCIM handler on one store with one tenant, called as its token.
type env struct {
	t      testing.TB
	st     store.Store
	h      http.Handler
	tenant store.Tenant
	mu     sync.Mutex
	now    time.Time
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

func newEnv(t testing.TB, open func(testing.TB, func() time.Time) store.Store, seats int) *env {
	e := &env{t: t, now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	e.st = open(t, e.clock)
	tn, err := e.st.CreateTenant(context.Background(), store.Tenant{ID: tenantID, Name: "Acme", Plan: "ultimate",
		Seats: seats, Settings: store.DefaultSettings()}, store.ActorSystem)
	require.NoError(t, err)
	e.tenant = tn
	h := scim.New(scim.Config{Store: e.st, BaseURL: baseURL, Now: e.clock, Logger: zerolog.Nop()})
	p := scimauth.Principal{Tenant: tn, Token: store.Token{TenantID: tenantID, ID: "tok-1", Name: "okta"},
		Actor: store.Actor{Kind: "token", ID: "tok-1", Name: "okta"}}
	e.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := requestid.NewContext(scimauth.WithPrincipal(r.Context(), p), "req-1")
		h.ServeHTTP(w, r.WithContext(ctx))
	})
	return e
}

func forEachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			fn(t, newEnv(t, b.open, 1000))
		})
	}
}

type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

// do sends a request; path is below the tenant's base ("/Users?…").
func (e *env) do(method, path, body string, headers ...string) response {
	e.t.Helper()
	req := httptest.NewRequest(method, "/scim/v2/"+tenantID+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	res := rec.Result()
	raw, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	if len(raw) > 0 {
		require.NoError(e.t, json.Unmarshal(raw, &out.Body), "body: %s", raw)
	}
	return out
}

// mustStatus asserts the status and returns the response.
func (e *env) must(status int, method, path, body string, headers ...string) response {
	e.t.Helper()
	r := e.do(method, path, body, headers...)
	require.Equal(e.t, status, r.Status, "%s %s: %s", method, path, r.Raw)
	return r
}

// createUser POSTs a minimal user and returns its id.
func (e *env) createUser(userName string, extra ...string) string {
	e.t.Helper()
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + userName + `"`
	if !strings.Contains(strings.Join(extra, ","), `"active"`) {
		body += `,"active":true`
	}
	for _, x := range extra {
		body += "," + x
	}
	body += "}"
	r := e.must(201, "POST", "/Users", body)
	return r.Body["id"].(string)
}

func (e *env) createGroup(name string, members ...string) string {
	e.t.Helper()
	ms := make([]string, len(members))
	for i, m := range members {
		ms[i] = `{"value":"` + m + `"}`
	}
	r := e.must(201, "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"`+name+`","members":[`+strings.Join(ms, ",")+`]}`)
	return r.Body["id"].(string)
}

// get reads a nested value by dotted path from a decoded body.
func get(m any, path string) any {
	for _, k := range splitPath(path) {
		switch v := m.(type) {
		case map[string]any:
			m = v[k]
		case []any:
			i := 0
			for _, c := range k {
				i = i*10 + int(c-'0')
			}
			if i >= len(v) {
				return nil
			}
			m = v[i]
		default:
			return nil
		}
	}
	return m
}

// splitPath splits on "." except inside a URN key given as "<urn>|attr".
func splitPath(p string) []string {
	if urn, rest, ok := strings.Cut(p, "|"); ok {
		return append([]string{urn}, strings.Split(rest, ".")...)
	}
	return strings.Split(p, ".")
}

const (
	ent    = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	roster = "urn:ietf:params:scim:schemas:extension:roster:2.0:User"
)

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

var tokenActor = store.Actor{Kind: "token", ID: "tok-1", Name: "okta"}

func storeUser(i int) store.User {
	return store.User{UserName: fmt.Sprintf("bulk%05d@x.com", i), Active: true}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
