package scim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/roster-dev/roster/internal/metrics"
	"github.com/roster-dev/roster/internal/requestid"
	"github.com/roster-dev/roster/internal/scimwire"
	"github.com/roster-dev/roster/scimauth"
	"github.com/roster-dev/roster/store"
)

// MaxBodyBytes caps a request body (and a Bulk request's payload): larger
// bodies are refused with 413.
const MaxBodyBytes = 4 << 20

// Config is what the SCIM endpoint is built from.
type Config struct {
	Store   store.Store
	BaseURL string // public URL without a trailing slash: meta.location, Location
	Now     func() time.Time
	Logger  zerolog.Logger
	// MemberChunk is how many members a group answer reads from the store
	// at a time (stream.go); 0 is DefaultMemberChunk.
	MemberChunk int
}

// handler serves /scim/v2/{tenant}/… for every tenant. The caller (tenant,
// token, actor) comes from scimauth.FromContext: authentication, the plan and
// SSO gates and the rate limit run before it (scimauth.Guard).
type handler struct {
	st    store.Store
	base  string
	now   func() time.Time
	log   zerolog.Logger
	disc  discovery
	chunk int // members read at a time (stream.go)
}

// New returns the SCIM 2.0 endpoint. It serves the paths under
// /scim/v2/{tenant}/: Users, Groups, Bulk, .search, ServiceProviderConfig,
// ResourceTypes and Schemas.
func New(cfg Config) http.Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MemberChunk <= 0 {
		cfg.MemberChunk = DefaultMemberChunk
	}
	h := &handler{st: cfg.Store, base: strings.TrimRight(cfg.BaseURL, "/"), now: cfg.Now, log: cfg.Logger, chunk: cfg.MemberChunk}
	h.disc = buildDiscovery()
	return h
}

const pathPrefix = "/scim/v2/"

// call is one SCIM operation: a request, or one operation of a Bulk request.
type call struct {
	method      string
	rest        string // the path below the tenant: "Users/123"
	rawQuery    string
	query       url.Values
	body        []byte
	ifMatch     string
	ifNoneMatch string
	ctx         context.Context
	tenant      string
	base        string // BaseURL + /scim/v2/{tenant}
	actor       store.Actor
	log         *zerolog.Logger
}

func (c *call) param(name string) string {
	if c.rawQuery == "" {
		return ""
	}
	if c.query == nil {
		c.query, _ = url.ParseQuery(c.rawQuery)
	}
	// Parameter names are case-insensitive (RFC 7644 §3.4.2).
	if v, ok := c.query[name]; ok && len(v) > 0 {
		return v[0]
	}
	for k, v := range c.query {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// result is what an operation answers.
type result struct {
	status   int
	v        any    // marshalled as the body; nil: no body
	raw      []byte // a prebuilt body (discovery)
	etag     string
	location string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := zerolog.Ctx(r.Context())
	if log.GetLevel() == zerolog.Disabled {
		l := h.log // a copy: request fields must not reach the shared logger
		log = &l
	}
	jsonOnly := scimwire.OnlyJSON(r.Header.Get("Accept"))
	// A bug must still answer as SCIM: a generic 500 body, the panic in the
	// log. (Answers are written only at the end, so nothing was sent yet;
	// a streamed answer that fails once begun aborts the connection.)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			log.Error().Str("panic", fmt.Sprint(v)).Bytes("stack", debug.Stack()).Msg("scim: panic serving request")
			writeError(w, jsonOnly, Error{Status: http.StatusInternalServerError,
				Detail: "internal error; retry later, and contact support quoting the request id if it persists"})
		}
	}()
	p, ok := scimauth.FromContext(r.Context())
	if !ok {
		writeError(w, jsonOnly, Error{Status: http.StatusUnauthorized, Detail: "authentication required: send the tenant's SCIM bearer token"})
		return
	}
	tenant, rest, ok := splitPath(r.URL.Path)
	if !ok || tenant != p.Tenant.ID {
		writeError(w, jsonOnly, Error{Status: http.StatusNotFound, Detail: "no SCIM endpoint at this path"})
		return
	}
	resource, op := operationOf(r.Method, rest)
	metrics.NoteSCIM(r.Context(), resource, op)
	actor := p.Actor
	actor.RequestID = requestid.FromContext(r.Context())
	c := &call{
		method: r.Method, rest: rest, rawQuery: r.URL.RawQuery,
		ifMatch: r.Header.Get("If-Match"), ifNoneMatch: r.Header.Get("If-None-Match"),
		ctx: r.Context(), tenant: tenant, base: h.base + pathPrefix + tenant, actor: actor, log: log,
	}
	if a := allowed(rest); a != "" && !containsMethod(a, r.Method) {
		w.Header().Set("Allow", a)
		writeError(w, jsonOnly, methodNotAllowed(r.Method, rest))
		return
	}
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		body, err := readBody(w, r)
		if err != nil {
			writeError(w, jsonOnly, h.scimError(c, err))
			return
		}
		c.body = body
	}
	res, err := h.dispatch(c)
	if err != nil {
		h.writeFailure(w, c, jsonOnly, err, rest)
		return
	}
	if body, ok := res.v.(bodyStreamer); ok {
		h.writeStream(w, c, jsonOnly, res, body)
		return
	}
	writeResult(w, jsonOnly, res)
}

