package console_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-dev/roster/admin"
	"github.com/roster-dev/roster/console"
	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const benchAdminToken = "bench-admin-token-0123456789abcdef"

// BenchmarkPages serves console pages of a PostgreSQL tenant with
// 100,000 people (ROSTER_BENCH_PEOPLE to change), made through the store
// over a year of a fake clock so that the seat ledger spans the seat
// page's longest range, one in twenty deactivated later, all analysed as
// a live database would be. Each page is a whole request through the
// console, the admin API in process and PostgreSQL; the figure that
// matters is p95-ms (docs/console.md "Page speed"; BENCHMARKS.md).
func BenchmarkPages(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("ROSTER_BENCH_PEOPLE")); err == nil && v > 0 {
		n = v
	}
	var clock atomic.Int64
	start := time.Now().AddDate(-1, 0, 0).Truncate(time.Hour)
	clock.Store(start.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	s := pgtest.Store(b, now)
	ctx := context.Background()
	_, err := s.CreateTenant(ctx, store.Tenant{ID: "big", Name: "Big Co", Plan: licensing.Ultimate, Seats: n + 1000,
		Settings: store.DefaultSettings(), ContractStart: start}, store.ActorAdmin)
	if err != nil {
		b.Fatal(err)
	}
	// People arrive over the year, in 16 streams as an IdP sends them.
	step := int64(365*24*time.Hour) / int64(n)
	var next atomic.Int64
	ids := make([]string, n)
	var wg sync.WaitGroup
	var failed atomic.Value
	by := store.Actor{Kind: "token", ID: "tok-okta", Name: "okta"}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				clock.Add(step)
				role := store.RoleAgent
				if i%50 == 0 {
					role = store.RoleSupervisor
				}
				u, err := s.CreateUser(ctx, "big", store.User{UserName: fmt.Sprintf("person%06d@big.test", i), Active: true,
					DisplayName: fmt.Sprintf("Person %06d", i), Name: store.Name{GivenName: "Person", FamilyName: fmt.Sprintf("%06d", i)},
					Emails: []store.MultiValue{{Value: fmt.Sprintf("person%06d@big.test", i), Type: "work", Primary: true}},
					Role:   role}, by)
				if err != nil {
					failed.Store(err)
					return
				}
				ids[i] = u.ID
			}
		}()
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
	for i := 7; i < n; i += 20 {
		if _, err := s.UpdateUser(ctx, "big", ids[i], by, func(u *store.User) error { u.Active = false; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	clock.Store(time.Now().UnixNano())
	if _, err := s.Pool().Exec(ctx, "analyze"); err != nil {
		b.Fatal(err)
	}

	api := admin.New(admin.Config{Store: s, AdminToken: benchAdminToken, Now: now, Rand: rand.Reader, BaseURL: "http://roster.test"})
	b.Cleanup(api.Close)
	mux := http.NewServeMux()
	api.Register(mux)
	api.RegisterConsole(mux)
	console.New(console.Config{Store: s, API: mux, BaseURL: "http://roster.test", Now: now}).Register(mux)

	// An admin of the tenant signs in with a console link.
	adminID := ids[0]
	if _, err := s.UpdateUser(ctx, "big", adminID, store.ActorAdmin, func(u *store.User) error {
		u.Role, u.ExplicitRole = store.RoleAdmin, store.RoleAdmin
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	rec := serve(mux, "POST", "/admin/v1/tenants/big/console-links", `{"user":"`+adminID+`"}`, benchAdminToken, nil)
	if rec.Code != http.StatusCreated {
		b.Fatal(rec.Code, rec.Body.String())
	}
	var link struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &link); err != nil {
		b.Fatal(err)
	}
	rec = serve(mux, "GET", link.URL[strings.Index(link.URL, "/console/"):], "", "", nil)
	cookie := rec.Result().Cookies()
	if rec.Code != http.StatusSeeOther || len(cookie) == 0 {
		b.Fatal("console link:", rec.Code, rec.Body.String())
	}

	pages := []struct{ name, path string }{
		{"overview", "/console/big/"},
		{"people", "/console/big/people"},
		{"people_search", "/console/big/people?q=" + url.QueryEscape("person0421")},
		{"people_filtered", "/console/big/people?role=supervisor&active=true"},
		{"person", "/console/big/people/" + ids[n/2]},
		{"seats", "/console/big/seats"},
		{"seats_year", "/console/big/seats?range=365&interval=week"},
		{"api_roles", "/admin/v1/tenants/big/roles"},
		{"api_users", "/admin/v1/tenants/big/users?limit=50"},
		{"api_teams", "/admin/v1/tenants/big/teams"},
		{"api_person", "/admin/v1/tenants/big/users/" + ids[n/2]},
		{"api_history", "/admin/v1/tenants/big/users/" + ids[n/2] + "/history"},
		{"api_stores", "/admin/v1/tenants/big/stores"},
		{"api_seats", "/admin/v1/tenants/big/seats?duplicates=false"},
		{"api_usage_year", "/admin/v1/tenants/big/seats/usage?interval=week&from=" + time.Now().AddDate(-1, 0, 1).Format(time.DateOnly)},
		{"api_dormant", "/admin/v1/tenants/big/reports/dormant"},
		{"api_duplicates", "/admin/v1/tenants/big/reports/duplicates"},
	}
	for _, pg := range pages {
		b.Run(pg.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				t0 := time.Now()
				rec := serve(mux, "GET", pg.path, "", "", cookie)
				took = append(took, time.Since(t0))
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", pg.path, rec.Code, rec.Body.String())
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}

func serve(h http.Handler, method, path, body, bearer string, cookies []*http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.RemoteAddr = "192.0.2.10:4000"
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
