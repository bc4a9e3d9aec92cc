package console

import (
	"strings"
	"testing"
)

// TestAPIErrorText_saysEachSentenceOnce: an admin API refusal whose
// message already holds its fields' sentences (invalid_metadata,
// invalid_request) is shown with each sentence once; a field the message
// does not mention is still named.
func TestAPIErrorText_saysEachSentenceOnce(t *testing.T) {
	fault := "the document's root element is <html>, not a SAML <EntityDescriptor> or <EntitiesDescriptor>; upload your IdP's SAML metadata"
	e := &apiError{Status: 400, Code: "invalid_metadata", Message: fault, Fields: []apiFieldErr{{Field: "metadata", Message: fault}}}
	if got := e.Text(); got != fault {
		t.Errorf("Text() = %q, want the fault once", got)
	}
	e = &apiError{Status: 400, Code: "invalid_request", Message: "the request is invalid", Fields: []apiFieldErr{{Field: "url", Message: "is required"}}}
	if got := e.Text(); !strings.Contains(got, "url is required.") {
		t.Errorf("Text() = %q, want the field named", got)
	}
}
