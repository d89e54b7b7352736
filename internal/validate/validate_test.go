package validate

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// An issue about the body as a whole (malformed JSON, an empty body) has no
// field to name: its path is still an array, as the envelope promises, not
// null.
func TestIssueWithoutPathIsAnEmptyArray(t *testing.T) {
	t.Parallel()
	var is Issues
	is.Add(nil, "The request body is empty; send a JSON object.")
	is = append(is, Issue{Message: "built by hand"})
	b, err := json.Marshal(is)
	require.NoError(t, err)
	require.JSONEq(t, `[{"path":[],"message":"The request body is empty; send a JSON object."},{"path":[],"message":"built by hand"}]`, string(b))

	b, err = json.Marshal(Issue{Path: []string{"metadata", "0"}, Message: "m"})
	require.NoError(t, err)
	require.JSONEq(t, `{"path":["metadata","0"],"message":"m"}`, string(b))
}
