package money

import (
	"strings"

	"github.com/shopspring/decimal"
)

// CurrencyKind tells ISO 4217 currencies from on-chain tokens; the zero
// value is deliberately not a valid kind.
type CurrencyKind uint8

const (
	Fiat CurrencyKind = iota + 1
	Token
)

func (k CurrencyKind) String() string {
	switch k {
	case Fiat:
		return "fiat"
	case Token:
		return "token"
	default:
		return "unknown"
	}
}

// Currency is a supported currency and the number of decimal places its
// amounts are settled in.
type Currency struct {
	Code     string
	Decimals int32
	Kind     CurrencyKind
}

// MinorUnit is the smallest amount of c that can settle: 10^-Decimals.
func (c Currency) MinorUnit() decimal.Decimal {
	return decimal.New(1, -c.Decimals)
}

// LookupCurrency finds a currency by its exact code. Codes are case
// sensitive on purpose: silently upper-casing would let "usd" through one
// path and fail on another that compares codes byte for byte.
func LookupCurrency(code string) (Currency, bool) {
	if d, ok := isoDecimals[code]; ok {
		return Currency{Code: code, Decimals: d, Kind: Fiat}, true
	}
	if d, ok := tokenDecimals[code]; ok {
		return Currency{Code: code, Decimals: d, Kind: Token}, true
	}
	return Currency{}, false
}

const msgCurrency = "must be an upper-case ISO 4217 code or a supported token symbol (e.g. USD, USDC)"

// ValidateCurrency returns nil for a supported code and an *Error otherwise.
func ValidateCurrency(code string) error {
	if _, ok := LookupCurrency(code); ok {
		return nil
	}
	// Only echo the input back when it is a known code in the wrong case, so
	// the message stays short and never reflects arbitrary client text.
	if upper := strings.ToUpper(code); upper != code {
		if _, ok := LookupCurrency(upper); ok {
			return &Error{Msg: `must be upper case ("` + upper + `", not "` + code + `")`}
		}
	}
	return &Error{Msg: msgCurrency}
}

// isoDecimals is ISO 4217 List One (SIX, published 2026-01-01): every active
// alphabetic code, fund and special codes included, with its minor-unit
// exponent. ISO's "N.A." (metals, SDR, bond-market units, XTS, XXX) is 0.
// Withdrawn codes (ANG, BGN, CUC, HRK, SLL, ZWL, ...) are absent.
var isoDecimals = map[string]int32{
	// Exponent 0.
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0,
	"KRW": 0, "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0,
	"XAF": 0, "XOF": 0, "XPF": 0,
	// Exponent N.A. in ISO: metals, SDR, accounting units, testing, no currency.
	"XAG": 0, "XAU": 0, "XBA": 0, "XBB": 0, "XBC": 0, "XBD": 0, "XDR": 0,
	"XPD": 0, "XPT": 0, "XSU": 0, "XTS": 0, "XUA": 0, "XXX": 0,

	// Exponent 3.
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,

	// Exponent 4.
	"CLF": 4, "UYW": 4,

	// Exponent 2.
	"AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "AOA": 2, "ARS": 2, "AUD": 2,
	"AWG": 2, "AZN": 2, "BAM": 2, "BBD": 2, "BDT": 2, "BMD": 2, "BND": 2,
	"BOB": 2, "BOV": 2, "BRL": 2, "BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2,
	"BZD": 2, "CAD": 2, "CDF": 2, "CHE": 2, "CHF": 2, "CHW": 2, "CNY": 2,
	"COP": 2, "COU": 2, "CRC": 2, "CUP": 2, "CVE": 2, "CZK": 2, "DKK": 2,
	"DOP": 2, "DZD": 2, "EGP": 2, "ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2,
	"FKP": 2, "GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2, "GTQ": 2,
	"GYD": 2, "HKD": 2, "HNL": 2, "HTG": 2, "HUF": 2, "IDR": 2, "ILS": 2,
	"INR": 2, "IRR": 2, "JMD": 2, "KES": 2, "KGS": 2, "KHR": 2, "KPW": 2,
	"KYD": 2, "KZT": 2, "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2,
	"MAD": 2, "MDL": 2, "MGA": 2, "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2,
	"MRU": 2, "MUR": 2, "MVR": 2, "MWK": 2, "MXN": 2, "MXV": 2, "MYR": 2,
	"MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2, "NZD": 2,
	"PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2, "QAR": 2,
	"RON": 2, "RSD": 2, "RUB": 2, "SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2,
	"SEK": 2, "SGD": 2, "SHP": 2, "SLE": 2, "SOS": 2, "SRD": 2, "SSP": 2,
	"STN": 2, "SVC": 2, "SYP": 2, "SZL": 2, "THB": 2, "TJS": 2, "TMT": 2,
	"TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2, "TZS": 2, "UAH": 2, "USD": 2,
	"USN": 2, "UYU": 2, "UZS": 2, "VED": 2, "VES": 2, "WST": 2, "XAD": 2,
	"XCD": 2, "XCG": 2, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2,
}

// tokenDecimals holds the decimals of each token's canonical contract on its
// main chain. Bridged or other-chain deployments can differ (USDT and USDC
// on BNB Chain use 18), so chain-specific amounts must be converted first.
var tokenDecimals = map[string]int32{
	"USDC":  6,
	"USDT":  6,
	"EURC":  6,
	"PYUSD": 6,
	"DAI":   18,
	"USDP":  18,
	"BUSD":  18,
	"TUSD":  18,
	"ETH":   18,
	"BTC":   8,
	"SOL":   9,
	"MATIC": 18,
	"POL":   18,
}
