package scim

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/internal/requestid"
	"github.com/roster-dev/roster/scimauth"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

// chunkStore records how a streamed answer reads members: every chunk size
// asked for, and any read of a whole membership; it can fail GroupMembers
// from the n-th call on.
type chunkStore struct {
	store.Store
	mu       sync.Mutex
	limits   []int
	whole    int // GetGroup or ListGroups with members
	failFrom int // 0: never
}

func (s *chunkStore) GroupMembers(ctx context.Context, tenantID, groupID string, after store.MemberPos, limit int) ([]store.Member, store.MemberPos, error) {
	s.mu.Lock()
	s.limits = append(s.limits, limit)
	n := len(s.limits)
	s.mu.Unlock()
	if s.failFrom > 0 && n >= s.failFrom {
		return nil, after, fmt.Errorf("chunk %d: %w", n, store.ErrUnavailable)
	}
	return s.Store.GroupMembers(ctx, tenantID, groupID, after, limit)
}

func (s *chunkStore) GetGroup(ctx context.Context, tenantID, id string, withMembers bool) (store.Group, error) {
	if withMembers {
		s.mu.Lock()
		s.whole++
		s.mu.Unlock()
	}
	return s.Store.GetGroup(ctx, tenantID, id, withMembers)
}

func (s *chunkStore) ListGroups(ctx context.Context, tenantID string, q store.GroupQuery) (store.GroupPage, error) {
	if q.WithMembers {
		s.mu.Lock()
		s.whole++
		s.mu.Unlock()
	}
	return s.Store.ListGroups(ctx, tenantID, q)
}

func (s *chunkStore) reset() {
	s.mu.Lock()
	s.limits, s.whole = nil, 0
	s.mu.Unlock()
}

const streamTenant = "acme"

// streamEnv is a SCIM handler reading members streamChunk at a time.
type streamEnv struct {
	st *chunkStore
	h  http.Handler
	// whole renders what the answer was before it was streamed: the group
	// or page read with all members, projected, encoded in one piece.
	hh *handler
}

const streamChunk = 3

func newStreamEnv(t *testing.T, open func(t *testing.T) store.Store) *streamEnv {
	st := &chunkStore{Store: open(t)}
	tn, err := st.CreateTenant(context.Background(), store.Tenant{ID: streamTenant, Name: "Acme", Plan: "ultimate",
		Seats: 1000, Settings: store.DefaultSettings()}, store.ActorSystem)
	require.NoError(t, err)
	sh := New(Config{Store: st, BaseURL: "https://roster.example.com", Logger: zerolog.Nop(), MemberChunk: streamChunk})
	p := scimauth.Principal{Tenant: tn, Token: store.Token{TenantID: streamTenant, ID: "tok-1", Name: "okta"},
		Actor: store.Actor{Kind: "token", ID: "tok-1", Name: "okta"}}
	return &streamEnv{st: st, hh: sh.(*handler), h: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := requestid.NewContext(scimauth.WithPrincipal(r.Context(), p), "req-1")
		sh.ServeHTTP(w, r.WithContext(ctx))
	})}
}

