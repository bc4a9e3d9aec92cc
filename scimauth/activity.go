package scimauth

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/roster-dev/roster/internal/scimwire"
	"github.com/roster-dev/roster/store"
)

// ActivityRecorder takes the entries of the tenants' SCIM activity logs
// (activitylog.Log). Record must not block: it runs on the request's path,
// after the answer.
type ActivityRecorder interface {
	Record(store.ActivityEntry)
}

// serveRecorded is Wrap with the activity log: the request is admitted and
// served as without it, through a writer that notes the status and the
// SCIM error detail as they are written (scimwire.ErrorNoter, so that the
// body is never parsed back), and once answered the entry is handed to the
// recorder, which only buffers it. A request refused before a token of the
// tenant was identified is recorded without a token, on the tenant its URL
// names (the store drops entries of tenants that do not exist).
func (g *Guard) serveRecorded(w http.ResponseWriter, r *http.Request, next http.Handler) {
	start := g.now()
	aw := &activityWriter{ResponseWriter: w}
	if p, ok := g.admit(aw, r, start, &aw.token); ok {
		next.ServeHTTP(aw, r.WithContext(WithPrincipal(r.Context(), p)))
	}
	end := g.now()
	status := aw.status
	if status == 0 {
		status = http.StatusOK // nothing written: net/http sends 200
	}
	path := r.URL.Path
	if q := r.URL.RawQuery; q != "" {
		path += "?" + redactQuery(q)
	}
	g.record.Record(store.ActivityEntry{
		TenantID: r.PathValue("tenant"), At: end, TokenID: aw.token.ID, TokenName: aw.token.Name,
		Method: r.Method, Path: path, Status: status, Detail: aw.detail, Duration: end.Sub(start),
	})
}

// activityWriter notes what the activity log keeps of an answer.
type activityWriter struct {
	http.ResponseWriter
	status int
	detail string
	token  store.Token // the tenant's token the request presented, once identified
}

var _ scimwire.ErrorNoter = (*activityWriter)(nil)

// NoteError keeps the detail of a SCIM error answer (status >= 400).
func (a *activityWriter) NoteError(e scimwire.Error) {
	if e.Status >= 400 {
		a.detail = e.Detail
	}
}

func (a *activityWriter) WriteHeader(code int) {
	if a.status == 0 && code >= 200 { // 1xx informational responses are not the status
		a.status = code
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *activityWriter) Write(p []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	return a.ResponseWriter.Write(p)
}

// Flush lets streamed answers flush through the writer.
func (a *activityWriter) Flush() {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	_ = http.NewResponseController(a.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController the underlying writer.
func (a *activityWriter) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// redactQuery hides the value of an access_token parameter (RFC 6750 §2.3:
// a bearer token in the URL, which the guard refuses but a client may still
// send), so that the log never holds a credential.
func redactQuery(q string) string {
	if !containsFold(q, "token") { // the common case costs one scan, no allocation
		return q
	}
	parts := strings.Split(q, "&")
	for i, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if name, err := url.QueryUnescape(k); err != nil || strings.EqualFold(strings.TrimSpace(name), "access_token") {
			parts[i] = k + "=REDACTED"
		}
	}
	return strings.Join(parts, "&")
}

// containsFold is strings.Contains, ASCII case-insensitively, without
// allocating.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
