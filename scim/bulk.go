package scim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// Bulk (RFC 7644 §3.7): operations run in order, each in its own
// transaction (each is an ordinary Users or Groups request); "bulkId:x" in a
// path or a data string is the id created by the earlier POST whose bulkId is
// x. failOnErrors stops after that many failed operations.

type bulkRequest struct {
	Schemas      []string        `json:"schemas"`
	FailOnErrors json.RawMessage `json:"failOnErrors"`
	Operations   []bulkOp        `json:"Operations"`
}

type bulkOp struct {
	Method  string          `json:"method"`
	BulkID  string          `json:"bulkId"`
	Version string          `json:"version"`
	Path    string          `json:"path"`
	Data    json.RawMessage `json:"data"`
}

type bulkOpOut struct {
	Method   string `json:"method"`
	BulkID   string `json:"bulkId,omitempty"`
	Version  string `json:"version,omitempty"`
	Location string `json:"location,omitempty"`
	Status   string `json:"status"`
	Response any    `json:"response,omitempty"`
}

type bulkOut struct {
	Schemas    []string    `json:"schemas"`
	Operations []bulkOpOut `json:"Operations"`
}

func (h *handler) bulk(c *call) (result, error) {
	var req bulkRequest
	if err := decodeBody(c.body, &req); err != nil {
		return result{}, err
	}
	if req.Schemas != nil && !containsFold(req.Schemas, schemaBulkReq) {
		return result{}, badRequest(typeInvalidValue, "schemas must be [%q]", schemaBulkReq)
	}
	if len(req.Operations) > maxBulkOperations {
		return result{}, Error{Status: http.StatusRequestEntityTooLarge, ScimType: typeTooMany,
			Detail: "a Bulk request may carry at most " + strconv.Itoa(maxBulkOperations) + " operations; this one has " + strconv.Itoa(len(req.Operations))}
	}
	if len(req.Operations) == 0 {
		return result{}, badRequest(typeInvalidValue, "Operations is empty")
	}
	failOnErrors := 0
	if !isNull(req.FailOnErrors) {
		n, err := strconv.Atoi(strings.Trim(string(req.FailOnErrors), `" `))
		if err != nil || n < 0 {
			return result{}, badRequest(typeInvalidValue, "failOnErrors must be a positive integer")
		}
		failOnErrors = n
	}
	seen := map[string]bool{}
	for i, op := range req.Operations {
		if op.BulkID == "" {
			continue
		}
		if seen[op.BulkID] {
			return result{}, badRequest(typeUniqueness, "operation %d: bulkId %q is used twice", i+1, op.BulkID)
		}
		seen[op.BulkID] = true
	}
	// Operations run in request order, except that one referencing the
	// bulkId of a later POST waits until that POST has run (RFC 7644
	// §3.7.2). Results are reported in request order.
	ids := map[string]string{}
	pending := map[string]bool{} // bulkIds of POSTs not yet run
	for _, op := range req.Operations {
		if op.BulkID != "" && strings.EqualFold(strings.TrimSpace(op.Method), http.MethodPost) {
			pending[op.BulkID] = true
		}
	}
	results := make([]*bulkOpOut, len(req.Operations))
	done := make([]bool, len(req.Operations))
	errorsSeen, remaining := 0, len(req.Operations)
run:
	for progress := true; progress && remaining > 0; {
		progress = false
		for i, op := range req.Operations {
			if done[i] || !refsReady(op, pending) {
				continue
			}
			o := h.bulkOne(c, op, ids)
			delete(pending, op.BulkID)
			results[i], done[i] = &o, true
			remaining--
			progress = true
			if o.Response != nil {
				errorsSeen++
				if failOnErrors > 0 && errorsSeen >= failOnErrors {
					break run
				}
			}
		}
	}
	out := bulkOut{Schemas: []string{schemaBulkResp}, Operations: make([]bulkOpOut, 0, len(req.Operations))}
	stopped := failOnErrors > 0 && errorsSeen >= failOnErrors
	for i, op := range req.Operations {
		switch {
		case results[i] != nil:
			out.Operations = append(out.Operations, *results[i])
		case !stopped: // a circular reference
			e := Error{Status: http.StatusConflict, ScimType: typeInvalidValue,
				Detail: "the bulkId references of this operation form a cycle; they cannot be resolved"}
			out.Operations = append(out.Operations, bulkOpOut{Method: strings.ToUpper(op.Method), BulkID: op.BulkID, Status: "409", Response: e.Body()})
		}
	}
	return result{status: http.StatusOK, v: &out}, nil
}