// writeFailure answers err as a SCIM error; rest is the request's path
// below the tenant, for the Allow header of a 405.
func (h *handler) writeFailure(w http.ResponseWriter, c *call, jsonOnly bool, err error, rest string) {
	e := h.scimError(c, err)
	if e.Status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", allowed(rest))
	}
	if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	writeError(w, jsonOnly, e)
}

// scimError maps err, logging 5xx causes with the request's logger; a 4xx
// detail joins the request's access line (never a body or a token).
func (h *handler) scimError(c *call, err error) Error {
	e := toSCIM(c.ctx, *c.log, err)
	if e.Status < 500 {
		c.log.UpdateContext(func(l zerolog.Context) zerolog.Context {
			return l.Str("scim_error", truncate(e.Detail, 200))
		})
	}
	return e
}

// splitPath splits /scim/v2/{tenant}/{rest}.
func splitPath(p string) (tenant, rest string, ok bool) {
	if !strings.HasPrefix(p, pathPrefix) {
		return "", "", false
	}
	p = p[len(pathPrefix):]
	tenant, rest, _ = strings.Cut(p, "/")
	return tenant, strings.Trim(rest, "/"), tenant != ""
}

// readBody reads a request body of at most MaxBodyBytes; it refuses content
// types other than JSON (no Content-Type is read as JSON).
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		// Anything that may carry JSON is read as JSON (curl -d sends
		// application/x-www-form-urlencoded); other media types are refused.
		if err != nil || !(mt == "application/scim+json" || mt == "application/json" || strings.HasSuffix(mt, "+json") ||
			mt == "text/plain" || mt == "application/x-www-form-urlencoded") {
			return nil, Error{Status: http.StatusUnsupportedMediaType,
				Detail: "send the body as application/scim+json (or application/json), not " + ct}
		}
	}
	if r.ContentLength > MaxBodyBytes {
		return nil, tooLarge()
	}
	size := r.ContentLength
	if size < 0 || size > 64<<10 {
		size = 512
	}
	buf := make([]byte, 0, size+1)
	rd := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return nil, tooLarge()
			}
			return nil, badRequest(typeInvalidSyntax, "the request body could not be read")
		}
	}
	if len(bytes.TrimSpace(buf)) == 0 {
		return nil, badRequest(typeInvalidSyntax, "the request body is empty; send a JSON object")
	}
	return buf, nil
}

func tooLarge() Error {
	return Error{Status: http.StatusRequestEntityTooLarge, ScimType: typeTooMany,
		Detail: "the request body is larger than 4 MiB; split it into smaller requests"}
}

func methodNotAllowed(method, path string) Error {
	return Error{Status: http.StatusMethodNotAllowed, Detail: method + " is not allowed on " + path + "; use " + allowed(path)}
}

func containsMethod(list, method string) bool {
	for list != "" {
		var m string
		m, list, _ = strings.Cut(list, ", ")
		if m == method {
			return true
		}
	}
	return false
}

// allowed lists the methods of a path; "" for a path that does not exist.
func allowed(rest string) string {
	head, tail, _ := strings.Cut(rest, "/")
	switch {
	case strings.EqualFold(head, "Users") || strings.EqualFold(head, "Groups"):
		switch {
		case tail == "":
			return "GET, POST"
		case tail == ".search":
			return "POST"
		case strings.Contains(tail, "/"):
			return ""
		}
		return "GET, PUT, PATCH, DELETE"
	case (head == ".search" || strings.EqualFold(head, "Bulk")) && tail == "":
		return "POST"
	case strings.EqualFold(head, "ServiceProviderConfig") && tail == "",
		strings.EqualFold(head, "ResourceTypes"), strings.EqualFold(head, "Schemas"):
		return "GET"
	}
	return ""
}

