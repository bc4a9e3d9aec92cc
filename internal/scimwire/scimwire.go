// Package scimwire writes SCIM error answers (RFC 7644 §3.12). The SCIM handler
// (package scim) and the guard in front of it (package scimauth) both answer
// through WriteError, so that a refusal has the same body and headers
// whichever of them writes it. It sits apart from both because scim imports
// scimauth (for the Principal) and scimauth must not import scim.
package scimwire

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// ErrorSchema is the schema of a SCIM error body.
const ErrorSchema = "urn:ietf:params:scim:api:messages:2.0:Error"

// Error is a SCIM error: an HTTP status, the RFC 7644 §3.12 scimType (may be
// empty) and a detail written for the IT admin reading an IdP's
// provisioning log, never an internal message.
type Error struct {
	Status   int
	ScimType string
	Detail   string
}

func (e Error) Error() string { return e.Detail }

// Body is the wire form of an Error; a Bulk answer embeds it per operation.
type Body struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail,omitempty"`
}

// Body is the error's wire form: status as a string, as RFC 7644 §3.12 has it.
func (e Error) Body() Body {
	return Body{Schemas: []string{ErrorSchema}, Status: strconv.Itoa(e.Status), ScimType: e.ScimType, Detail: e.Detail}
}

// OnlyJSON says whether an Accept header asks only for application/json:
// it names application/json and neither application/scim+json nor */*
// (OneLogin's documentation asks for application/json answers;
// docs/idp-decisions.md, decision 13).
func OnlyJSON(accept string) bool {
	if accept == "" || !strings.Contains(accept, "application/json") {
		return false
	}
	return !strings.Contains(accept, "scim+json") && !strings.Contains(accept, "*/*")
}

// ContentType is the media type of an answer: application/scim+json, or
// application/json when the client asks only for that (OnlyJSON).
func ContentType(jsonOnly bool) string {
	if jsonOnly {
		return "application/json; charset=utf-8"
	}
	return "application/scim+json; charset=utf-8"
}

// DefaultChallenge is the WWW-Authenticate challenge of a 401 whose writer
// set none: a bearer token is wanted, no error code (RFC 6750 §3.1).
const DefaultChallenge = `Bearer realm="roster"`

// ErrorNoter is a ResponseWriter that wants to know the SCIM error written
// through it: the guard's, which keeps the detail for the tenant's
// activity log (package scimauth) without parsing the body back.
type ErrorNoter interface {
	NoteError(Error)
}

// WriteError answers e: the SCIM error body, Content-Type by jsonOnly,
// Cache-Control: no-store (an error may name a tenant's users or tokens),
// X-Content-Type-Options: nosniff, and on a 401 the WWW-Authenticate
// challenge RFC 7235 §3.1 requires (DefaultChallenge unless the caller set
// one). Other headers (Retry-After, Allow) are the caller's to set before.
// Status 499 (the client went away) is written as 400: no client reads it,
// and it is no status an HTTP client knows; the body keeps 499 for the log.
func WriteError(w http.ResponseWriter, jsonOnly bool, e Error) {
	if n, ok := w.(ErrorNoter); ok {
		n.NoteError(e)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(e.Body())
	hd := w.Header()
	hd.Set("Content-Type", ContentType(jsonOnly))
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	status := e.Status
	if status == http.StatusUnauthorized && hd.Get("WWW-Authenticate") == "" {
		hd.Set("WWW-Authenticate", DefaultChallenge)
	}
	if status == 499 {
		status = http.StatusBadRequest
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