// refsReady says whether no bulkId the operation references belongs to a
// POST of the request that has not run yet.
func refsReady(op bulkOp, pending map[string]bool) bool {
	for _, src := range [...][]byte{[]byte(op.Path), op.Data} {
		rest := src
		for {
			i := bytes.Index(rest, []byte("bulkId:"))
			if i < 0 {
				break
			}
			end := i + len("bulkId:")
			for end < len(rest) && rest[end] != '"' && rest[end] != '/' && rest[end] != '?' && rest[end] != ' ' {
				end++
			}
			ref := string(rest[i+len("bulkId:") : end])
			if pending[ref] {
				return false
			}
			rest = rest[end:]
		}
	}
	return true
}

func (h *handler) bulkOne(parent *call, op bulkOp, ids map[string]string) bulkOpOut {
	method := strings.ToUpper(strings.TrimSpace(op.Method))
	o := bulkOpOut{Method: method, BulkID: op.BulkID}
	fail := func(e Error) bulkOpOut {
		o.Status = strconv.Itoa(e.Status)
		o.Response = e.Body()
		return o
	}
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		o.Method = op.Method
		return fail(badRequest(typeInvalidValue, "method %q is not POST, PUT, PATCH or DELETE", truncate(op.Method, 20)))
	}
	if method == http.MethodPost && op.BulkID == "" {
		return fail(badRequest(typeInvalidValue, "a POST operation needs a bulkId"))
	}
	path, err := resolveBulkIDs([]byte(op.Path), ids, false)
	if err != nil {
		return fail(err.(Error))
	}
	rest, rawQuery, _ := strings.Cut(strings.TrimPrefix(string(path), "/"), "?")
	head, _, _ := strings.Cut(rest, "/")
	if !strings.EqualFold(head, "Users") && !strings.EqualFold(head, "Groups") {
		return fail(badRequest(typeInvalidPath, "path %q: a Bulk operation acts on /Users or /Groups", truncate(op.Path, 100)))
	}
	var body []byte
	if method != http.MethodDelete {
		if isNull(op.Data) {
			return fail(badRequest(typeInvalidValue, "%s needs data", method))
		}
		if body, err = resolveBulkIDs(op.Data, ids, true); err != nil {
			return fail(err.(Error))
		}
	}
	l := *parent.log // a copy: per-operation fields stay off the request's access line
	c := &call{method: method, rest: rest, rawQuery: rawQuery, body: body, ifMatch: op.Version,
		ctx: parent.ctx, tenant: parent.tenant, base: parent.base, actor: parent.actor, log: &l}
	res, derr := h.dispatch(c)
	if derr != nil {
		return fail(h.scimError(c, derr))
	}
	o.Status = strconv.Itoa(res.status)
	o.Version = res.etag
	o.Location = res.location
	if o.Location == "" && method != http.MethodDelete {
		o.Location = parent.base + "/" + c.rest
	}
	if method == http.MethodPost && res.location != "" {
		ids[op.BulkID] = res.location[strings.LastIndexByte(res.location, '/')+1:]
	}
	return o
}

// resolveBulkIDs replaces "bulkId:x" references by the ids created earlier
// in the request. In data only whole JSON strings are references.
func resolveBulkIDs(b []byte, ids map[string]string, quoted bool) ([]byte, error) {
	const marker = "bulkId:"
	if !bytes.Contains(b, []byte(marker)) {
		return b, nil
	}
	var out []byte
	rest := b
	for {
		i := bytes.Index(rest, []byte(marker))
		if i < 0 {
			return append(out, rest...), nil
		}
		if quoted && (i == 0 || rest[i-1] != '"') {
			out = append(out, rest[:i+len(marker)]...)
			rest = rest[i+len(marker):]
			continue
		}
		end := i + len(marker)
		for end < len(rest) && rest[end] != '"' && rest[end] != '/' && rest[end] != '?' && rest[end] != ' ' {
			end++
		}
		ref := string(rest[i+len(marker) : end])
		id, ok := ids[ref]
		if !ok {
			return nil, Error{Status: http.StatusConflict, ScimType: typeInvalidValue,
				Detail: "bulkId " + strconv.Quote(truncate(ref, 64)) + " is not created by an earlier operation of this request"}
		}
		out = append(out, rest[:i]...)
		out = append(out, id...)
		rest = rest[end:]
	}
}
