package money

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

func TestParseAmountAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string // canonical String()
	}{
		{"0", "0"},
		{"-0", "0"},
		{"100.25", "100.25"},
		{"100.250", "100.25"},
		{"-3.5", "-3.5"},
		{"-0.5", "-0.5"},
		{"00012.5", "12.5"},
		{"0.000000000000000001", "0.000000000000000001"},                                       // 18 fractional digits
		{"12345678901234567890.123456789012345678", "12345678901234567890.123456789012345678"}, // exactly 38 digits
		{"-99999999999999999999.999999999999999999", "-99999999999999999999.999999999999999999"},
		{"99999999999999999999", "99999999999999999999"}, // 20 integer digits
		{"000000000000000000000000000001.5", "1.5"},      // leading zeros are not digits of the value
		{"1.000000000000000000", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			a, err := ParseAmount(tt.in)
			require.NoError(t, err)
			require.Equal(t, tt.want, a.String())
			require.True(t, a.Equal(decimal.RequireFromString(tt.in)))
		})
	}
}

func TestParseAmountRejects(t *testing.T) {
	t.Parallel()
	const grammar = `must be a decimal string like "100.25"`
	tests := []struct {
		name string
		in   string
		msg  string
	}{
		{"empty", "", "must not be empty"},
		{"exponent", "1e5", "must not use exponent notation"},
		{"exponent upper signed", "1.5E-3", "must not use exponent notation"},
		{"negative exponent mantissa", "-2e+10", "must not use exponent notation"},
		{"bare e", "1e", grammar},
		{"NaN", "NaN", grammar},
		{"Infinity", "Infinity", grammar},
		{"negative Infinity", "-Infinity", grammar},
		{"leading plus", "+1", grammar},
		{"leading space", " 1", grammar},
		{"trailing space", "1 ", grammar},
		{"trailing newline", "1\n", grammar},
		{"trailing dot", "1.", grammar},
		{"leading dot", ".1", grammar},
		{"negative leading dot", "-.1", grammar},
		{"only minus", "-", grammar},
		{"double minus", "--1", grammar},
		{"thousands separator", "1,000.00", grammar},
		{"decimal comma", "1,5", grammar},
		{"two dots", "1.2.3", grammar},
		{"underscore", "1_000", grammar},
		{"hex", "0x10", grammar},
		{"letters", "abc", grammar},
		{"non-ASCII digit", "١٢", grammar},
		{"19 fractional digits", "0.0000000000000000001", "has more than 18 digits after the decimal point"},
		{"19 fractional zeros", "1.0000000000000000000", "has more than 18 digits after the decimal point"},
		{"39 digits, 21 integer", "123456789012345678901.123456789012345678", "has more than 20 digits before the decimal point"},
		{"39 digits, 19 fractional", "12345678901234567890.1234567890123456789", "has more than 18 digits after the decimal point"},
		// 26 digits is under 38 but still overflows numeric(38,18), whose
		// integer part is capped at 20 digits whatever the input's scale.
		{"10^25", "10000000000000000000000000", "has more than 20 digits before the decimal point"},
		{"10^20", "100000000000000000000", "has more than 20 digits before the decimal point"},
		{"negative 10^20", "-100000000000000000000", "has more than 20 digits before the decimal point"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseAmount(tt.in)
			var merr *Error
			require.ErrorAs(t, err, &merr)
			require.Equal(t, tt.msg, merr.Msg)
			require.Equal(t, tt.msg, err.Error())
		})
	}
}

