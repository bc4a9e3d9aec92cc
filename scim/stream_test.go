package scim_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/internal/requestid"
	"github.com/roster-dev/roster/scim"
	"github.com/roster-dev/roster/scimauth"
	"github.com/roster-dev/roster/store"
)

// heapWriter is a ResponseWriter that keeps no body: it counts the bytes
// and, at every write, collects garbage and notes the live heap, so that
// peak is the most the process held while the answer was being written.
type heapWriter struct {
	header http.Header
	code   int
	bytes  int
	peak   uint64
	last   byte
}

func (w *heapWriter) Header() http.Header  { return w.header }
func (w *heapWriter) WriteHeader(code int) { w.code = code }
func (w *heapWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.bytes += len(p)
	if len(p) > 0 {
		w.last = p[len(p)-1]
	}
	w.peak = max(w.peak, liveHeap())
	return len(p), nil
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestGroupStream_memoryBounded: what a group list holds while it is
// answered does not grow with the groups' members. Four groups are listed
// with GET /Groups?count=1000 at two sizes, 750 and 1,500 members each
// (members read 100 at a time): the answer doubles, to about 1 MB, while the
// live heap above what it was before the request stays under 256 KB at
// both sizes. Built whole, the answer alone was the size of the body.
func TestGroupStream_memoryBounded(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b.open, 10)
			sh := scim.New(scim.Config{Store: e.st, BaseURL: baseURL, Now: e.clock, Logger: zerolog.Nop(), MemberChunk: 100})
			p := scimauth.Principal{Tenant: e.tenant, Token: store.Token{TenantID: tenantID, ID: "tok-1", Name: "okta"}, Actor: tokenActor}
			ctx := context.Background()
			ids := make([]string, 1500)
			var wg sync.WaitGroup
			for w := range 16 { // concurrent creations are written together on PostgreSQL
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < len(ids); i += 16 { // inactive: no seats needed
						u, err := e.st.CreateUser(ctx, tenantID, store.User{UserName: fmt.Sprintf("heap%04d@x.com", i),
							DisplayName: fmt.Sprintf("Heap Test User Number %d", i)}, tokenActor)
						assert.NoError(t, err)
						ids[i] = u.ID
					}
				}()
			}
			wg.Wait()
			require.NotContains(t, ids, "")
			var gids []string
			for g := range 4 {
				gr, err := e.st.CreateGroup(ctx, tenantID, store.Group{DisplayName: fmt.Sprintf("Heap %d", g)}, tokenActor)
				require.NoError(t, err)
				gids = append(gids, gr.ID)
			}
			list := func() *heapWriter {
				req := httptest.NewRequest("GET", "/scim/v2/"+tenantID+"/Groups?count=1000", nil)
				req = req.WithContext(requestid.NewContext(scimauth.WithPrincipal(req.Context(), p), "req-1"))
				w := &heapWriter{header: http.Header{}}
				sh.ServeHTTP(w, req)
				require.Equal(t, http.StatusOK, w.code)
				require.Equal(t, byte('\n'), w.last, "the answer ends")
				return w
			}
			var bodies []int
			for _, members := range [][]string{ids[:750], ids[750:]} {
				for _, gid := range gids {
					_, err := e.st.UpdateGroup(ctx, tenantID, gid, tokenActor, func(u *store.GroupUpdate) error {
						u.Add(members...)
						return nil
					})
					require.NoError(t, err)
				}
				list() // warm-up: the store's caches and connections
				base := liveHeap()
				w := list()
				grown := int64(w.peak) - int64(base)
				t.Logf("%d bytes answered; live heap %d before, peak %d (+%d)", w.bytes, base, w.peak, grown)
				assert.Less(t, grown, int64(256<<10), "live heap growth while answering %d bytes", w.bytes)
				bodies = append(bodies, w.bytes)
			}
			assert.Greater(t, bodies[1], 900_000)
			assert.Greater(t, bodies[1], bodies[0]*19/10)
		})
	}
}