// dispatch routes an operation. Resource endpoint names are matched
// case-insensitively.
func (h *handler) dispatch(c *call) (result, error) {
	head, id, _ := strings.Cut(c.rest, "/")
	switch {
	case strings.EqualFold(head, "Users"), strings.EqualFold(head, "Groups"):
		users := strings.EqualFold(head, "Users")
		name := "Groups"
		if users {
			name = "Users"
		}
		c.rest = name
		if id != "" {
			c.rest += "/" + id
		}
		switch {
		case id == "":
			switch c.method {
			case http.MethodGet:
				lp, err := c.listParams()
				if err != nil {
					return result{}, err
				}
				if users {
					return h.listUsers(c, lp)
				}
				return h.listGroups(c, lp)
			case http.MethodPost:
				if users {
					return h.createUser(c)
				}
				return h.createGroup(c)
			}
		case id == ".search":
			if c.method == http.MethodPost {
				lp, err := c.searchParams()
				if err != nil {
					return result{}, err
				}
				if users {
					return h.listUsers(c, lp)
				}
				return h.listGroups(c, lp)
			}
		case strings.Contains(id, "/"):
			return result{}, Error{Status: http.StatusNotFound, Detail: "no SCIM endpoint at this path"}
		default:
			switch c.method {
			case http.MethodGet:
				if users {
					return h.getUser(c, id)
				}
				return h.getGroup(c, id)
			case http.MethodPut:
				if users {
					return h.replaceUser(c, id)
				}
				return h.replaceGroup(c, id)
			case http.MethodPatch:
				if users {
					return h.patchUser(c, id)
				}
				return h.patchGroup(c, id)
			case http.MethodDelete:
				if users {
					return h.deleteUser(c, id)
				}
				return h.deleteGroup(c, id)
			}
		}
		return result{}, methodNotAllowed(c.method, c.rest)
	case head == ".search":
		if id != "" {
			break
		}
		if c.method != http.MethodPost {
			return result{}, methodNotAllowed(c.method, c.rest)
		}
		lp, err := c.searchParams()
		if err != nil {
			return result{}, err
		}
		return h.searchAll(c, lp)
	case strings.EqualFold(head, "Bulk"):
		if id != "" {
			break
		}
		if c.method != http.MethodPost {
			return result{}, methodNotAllowed(c.method, "Bulk")
		}
		return h.bulk(c)
	case strings.EqualFold(head, "ServiceProviderConfig"), strings.EqualFold(head, "ResourceTypes"), strings.EqualFold(head, "Schemas"):
		if c.method != http.MethodGet {
			return result{}, methodNotAllowed(c.method, head)
		}
		return h.disc.serve(c, head, id)
	case strings.EqualFold(head, "Me"):
		return result{}, Error{Status: http.StatusNotImplemented, Detail: "/Me is not supported: SCIM tokens belong to a tenant, not a user"}
	}
	return result{}, Error{Status: http.StatusNotFound, Detail: "no SCIM endpoint at this path; use Users, Groups, Bulk, ServiceProviderConfig, ResourceTypes or Schemas"}
}

// Response writing.

func writeResult(w http.ResponseWriter, jsonOnly bool, res result) {
	if res.v == nil && res.raw == nil {
		setLocators(w.Header(), res)
		w.WriteHeader(res.status)
		return
	}
	body := res.raw
	if body == nil {
		bp := bufPool.Get().(*[]byte)
		defer putBuf(bp)
		body = append(appendAny((*bp)[:0], res.v), '\n')
		*bp = body
	}
	setResultHeaders(w, jsonOnly, res)
	w.WriteHeader(res.status)
	_, _ = w.Write(body)
}

// setLocators sets the ETag and Location headers of a result.
func setLocators(hd http.Header, res result) {
	if res.etag != "" {
		hd["Etag"] = []string{res.etag}
	}
	if res.location != "" {
		hd["Location"] = []string{res.location}
	}
}

// setResultHeaders sets the headers of a result with a body.
func setResultHeaders(w http.ResponseWriter, jsonOnly bool, res result) {
	hd := w.Header()
	setLocators(hd, res)
	// Shared, never-modified header values: no allocation per response.
	if jsonOnly {
		hd["Content-Type"] = headerJSON
	} else {
		hd["Content-Type"] = headerSCIMJSON
	}
	hd["Cache-Control"] = headerNoStore
}

var (
	headerSCIMJSON = []string{"application/scim+json; charset=utf-8"}
	headerJSON     = []string{"application/json; charset=utf-8"}
	headerNoStore  = []string{"no-store"}
)

// bufPool holds response buffers; very large ones are not kept.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func putBuf(b *[]byte) {
	if cap(*b) <= 1<<20 {
		bufPool.Put(b)
	}
}

// writeError answers e through the writer the guard shares.
func writeError(w http.ResponseWriter, jsonOnly bool, e Error) {
	scimwire.WriteError(w, jsonOnly, e)
}

// ETags: meta.version is W/"<version>".

// etagMatches says whether an If-Match / If-None-Match header names the
// version: "*", or a list of (weak or strong) tags.
func etagMatches(header string, version int64) bool {
	want := etag(version)
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || t == want || "W/"+t == want {
			return true
		}
	}
	return false
}

// checkIfMatch is run inside an update transaction.
func (c *call) checkIfMatch(version int64) error {
	if c.ifMatch != "" && !etagMatches(c.ifMatch, version) {
		return store.ErrVersionMismatch
	}
	return nil
}