func TestAmountJSON(t *testing.T) {
	t.Parallel()
	type payload struct {
		Amount Amount `json:"amount"`
	}
	tests := []struct {
		name string
		in   string
		out  string // re-marshalled payload; empty when unmarshalling must fail
		msg  string
	}{
		{"plain", `{"amount":"100.25"}`, `{"amount":"100.25"}`, ""},
		{"trailing zeros dropped", `{"amount":"100.50"}`, `{"amount":"100.5"}`, ""},
		{"zero", `{"amount":"0.00"}`, `{"amount":"0"}`, ""},
		{"negative", `{"amount":"-3.5"}`, `{"amount":"-3.5"}`, ""},
		{"max", `{"amount":"99999999999999999999.999999999999999999"}`, `{"amount":"99999999999999999999.999999999999999999"}`, ""},
		{"escaped digits", `{"amount":"\u0031.5"}`, `{"amount":"1.5"}`, ""},
		{"number", `{"amount":100.25}`, "", `must be a decimal string like "100.25", not a number`},
		{"negative number", `{"amount":-1}`, "", `must be a decimal string like "100.25", not a number`},
		{"null", `{"amount":null}`, "", "must be a decimal string"},
		{"bool", `{"amount":true}`, "", "must be a decimal string"},
		{"object", `{"amount":{}}`, "", "must be a decimal string"},
		{"exponent string", `{"amount":"1e5"}`, "", "must not use exponent notation"},
		{"empty string", `{"amount":""}`, "", "must not be empty"},
		{"too precise", `{"amount":"0.0000000000000000001"}`, "", "has more than 18 digits after the decimal point"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var p payload
			err := json.Unmarshal([]byte(tt.in), &p)
			if tt.msg != "" {
				var merr *Error
				require.ErrorAs(t, err, &merr)
				require.Equal(t, tt.msg, merr.Msg)
				return
			}
			require.NoError(t, err)
			out, err := json.Marshal(p)
			require.NoError(t, err)
			require.JSONEq(t, tt.out, string(out))
			require.Equal(t, tt.out, string(out))
		})
	}
}

func TestAmountMarshalValueAndPointer(t *testing.T) {
	t.Parallel()
	// Pointer and value fields must marshal the same way, and the zero value
	// must be a valid amount rather than an empty string.
	out, err := json.Marshal(struct {
		V Amount  `json:"v"`
		P *Amount `json:"p"`
	}{P: &Amount{Decimal: decimal.RequireFromString("-12.30")}})
	require.NoError(t, err)
	require.Equal(t, `{"v":"0","p":"-12.3"}`, string(out))
}

