package scim

import (
	"net/http"
	"strings"

	"github.com/roster-dev/roster/internal/metrics"
)

// operationOf names the SCIM operation a request is, for the metrics
// (metrics.NoteSCIM): its resource and operation, from the short lists of
// package metrics, whatever the path's case or id. A path or method that
// serves nothing is "other".
func operationOf(method, rest string) (resource, op string) {
	head, id, _ := strings.Cut(rest, "/")
	switch {
	case strings.EqualFold(head, "Users"), strings.EqualFold(head, "Groups"):
		resource = metrics.ResourceGroups
		if strings.EqualFold(head, "Users") {
			resource = metrics.ResourceUsers
		}
		switch {
		case id == "" && method == http.MethodGet:
			return resource, metrics.OpList
		case id == "" && method == http.MethodPost:
			return resource, metrics.OpCreate
		case id == ".search" && method == http.MethodPost:
			return resource, metrics.OpSearch
		case id == "" || id == ".search" || strings.Contains(id, "/"):
			return resource, metrics.OpOther
		}
		switch method {
		case http.MethodGet:
			return resource, metrics.OpGet
		case http.MethodPut:
			return resource, metrics.OpReplace
		case http.MethodPatch:
			return resource, metrics.OpPatch
		case http.MethodDelete:
			return resource, metrics.OpDelete
		}
		return resource, metrics.OpOther
	case head == ".search" && id == "" && method == http.MethodPost:
		return metrics.ResourceSearch, metrics.OpSearch
	case strings.EqualFold(head, "Bulk") && id == "" && method == http.MethodPost:
		return metrics.ResourceBulk, metrics.OpBulk
	case strings.EqualFold(head, "ServiceProviderConfig"), strings.EqualFold(head, "ResourceTypes"), strings.EqualFold(head, "Schemas"):
		if method == http.MethodGet {
			return metrics.ResourceDiscovery, metrics.OpGet
		}
	}
	return metrics.ResourceOther, metrics.OpOther
}
