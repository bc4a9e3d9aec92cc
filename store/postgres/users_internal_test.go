package postgres

import (
	"strings"
	"testing"
)

// TestUserCols_followTheTable: the columns every user read selects
// (userCols, a constant because constant statements are built from it) are
// the ones the attribute table derives, in the order scanUser reads them,
// so a simple string added to store.UserSchema is read into its field and
// never into its neighbour's.
func TestUserCols_followTheTable(t *testing.T) {
	if got := strings.Join(strings.Fields(userCols), " "); got != userColumns {
		t.Fatalf("userCols does not follow the attribute table:\n got %s\nwant %s", got, userColumns)
	}
}