func TestAmountUnmarshalText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
		msg  string
	}{
		{in: "42.10", want: "42.1"},
		{in: "1e5", msg: "must not use exponent notation"},
		{in: "+1", msg: `must be a decimal string like "100.25"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			var a Amount
			err := a.UnmarshalText([]byte(tt.in))
			if tt.msg != "" {
				var merr *Error
				require.ErrorAs(t, err, &merr)
				require.Equal(t, tt.msg, merr.Msg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, a.String())
		})
	}
}

func TestLookupCurrency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code string
		ok   bool
		want Currency
	}{
		{"USD", true, Currency{"USD", 2, Fiat}},
		{"EUR", true, Currency{"EUR", 2, Fiat}},
		{"GBP", true, Currency{"GBP", 2, Fiat}},
		{"HUF", true, Currency{"HUF", 2, Fiat}},
		{"JPY", true, Currency{"JPY", 0, Fiat}},
		{"KRW", true, Currency{"KRW", 0, Fiat}},
		{"VND", true, Currency{"VND", 0, Fiat}},
		{"CLP", true, Currency{"CLP", 0, Fiat}},
		{"ISK", true, Currency{"ISK", 0, Fiat}},
		{"KWD", true, Currency{"KWD", 3, Fiat}},
		{"BHD", true, Currency{"BHD", 3, Fiat}},
		{"TND", true, Currency{"TND", 3, Fiat}},
		{"JOD", true, Currency{"JOD", 3, Fiat}},
		{"OMR", true, Currency{"OMR", 3, Fiat}},
		{"LYD", true, Currency{"LYD", 3, Fiat}},
		{"IQD", true, Currency{"IQD", 3, Fiat}},
		{"CLF", true, Currency{"CLF", 4, Fiat}},
		{"UYW", true, Currency{"UYW", 4, Fiat}},
		{"XAU", true, Currency{"XAU", 0, Fiat}},
		{"XDR", true, Currency{"XDR", 0, Fiat}},
		{"XCG", true, Currency{"XCG", 2, Fiat}},
		{"USDC", true, Currency{"USDC", 6, Token}},
		{"USDT", true, Currency{"USDT", 6, Token}},
		{"PYUSD", true, Currency{"PYUSD", 6, Token}},
		{"DAI", true, Currency{"DAI", 18, Token}},
		{"ETH", true, Currency{"ETH", 18, Token}},
		{"BTC", true, Currency{"BTC", 8, Token}},
		{"SOL", true, Currency{"SOL", 9, Token}},
		{"POL", true, Currency{"POL", 18, Token}},
		{"usd", false, Currency{}},
		{"Usd", false, Currency{}},
		{"usdc", false, Currency{}},
		{"XYZ", false, Currency{}},
		{"ANG", false, Currency{}}, // withdrawn, replaced by XCG
		{"", false, Currency{}},
		{" USD", false, Currency{}},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			got, ok := LookupCurrency(tt.code)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestCurrencyTables(t *testing.T) {
	t.Parallel()
	require.Len(t, isoDecimals, 178, "ISO 4217 List One published 2026-01-01 has 178 codes")
	codeRE := regexp.MustCompile(`^[A-Z]{3}$`)
	for code, d := range isoDecimals {
		require.Regexp(t, codeRE, code)
		require.Contains(t, []int32{0, 2, 3, 4}, d, code)
	}
	for code, d := range tokenDecimals {
		_, clash := isoDecimals[code]
		require.False(t, clash, "token %s shadows an ISO code", code)
		require.Equal(t, strings.ToUpper(code), code)
		// Every currency's minor unit must be storable in numeric(38,18).
		require.LessOrEqual(t, d, int32(MaxFractionDigits), code)
	}
}

func TestValidateCurrency(t *testing.T) {
	t.Parallel()
	const generic = "must be an upper-case ISO 4217 code or a supported token symbol (e.g. USD, USDC)"
	tests := []struct {
		code string
		msg  string // empty means valid
	}{
		{"USD", ""},
		{"USDC", ""},
		{"usd", `must be upper case ("USD", not "usd")`},
		{"usdc", `must be upper case ("USDC", not "usdc")`},
		{"XYZ", generic},
		{"xyz", generic},
		{"", generic},
		{"US", generic},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			err := ValidateCurrency(tt.code)
			if tt.msg == "" {
				require.NoError(t, err)
				return
			}
			var merr *Error
			require.ErrorAs(t, err, &merr)
			require.Equal(t, tt.msg, merr.Msg)
		})
	}
}

func TestMinorUnit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code string
		want string
	}{
		{"USD", "0.01"},
		{"JPY", "1"},
		{"KWD", "0.001"},
		{"CLF", "0.0001"},
		{"USDC", "0.000001"},
		{"BTC", "0.00000001"},
		{"ETH", "0.000000000000000001"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			c, ok := LookupCurrency(tt.code)
			require.True(t, ok)
			require.Equal(t, tt.want, c.MinorUnit().String())
			// The minor unit itself must pass the wire format.
			a, err := ParseAmount(c.MinorUnit().String())
			require.NoError(t, err)
			require.True(t, a.Equal(c.MinorUnit()))
		})
	}
}

// plainDecimal is the accepted grammar restated independently of the
// hand-written scanner, so the fuzzer can compare the two.
var plainDecimal = regexp.MustCompile(`^-?([0-9]+)(\.([0-9]+))?$`)

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{
		"0", "-0", "100.25", "-0.5", "00012.5", "1e5", "NaN", "Infinity", "+1", " 1",
		"1.", ".1", "", "1,000.00", "0.000000000000000001", "0.0000000000000000001",
		"12345678901234567890.123456789012345678", "123456789012345678901.12345678901234567",
		"10000000000000000000000000", "-99999999999999999999.999999999999999999",
	} {
		f.Add(s)
	}
	limit := decimal.New(1, MaxIntegerDigits)
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAmount(s)

		m := plainDecimal.FindStringSubmatch(s)
		wantOK := m != nil &&
			len(m[3]) <= MaxFractionDigits &&
			len(strings.TrimLeft(m[1], "0")) <= MaxIntegerDigits
		if !wantOK {
			var merr *Error
			if !errors.As(err, &merr) {
				t.Fatalf("ParseAmount(%q) = %v, %v; want *Error", s, a, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("ParseAmount(%q) rejected valid input: %v", s, err)
		}
		if !a.Equal(decimal.RequireFromString(s)) {
			t.Fatalf("ParseAmount(%q) = %s, want the same value", s, a)
		}
		if a.Abs().GreaterThanOrEqual(limit) || a.Exponent() < -MaxFractionDigits {
			t.Fatalf("ParseAmount(%q) = %s (exp %d) does not fit numeric(38,18)", s, a, a.Exponent())
		}
		again, err := ParseAmount(a.String())
		if err != nil || !again.Equal(a.Decimal) {
			t.Fatalf("String() %q of ParseAmount(%q) does not re-parse: %v, %v", a.String(), s, again, err)
		}
		js, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var back Amount
		if err := json.Unmarshal(js, &back); err != nil || !back.Equal(a.Decimal) {
			t.Fatalf("JSON round trip of %q via %s: %v, %v", s, js, back, err)
		}
	})
}
