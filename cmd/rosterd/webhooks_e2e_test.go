package main

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store/postgres/pgtest"
)

// childEnv marks this test binary, started again, as a rosterd process
// (TestMain): the multi-process and crash tests run real processes they can
// kill without building anything.
const childEnv = "ROSTERD_TEST_CHILD"

// rosterdProc is a rosterd started as a separate process.
type rosterdProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	URL  string
	done chan struct{}
}

// startRosterd starts rosterd with env (ROSTER_* variables) on a free port
// and waits until it listens.
func startRosterd(t *testing.T, env ...string) *rosterdProc {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=1", "ROSTER_ADDR=127.0.0.1:0", "ROSTER_LOG_LEVEL=warn",
		"ROSTER_ADMIN_TOKEN="+e2eAdminToken+"-processes")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	p := &rosterdProc{t: t, cmd: cmd, done: make(chan struct{})}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				listening <- addr
			}
		}
	}()
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(p.kill)
	select {
	case addr := <-listening:
		p.URL = "http://" + addr
	case <-p.done:
		t.Fatal("rosterd exited before listening")
	case <-time.After(60 * time.Second):
		p.kill()
		t.Fatal("rosterd did not start listening within 60 s")
	}
	return p
}

// kill ends the process at once (SIGKILL): no shutdown, nothing flushed.
func (p *rosterdProc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *rosterdProc) call(method, path, token, contentType, body string) (int, map[string]any) {
	p.t.Helper()
	req, err := http.NewRequest(method, p.URL+path, strings.NewReader(body))
	require.NoError(p.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if strings.HasPrefix(path, "/scim/") {
		req.Header.Set("User-Agent", "Microsoft.AAD.Provisioning/1.0") // Entra's own
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(p.t, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m map[string]any
	if len(strings.TrimSpace(string(raw))) > 0 {
		require.NoError(p.t, json.Unmarshal(raw, &m), "%s %s: %s", method, path, raw)
	}
	return res.StatusCode, m
}

func (p *rosterdProc) admin(method, path, body string) map[string]any {
	p.t.Helper()
	ct := "application/json"
	if strings.HasSuffix(path, "/saml") {
		ct = "application/xml"
	}
	status, m := p.call(method, "/admin/v1"+path, e2eAdminToken+"-processes", ct, body)
	require.Less(p.t, status, 300, "%s %s: %v", method, path, m)
	return m
}

// setUpTenant creates acme on the ultimate plan with SAML (so SCIM passes
// its gates), an Entra SCIM token and a webhook to url; it answers the
// token and the webhook's secret.
func (p *rosterdProc) setUpTenant(url string, events ...string) (token, secret string) {
	p.t.Helper()
	p.admin("POST", "/tenants", `{"id":"acme","name":"Acme","plan":"ultimate","seats":50}`)
	p.admin("PUT", "/tenants/acme/saml", string(oktaMetadata(p.t)))
	token = p.admin("POST", "/tenants/acme/tokens", `{"name":"entra"}`)["token"].(string)
	ev, _ := json.Marshal(events)
	if events == nil {
		ev = []byte("[]")
	}
	secret = p.admin("POST", "/tenants/acme/webhooks", `{"url":"`+url+`","events":`+string(ev)+`}`)["secret"].(string)
	return token, secret
}

// verifyStandardWebhook checks a delivery as a Standard Webhooks receiver
// does, from the specification (not with package webhooks): HMAC-SHA256
// keyed with the base64 after "whsec_", over "<id>.<timestamp>.<body>",
// one of the space-separated "v1,<base64>" signatures must match, and the
// timestamp must be within five minutes.
func verifyStandardWebhook(secret string, h http.Header, body []byte) error {
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || id == "" {
		return fmt.Errorf("missing webhook-id or webhook-timestamp")
	}
	if d := time.Since(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("stale timestamp")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.%s", id, ts, body)
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if v, b64, ok := strings.Cut(sig, ","); ok && v == "v1" {
			if got, err := base64.StdEncoding.DecodeString(b64); err == nil && hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return fmt.Errorf("no valid signature")
}

// hookReceiver is an application's webhook endpoint.
type hookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	events []map[string]any
	ids    []string
	at     []time.Time
	bad    []string
	hold   chan struct{} // while set, requests wait on it (a hung receiver)
	held   chan struct{} // closed when the first request is held
	arrive chan struct{}
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{arrive: make(chan struct{}, 1000)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		hold, held, secret := r.hold, r.held, r.secret
		if hold != nil && held != nil {
			close(held)
			r.held = nil
		}
		r.mu.Unlock()
		if hold != nil {
			<-hold
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var ev map[string]any
		r.mu.Lock()
		if err := verifyStandardWebhook(secret, req.Header, body); err != nil {
			r.bad = append(r.bad, err.Error())
		} else if json.Unmarshal(body, &ev) == nil {
			r.events, r.ids, r.at = append(r.events, ev), append(r.ids, req.Header.Get("webhook-id")), append(r.at, time.Now())
		}
		r.mu.Unlock()
		r.arrive <- struct{}{}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(func() {
		r.mu.Lock()
		if r.hold != nil {
			close(r.hold)
			r.hold = nil
		}
		r.mu.Unlock()
		r.srv.Close()
	})
	return r
}

// waitFor waits until an event of typ has arrived, up to limit, and
// answers it and when it arrived.
func (r *hookReceiver) waitFor(t *testing.T, typ string, limit time.Duration) (map[string]any, time.Time) {
	t.Helper()
	deadline := time.After(limit)
	for {
		r.mu.Lock()
		for i, ev := range r.events {
			if ev["type"] == typ {
				r.mu.Unlock()
				return ev, r.at[i]
			}
		}
		r.mu.Unlock()
		select {
		case <-r.arrive:
		case <-deadline:
			t.Fatalf("no %s within %s", typ, limit)
		}
	}
}

// TestWebhooks_entraDeactivationReachesTheAppWithinTwoSeconds is the seeds'
// complaint end to end (docs/events.md, "Reassigning a deactivated agent's
// work"): Entra deactivates an agent with its own PATCH, and the
// application's endpoint holds a signed user.deactivated naming the agent
// within 2 s — on rosterd with PostgreSQL and with the in-memory store.
func TestWebhooks_entraDeactivationReachesTheAppWithinTwoSeconds(t *testing.T) {
	for name, env := range map[string][]string{
		"postgres": {"ROSTER_DATABASE_URL=" + pgtest.New(t)},
		"memory":   nil,
	} {
		t.Run(name, func(t *testing.T) {
			rcv := newHookReceiver(t)
			p := startRosterd(t, append(env, "ROSTER_WEBHOOK_ALLOW_PRIVATE=true")...)
			token, secret := p.setUpTenant(rcv.srv.URL+"/roster-events", "user.deactivated")
			rcv.mu.Lock()
			rcv.secret = secret
			rcv.mu.Unlock()

			status, u := p.call("POST", "/scim/v2/acme/Users", token, "application/scim+json", entraUser("agent@acme.example", true))
			require.Equal(t, http.StatusCreated, status, u)
			id := u["id"].(string)
			sent := time.Now()
			status, body := p.call("PATCH", "/scim/v2/acme/Users/"+id, token, "application/scim+json",
				`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`)
			require.Equal(t, http.StatusOK, status, body)

			ev, at := rcv.waitFor(t, "user.deactivated", 2*time.Second)
			t.Logf("user.deactivated arrived %s after the PATCH", at.Sub(sent))
			assert.Less(t, at.Sub(sent), 2*time.Second)
			data := ev["data"].(map[string]any)["user"].(map[string]any)
			assert.Equal(t, id, data["id"])
			assert.Equal(t, "agent@acme.example", data["userName"])
			assert.Equal(t, false, data["active"])
			assert.Equal(t, "none", data["seat"])
			assert.Equal(t, "scim_token", ev["actor"].(map[string]any)["kind"])
			assert.Equal(t, "acme", ev["tenant"])
			rcv.mu.Lock()
			assert.Empty(t, rcv.bad, "every delivery verified")
			assert.Len(t, rcv.events, 1, "only the subscribed type")
			rcv.mu.Unlock()

			// Operators see it: the delivery counted (once the deliverer has
			// its answer, just after the receiver got it), nothing left waiting.
			var text string
			for i := 0; i < 50; i++ {
				req, _ := http.NewRequest("GET", p.URL+"/metrics", nil)
				req.Header.Set("Authorization", "Bearer "+e2eAdminToken+"-processes")
				res, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if text = string(b); regexp.MustCompile(`(?m)^roster_webhook_deliveries_total\{outcome="delivered"\} [1-9]`).MatchString(text) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			assert.Regexp(t, `(?m)^roster_webhook_deliveries_total\{outcome="delivered"\} [1-9]`, text)
			assert.Regexp(t, `(?m)^roster_webhook_delivery_duration_seconds_count [1-9]`, text)
			assert.Regexp(t, `(?m)^roster_outbox_depth \d+`, text)
		})
	}
}

// TestWebhooks_survivesCrashes kills rosterd (SIGKILL) twice on
// PostgreSQL: right after changes committed, before any event was made of
// them, and again while a delivery was in flight. The next process
// delivers everything: nothing committed is lost, and an event goes out
// again only where an attempt was cut short.
func TestWebhooks_survivesCrashes(t *testing.T) {
	dsn := pgtest.New(t)
	rcv := newHookReceiver(t)
	env := []string{"ROSTER_DATABASE_URL=" + dsn, "ROSTER_WEBHOOK_ALLOW_PRIVATE=true", "ROSTER_WEBHOOK_TIMEOUT=1s"}

	// 1. Committed, then killed before any event was made.
	a := startRosterd(t, append(env, "ROSTER_WEBHOOK_DELIVERY=false")...)
	token, secret := a.setUpTenant(rcv.srv.URL + "/events")
	rcv.mu.Lock()
	rcv.secret = secret
	rcv.mu.Unlock()
	status, u := a.call("POST", "/scim/v2/acme/Users", token, "application/scim+json", entraUser("first@acme.example", true))
	require.Equal(t, http.StatusCreated, status, u)
	first := u["id"].(string)
	a.kill()

	// 2. A new process takes the committed change and tries to deliver; the
	// receiver hangs on the first attempt and the process is killed
	// mid-delivery.
	rcv.mu.Lock()
	rcv.hold, rcv.held = make(chan struct{}), make(chan struct{})
	held := rcv.held
	rcv.mu.Unlock()
	b := startRosterd(t, env...)
	select {
	case <-held:
	case <-time.After(20 * time.Second):
		t.Fatal("the second process never tried to deliver")
	}
	b.kill()
	rcv.mu.Lock()
	close(rcv.hold)
	rcv.hold = nil
	rcv.mu.Unlock()

	// 3. A third process delivers everything once its lease runs out.
	c := startRosterd(t, env...)
	status, u = c.call("POST", "/scim/v2/acme/Users", token, "application/scim+json", entraUser("second@acme.example", true))
	require.Equal(t, http.StatusCreated, status, u)
	second := u["id"].(string)
	deadline := time.Now().Add(30 * time.Second)
	for {
		rcv.mu.Lock()
		n := len(rcv.events)
		rcv.mu.Unlock()
		if n >= 4 || time.Now().After(deadline) { // the two users' user.created and seat.consumed
			break
		}
		select {
		case <-rcv.arrive:
		case <-time.After(time.Second):
		}
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	assert.Empty(t, rcv.bad)
	per := map[string][]string{}
	seen := map[string]int{}
	for i, ev := range rcv.events {
		seen[rcv.ids[i]]++
		d := ev["data"].(map[string]any)
		subject, _ := d["user_id"].(string)
		if u, ok := d["user"].(map[string]any); ok {
			subject = u["id"].(string)
		}
		per[subject] = append(per[subject], ev["type"].(string))
	}
	assert.Equal(t, []string{"user.created", "seat.consumed"}, per[first], "the change committed before the first crash")
	assert.Equal(t, []string{"user.created", "seat.consumed"}, per[second])
	assert.Len(t, rcv.events, 4, "nothing from before the endpoint existed (the SSO set-up, the token)")
	for id, n := range seen {
		assert.Equal(t, 1, n, "event %s delivered once (the cut-short attempt never completed)", id)
	}
}
