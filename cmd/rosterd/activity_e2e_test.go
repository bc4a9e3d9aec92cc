package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/internal/activitylog"
	"github.com/roster-dev/roster/scimauth"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
)

// TestActivity_scimRequestsShowInTheLog proves, on both stores, that SCIM
// requests through rosterd's whole handler land in the tenant's activity
// log as Roster answered them: a bad filter with its 400 and the detail
// the IdP was sent, a wrong token with its 401 and no token, a revoked
// token with its 401 and the token's name, a success with its token (and
// the same token's further successful lookups within 10 s left out); and
// that a request to a tenant that does not exist is nobody's activity.
func TestActivity_scimRequestsShowInTheLog(t *testing.T) {
	forEachStore(t, func(t *testing.T, open storeOpener) {
		e := &e2e{t: t, now: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)}
		st := open(t, e.clock)
		log := activitylog.New(activitylog.Config{Store: st, FlushInterval: time.Hour})
		t.Cleanup(log.Close)
		guard := scimauth.New(scimauth.Config{Store: st, Now: e.clock, Activity: log})
		t.Cleanup(guard.Close)
		var ids atomic.Int64
		e.h = newHandler(handlerDeps{Store: st, Logger: zerolog.Nop(), Now: e.clock, Random: rand.Reader,
			NewID:   func() string { return fmt.Sprintf("req-%d", ids.Add(1)) },
			BaseURL: e2eBaseURL, AdminToken: e2eAdminToken, Guard: guard})
		okta, entra := e.setUpAcme(`{"id":"acme","plan":"ultimate","seats":10}`, oktaMetadata(t))

		filter := "/Users?filter=" + url.QueryEscape(`userName eq "a@acme.test" and`)
		bad := e.okta(okta, "GET", filter, "")
		require.Equal(t, http.StatusBadRequest, bad.Status, bad.Raw)
		ok := e.okta(okta, "GET", "/Users?filter="+url.QueryEscape(`userName eq "a@acme.test"`), "")
		require.Equal(t, http.StatusOK, ok.Status, ok.Raw)
		for range 20 { // an IdP's lookups in the same 10 s: kept once (the clock stands still)
			again := e.okta(okta, "GET", "/Users?filter="+url.QueryEscape(`userName eq "b@acme.test"`), "")
			require.Equal(t, http.StatusOK, again.Status, again.Raw)
		}
		wrong := e.okta("rst_0000000000000000_wrongsecretwrongsecretwrongsecr", "GET", "/Users", "")
		require.Equal(t, http.StatusUnauthorized, wrong.Status, wrong.Raw)
		missing := e.call("GET", "/scim/v2/acme/Groups?access_token=s3cr3t", "", "", "")
		require.Equal(t, http.StatusUnauthorized, missing.Status, missing.Raw)
		r := e.admin("GET", "/tenants/acme/tokens", "")
		var entraID string
		for _, tok := range r.Body["tokens"].([]any) {
			if tok.(map[string]any)["name"] == "entra" {
				entraID = tok.(map[string]any)["id"].(string)
			}
		}
		require.Equal(t, http.StatusNoContent, e.admin("DELETE", "/tenants/acme/tokens/"+entraID, "").Status)
		revoked := e.entra(entra, "GET", "/Users", "")
		require.Equal(t, http.StatusUnauthorized, revoked.Status, revoked.Raw)
		nobody := e.call("GET", "/scim/v2/nobody/Users", okta, "", "")
		require.Equal(t, http.StatusUnauthorized, nobody.Status)

		log.Flush(context.Background())
		r = e.admin("GET", "/tenants/acme/scim/activity", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		entries := r.Body["entries"].([]any)
		require.Len(t, entries, 5, "the made-up tenant's request is nobody's: %s", r.Raw)
		at := func(i int) map[string]any { return entries[len(entries)-1-i].(map[string]any) } // oldest first

		assert.Equal(t, "/scim/v2/acme"+filter, at(0)["path"])
		assert.Equal(t, float64(400), at(0)["status"])
		assert.Equal(t, bad.Body["detail"], at(0)["detail"], "the detail the IdP was answered")
		assert.NotEmpty(t, at(0)["detail"])
		assert.Equal(t, "okta", at(0)["token_name"])
		assert.NotEmpty(t, at(0)["token_id"])
		assert.Equal(t, "GET", at(0)["method"])

		assert.Equal(t, float64(200), at(1)["status"])
		assert.Equal(t, "", at(1)["detail"])
		assert.Equal(t, "okta", at(1)["token_name"])

		assert.Equal(t, float64(401), at(2)["status"])
		assert.Equal(t, "", at(2)["token_id"], "a wrong token identifies no token")
		assert.Equal(t, "", at(2)["token_name"])
		assert.Equal(t, wrong.Body["detail"], at(2)["detail"])

		assert.Equal(t, "/scim/v2/acme/Groups?access_token=REDACTED", at(3)["path"], "never a credential")
		assert.NotContains(t, r.Raw, "s3cr3t")
		assert.NotContains(t, r.Raw, "wrongsecret")

		assert.Equal(t, float64(401), at(4)["status"])
		assert.Equal(t, entraID, at(4)["token_id"], "a revoked token is identified")
		assert.Equal(t, "entra", at(4)["token_name"])
		assert.Contains(t, at(4)["detail"], "was revoked")

		assert.Equal(t, float64(4), r.Body["errors_24h"])
		r = e.admin("GET", "/tenants/acme/scim/activity?errors=true&limit=2", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Len(t, r.Body["entries"], 2)
	})
}

// TestServe_activityWrittenAtShutdown proves that serve writes the SCIM
// activity log's last entries when it stops, after the server drained and
// before the store closes: with a flush interval of an hour, only the
// shutdown can have written them.
func TestServe_activityWrittenAtShutdown(t *testing.T) {
	sys, stdout, _ := testSystem(nil)
	sys.activityFlush = time.Hour
	var st store.Store
	sys.wrapStore = func(s store.Store) store.Store { st = s; return s }
	s := startServe(t, sys, stdout)
	token := scimTokenRE.FindStringSubmatch(stdout.String())[1]

	req, err := http.NewRequest("GET", "http://"+s.addr+"/scim/v2/demo/Users?filter="+url.QueryEscape("nickName zz 1"), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	got, err := st.ListActivity(context.Background(), demoTenantID, store.ActivityQuery{})
	require.NoError(t, err)
	assert.Empty(t, got, "nothing written before the shutdown")

	require.NoError(t, s.stop(t))
	got, err = st.(*memory.Store).ListActivity(context.Background(), demoTenantID, store.ActivityQuery{})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, 400, got[0].Status)
	assert.True(t, strings.HasPrefix(got[0].Path, "/scim/v2/demo/Users?filter="))
	assert.NotEmpty(t, got[0].Detail)
	assert.Equal(t, "demo", got[0].TokenName)
}