func (e *streamEnv) serve(method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/scim/v2/"+streamTenant+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}

var streamBackends = []struct {
	name string
	open func(t *testing.T) store.Store
}{
	{"memory", func(*testing.T) store.Store { return memory.New(memory.Options{}) }},
	{"postgres", func(t *testing.T) store.Store { return pgtest.Store(t, time.Now) }},
}

// TestGroupStream_sameAsWhole: a group answer and a group list whose
// members are streamed a chunk at a time are byte for byte what rendering
// the group read whole gave, for groups of 0, 1, chunk-1, chunk, chunk+1
// and several chunks of members, with and without every kind of
// projection, on GET /Groups/{id}, GET /Groups, /Groups/.search and /.search;
// the store is asked for chunks of the configured size only and never for a
// whole membership.
func TestGroupStream_sameAsWhole(t *testing.T) {
	for _, b := range streamBackends {
		t.Run(b.name, func(t *testing.T) {
			e := newStreamEnv(t, b.open)
			ctx := context.Background()
			var users []string
			for i := range 3*streamChunk + 2 {
				u := store.User{UserName: fmt.Sprintf("s%02d@x.com", i), Active: true}
				if i%2 == 0 {
					u.DisplayName = fmt.Sprintf(`Member "%d" <&>`, i)
				}
				u, err := e.st.CreateUser(ctx, streamTenant, u, store.ActorSystem)
				require.NoError(t, err)
				users = append(users, u.ID)
			}
			var gids []string
			for _, n := range []int{0, 1, streamChunk - 1, streamChunk, streamChunk + 1, len(users)} {
				g := store.Group{DisplayName: fmt.Sprintf("Size %d", n), ExternalID: fmt.Sprintf("ext-%d", n)}
				for i := n - 1; i >= 0; i-- { // out of creation order
					g.Members = append(g.Members, store.Member{UserID: users[i]})
				}
				g, err := e.st.CreateGroup(ctx, streamTenant, g, store.ActorSystem)
				require.NoError(t, err)
				gids = append(gids, g.ID)
			}
			c := &call{base: "https://roster.example.com/scim/v2/" + streamTenant}
			wholeGroup := func(id string, proj projection) string {
				g, err := e.st.Store.GetGroup(ctx, streamTenant, id, proj.wants("members", false))
				require.NoError(t, err)
				return string(appendAny(nil, proj.apply(e.hh.groupView(c.base, &g)))) + "\n"
			}
			wholeList := func(proj projection, before []any) string {
				page, err := e.st.Store.ListGroups(ctx, streamTenant, store.GroupQuery{StartIndex: 1, Count: 100,
					WithMembers: proj.wants("members", false)})
				require.NoError(t, err)
				res := before
				for i := range page.Groups {
					res = append(res, proj.apply(e.hh.groupView(c.base, &page.Groups[i])))
				}
				l := &listOut{Schemas: schemasList, TotalResults: page.Total + len(before), ItemsPerPage: len(res), StartIndex: 1, Resources: res}
				return string(l.appendJSON(nil)) + "\n"
			}

			for _, q := range []struct{ attrs, excluded string }{
				{"", ""},
				{"", "members"},
				{"members", ""},
				{"displayName,members", ""},
				{"members.value", ""},
				{"members.display,members.type", ""},
				{"displayName", ""},
				{"", "members.display"},
				{"", "members.type,externalId"},
				{"", "displayName"},
				{"urn:ietf:params:scim:schemas:core:2.0:Group:members", ""},
			} {
				proj, err := parseProjection(splitList(q.attrs), splitList(q.excluded))
				require.NoError(t, err)
				query := url.Values{}
				if q.attrs != "" {
					query.Set("attributes", q.attrs)
				}
				if q.excluded != "" {
					query.Set("excludedAttributes", q.excluded)
				}
				name := fmt.Sprintf("attributes=%q excludedAttributes=%q", q.attrs, q.excluded)
				for _, id := range gids {
					e.st.reset()
					r := e.serve("GET", "/Groups/"+id+"?"+query.Encode(), "")
					require.Equal(t, 200, r.Code, r.Body.String())
					assert.Equal(t, wholeGroup(id, proj), r.Body.String(), "GET /Groups/{id} %s", name)
					e.checkChunks(t, name)
				}
				e.st.reset()
				r := e.serve("GET", "/Groups?"+query.Encode(), "")
				require.Equal(t, 200, r.Code)
				assert.Equal(t, wholeList(proj, nil), r.Body.String(), "GET /Groups %s", name)
				e.checkChunks(t, name)

				search := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]`
				for _, l := range []string{q.attrs, q.excluded} {
					key := "attributes"
					if l == q.excluded {
						key = "excludedAttributes"
					}
					if l != "" {
						search += fmt.Sprintf(`,%q:%s`, key, mustMarshal(t, splitList(l)))
					}
				}
				search += `,"filter":"displayName sw \"Size\""}`
				r = e.serve("POST", "/Groups/.search", search)
				require.Equal(t, 200, r.Code, r.Body.String())
				assert.Equal(t, wholeList(proj, nil), r.Body.String(), "POST /Groups/.search %s", name)

				// Across types: the users first, then the groups.
				upage, err := e.st.Store.ListUsers(ctx, streamTenant, store.UserQuery{StartIndex: 1, Count: 100})
				require.NoError(t, err)
				var usersRes []any
				uc := &call{ctx: ctx, tenant: streamTenant, base: c.base}
				usersRes, err = e.hh.userResources(uc, proj, upage.Users, nil)
				require.NoError(t, err)
				r = e.serve("POST", "/.search", strings.Replace(search, `,"filter":"displayName sw \"Size\""`, "", 1))
				require.Equal(t, 200, r.Code, r.Body.String())
				assert.Equal(t, wholeList(proj, usersRes), r.Body.String(), "POST /.search %s", name)
				e.checkChunks(t, name)
			}

			// A PATCH asking for attributes and a PUT answer the group as
			// written, streamed; Bulk reads no members at all.
			big := gids[len(gids)-1]
			e.st.reset()
			r := e.serve("PATCH", "/Groups/"+big+"?attributes=members", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				"Operations":[{"op":"replace","path":"displayName","value":"Renamed"}]}`)
			require.Equal(t, 200, r.Code, r.Body.String())
			proj, _ := parseProjection([]string{"members"}, nil)
			assert.Equal(t, wholeGroup(big, proj), r.Body.String())
			assert.Equal(t, `W/"2"`, r.Header().Get("ETag"))
			e.checkChunks(t, "PATCH")
			e.st.reset()
			r = e.serve("POST", "/Bulk", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[
				{"method":"PATCH","path":"/Groups/`+big+`?attributes=members","data":{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				"Operations":[{"op":"replace","path":"displayName","value":"Renamed again"}]}}]}`)
			require.Equal(t, 200, r.Code, r.Body.String())
			assert.Contains(t, r.Body.String(), `"status":"200"`)
			assert.Empty(t, e.st.limits, "a Bulk operation's answer is not written: no member is read")
			assert.Zero(t, e.st.whole)
		})
	}
}

// checkChunks asserts that the last answer read members in chunks of the
// configured size only, and never a whole membership.
func (e *streamEnv) checkChunks(t *testing.T, name string) {
	t.Helper()
	e.st.mu.Lock()
	defer e.st.mu.Unlock()
	assert.Zero(t, e.st.whole, "%s: a whole membership was read", name)
	for _, l := range e.st.limits {
		assert.Equal(t, streamChunk, l, name)
	}
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	return string(appendMarshal(nil, v))
}

// TestGroupStream_storeFailure: a store failure before the first piece of
// a streamed answer is an ordinary error answer (503 with Retry-After);
// once the status and part of the body are out, the connection is aborted
// (http.ErrAbortHandler: the client sees a cut answer, never a shorter list
// that parses) and the failure is logged.
func TestGroupStream_storeFailure(t *testing.T) {
	for _, b := range streamBackends {
		t.Run(b.name, func(t *testing.T) {
			e := newStreamEnv(t, b.open)
			ctx := context.Background()
			var members []store.Member
			for i := range 300 { // about 45 KB of members per group
				u, err := e.st.CreateUser(ctx, streamTenant, store.User{UserName: fmt.Sprintf("f%04d@x.com", i)}, store.ActorSystem)
				require.NoError(t, err)
				members = append(members, store.Member{UserID: u.ID})
			}
			var g store.Group
			for i := range 3 {
				var err error
				g, err = e.st.CreateGroup(ctx, streamTenant, store.Group{DisplayName: fmt.Sprintf("Big %d", i), Members: members}, store.ActorSystem)
				require.NoError(t, err)
			}
			var logged strings.Builder
			var mu sync.Mutex
			e.hh.log = zerolog.New(syncWriter{&mu, &logged})

			e.st.failFrom = 1
			r := e.serve("GET", "/Groups/"+g.ID, "")
			assert.Equal(t, 503, r.Code, r.Body.String())
			assert.Equal(t, "5", r.Header().Get("Retry-After"))
			assert.Contains(t, r.Body.String(), `"status":"503"`)

			e.st.reset()
			e.st.failFrom = 110 // in the second group, after the first group's 45 KB went out
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/scim/v2/"+streamTenant+"/Groups?count=1000", nil)
			aborted := func() (v any) {
				defer func() { v = recover() }()
				e.h.ServeHTTP(rec, req)
				return nil
			}()
			assert.Equal(t, http.ErrAbortHandler, aborted, "the connection is aborted")
			assert.Equal(t, 200, rec.Code, "the status was out before the failure")
			assert.Greater(t, rec.Body.Len(), streamFlushAt-1)
			assert.False(t, strings.HasSuffix(rec.Body.String(), "}\n"), "the answer is cut, not closed")
			mu.Lock()
			assert.Contains(t, logged.String(), "connection aborted")
			assert.Contains(t, logged.String(), "unavailable")
			mu.Unlock()
		})
	}
}

type syncWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (s syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
