package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// The request shapes the load tool sends, as Okta sends them
// (docs/idp-decisions.md): the same bodies and paths go to rosterd and
// to the bare baseline, so that both parse the same bytes.

const (
	userSchema  = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group"
	patchSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

var jsonHeader = http.Header{"Content-Type": {"application/scim+json"}, "Accept": {"application/scim+json"}}

// seededUserName is the userName of the i-th seeded user (0-based).
func seededUserName(i int) string { return fmt.Sprintf("user%09d@example.com", i) }

// createUserBody is Okta's POST /Users body for a new person.
func createUserBody(userName string, n int64) []byte {
	b, err := json.Marshal(map[string]any{
		"schemas":  []string{userSchema},
		"userName": userName,
		"name":     map[string]string{"givenName": "Load", "familyName": fmt.Sprintf("User%d", n)},
		"emails": []map[string]any{
			{"primary": true, "value": userName, "type": "work"},
		},
		"displayName": fmt.Sprintf("Load User%d", n),
		"externalId":  fmt.Sprintf("00u%017d", n),
		"groups":      []any{},
		"password":    "1mz050nq",
		"active":      true,
	})
	if err != nil {
		panic(err) // a map of strings and slices always marshals
	}
	return b
}

// createUser is POST {prefix}/Users for the n-th new user of run.
func createUser(prefix, run string, n int64) request {
	userName := fmt.Sprintf("load-%s-%d@example.com", run, n)
	return request{Method: http.MethodPost, Path: prefix + "/Users", Body: createUserBody(userName, n),
		Header: jsonHeader, Want: http.StatusCreated}
}

// filterPath is Okta's lookup: GET /Users?filter=userName eq "…"&startIndex=1&count=100,
// the filter percent-encoded as Okta sends it.
func filterPath(prefix, userName string) string {
	q := "filter=" + url.QueryEscape(fmt.Sprintf("userName eq %q", userName)) + "&startIndex=1&count=100"
	return prefix + "/Users?" + strings.ReplaceAll(q, "+", "%20")
}

func filterUser(prefix, userName string) request {
	return request{Method: http.MethodGet, Path: filterPath(prefix, userName), Header: jsonHeader, Want: http.StatusOK}
}

func getUser(prefix, id string) request {
	return request{Method: http.MethodGet, Path: prefix + "/Users/" + url.PathEscape(id), Header: jsonHeader, Want: http.StatusOK}
}

// createGroup is Okta's Group Push: POST /Groups with no members.
func createGroup(prefix, displayName string) request {
	b, _ := json.Marshal(map[string]any{"schemas": []string{groupSchema}, "displayName": displayName, "members": []any{}})
	return request{Method: http.MethodPost, Path: prefix + "/Groups", Body: b, Header: jsonHeader, Want: http.StatusCreated}
}

// addMembersBody is Okta's member delta: one add op on members listing the users.
func addMembersBody(userIDs []string) []byte {
	type member struct {
		Value string `json:"value"`
	}
	type op struct {
		Op    string   `json:"op"`
		Path  string   `json:"path"`
		Value []member `json:"value"`
	}
	ms := make([]member, len(userIDs))
	for i, id := range userIDs {
		ms[i] = member{Value: id}
	}
	b, err := json.Marshal(struct {
		Schemas    []string `json:"schemas"`
		Operations []op     `json:"Operations"`
	}{[]string{patchSchema}, []op{{Op: "add", Path: "members", Value: ms}}})
	if err != nil {
		panic(err)
	}
	return b
}

// addMembers is PATCH /Groups/{id} adding the users; a group PATCH answers 204.
func addMembers(prefix, groupID string, userIDs []string) request {
	return request{Method: http.MethodPatch, Path: prefix + "/Groups/" + url.PathEscape(groupID),
		Body: addMembersBody(userIDs), Header: jsonHeader, Want: http.StatusNoContent}
}

// getGroupNoMembers is Entra's GET /Groups/{id}?excludedAttributes=members.
func getGroupNoMembers(prefix, groupID string) request {
	return request{Method: http.MethodGet, Path: prefix + "/Groups/" + url.PathEscape(groupID) + "?excludedAttributes=members",
		Header: jsonHeader, Want: http.StatusOK}
}

// listPage is one page of an import: GET /Users?startIndex=s&count=c.
func listPage(prefix string, startIndex, count int) request {
	return request{Method: http.MethodGet, Path: fmt.Sprintf("%s/Users?startIndex=%d&count=%d", prefix, startIndex, count),
		Header: jsonHeader, Want: http.StatusOK}
}

// listResponse is the part of a SCIM ListResponse the tool reads.
type listResponse struct {
	Schemas      []string `json:"schemas"`
	TotalResults int      `json:"totalResults"`
	StartIndex   int      `json:"startIndex"`
	ItemsPerPage int      `json:"itemsPerPage"`
	Resources    []struct {
		ID       string `json:"id"`
		UserName string `json:"userName"`
	} `json:"Resources"`
}

// resourceID reads the id of a resource answer.
func resourceID(body []byte) (string, error) {
	var r struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return "", fmt.Errorf("answer is not JSON: %w: %s", err, shorten(body))
	}
	if r.ID == "" {
		return "", fmt.Errorf("answer has no id: %s", shorten(body))
	}
	return r.ID, nil
}
