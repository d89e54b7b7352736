package matcher

import (
	"encoding/json"

	"github.com/shopspring/decimal"

	"github.com/reconlayer/reconlayer/internal/numeric"
)

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func ptr[T any](v T) *T { return &v }

func numericFrom(s string) numeric.Decimal { return numeric.From(decimal.RequireFromString(s)) }
