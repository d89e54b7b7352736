package statement

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// Profile tells ParseCSV how to read one kind of CSV export: its dialect
// (delimiter, quoting, header, preamble, character set), its number and
// date notation, and which column holds which canonical field. Profiles
// are stored as JSON by the import-profiles API; Validate reports every
// problem with its JSON path so the API can name the field.
//
// Canonical paths are dotted camelCase ("amount", "amount.currency",
// "providerTransferId"), because the same profiles serve bank statements,
// PSP reports and ledgers. The well-known statement paths (amount,
// debitAmount, creditAmount, currency, direction, bookingDate, valueDate,
// status, bankReference, customerReference, endToEndId, transactionId,
// counterpartyName, counterpartyAccount, remittance, description, typeCode,
// accountId) also fill the typed Entry fields; every mapped path is in
// Entry.Fields, normalized: decimals as canonical decimal strings, dates
// as YYYY-MM-DD, datetimes as RFC 3339.
type Profile struct {
	// Delimiter is one character; "" means ",". A tab may be given as
	// the tab character or as the two characters `\t`.
	Delimiter string `json:"delimiter"`
	// Quote is one character; omitted (nil) means `"`, "" means fields are
	// never quoted.
	Quote *string `json:"quote,omitempty"`
	// HeaderRow says whether the first line after SkipRows names the
	// columns; omitted (nil) means true.
	HeaderRow *bool `json:"headerRow,omitempty"`
	// SkipRows is the number of lines before the header (or before the
	// first row when there is no header): bank preambles. 0–100.
	SkipRows int `json:"skipRows"`
	// Encoding is the 8-bit character set of lines that are not valid
	// UTF-8: "" or "windows-1252" (Western Europe; ISO 8859-1 is a
	// subset), or "windows-1250" (Central Europe). Valid UTF-8 lines are
	// always read as UTF-8.
	Encoding string `json:"encoding,omitempty"`
	// DateFormat uses the tokens YYYY YY MMM MM M DD D HH mm ss and the
	// separators space . / - : , T; "" means "YYYY-MM-DD". MM and DD
	// need two digits, M and D accept one or two; MMM is an English
	// month abbreviation (Jan); YY is 1969–2068.
	DateFormat string `json:"dateFormat"`
	// DecimalSeparator is "." (default, also for "") or ",".
	DecimalSeparator string `json:"decimalSeparator"`
	// ThousandsSeparator is "", ",", ".", " " or "'"; it must differ from
	// the decimal separator. When set, digit groups must have three
	// digits ("1.234,56"; "1.5" is then an error, not 15).
	ThousandsSeparator string `json:"thousandsSeparator"`
	// Fields maps columns to canonical paths; at least one.
	Fields []FieldMapping `json:"fields"`
	// ValueMappings maps, per canonical path, a raw value (trimmed) to
	// a canonical value, e.g. {"direction":{"S":"debit","H":"credit"}}.
	// The key "*" matches any other non-empty value. A mapped value is
	// canonical: it is not read with the file's separators or date
	// format ("" makes the value empty, so the default applies).
	ValueMappings map[string]map[string]string `json:"valueMappings,omitempty"`
	// Defaults are canonical values for paths that are not mapped or
	// whose value is empty, e.g. {"currency":"EUR"}.
	Defaults map[string]string `json:"defaults,omitempty"`
}

// FieldMapping maps one column to a canonical path.
type FieldMapping struct {
	// Column is the header name, matched exactly after trimming spaces
	// and a byte-order mark.
	Column string `json:"column,omitempty"`
	// Index is the 0-based column, for files without a header or with
	// repeated names. With Column as well, the header must have that
	// name at that index.
	Index *int `json:"index,omitempty"`
	// Path is the canonical path the value goes to.
	Path string `json:"path"`
	// Type is "text", "decimal", "date" or "datetime"; "" infers it from
	// the path: a last segment ending in "amount" (any case), "Fee",
	// "Fees" or "Balance" is decimal, "date" or ending in "Date" is a
	// date, ending in "At" is a datetime; anything else is text.
	Type string `json:"type,omitempty"`
	// Format overrides the profile's DateFormat for this column.
	Format string `json:"format,omitempty"`
	// Strip lists texts removed from the value before it is read as a
	// decimal or date, e.g. ["$"] or ["£", "GBP"]. Without it a currency
	// symbol in an amount is an error.
	Strip []string `json:"strip,omitempty"`
	// Negate flips the sign of a decimal: for files that show charges as
	// positive amounts, such as card statements.
	Negate bool `json:"negate,omitempty"`
}

// ProfileIssue is one problem in a profile, at the JSON path of the
// offending value, e.g. ["fields", "2", "path"].
type ProfileIssue struct {
	Path    []string `json:"path"`
	Message string   `json:"message"`
}

func (i ProfileIssue) String() string { return strings.Join(i.Path, ".") + ": " + i.Message }

// ProfileError is returned by ParseCSV for a profile that does not
// validate.
type ProfileError struct {
	Issues []ProfileIssue
}

func (e *ProfileError) Error() string {
	msgs := make([]string, len(e.Issues))
	for i, is := range e.Issues {
		msgs[i] = is.String()
	}
	return "invalid import profile: " + strings.Join(msgs, "; ")
}

// HasHeader reports whether the file has a header row (HeaderRow, true
// when omitted).
func (p *Profile) HasHeader() bool { return p.HeaderRow == nil || *p.HeaderRow }

// Value types of mapped fields.
const (
	csvText     = "text"
	csvDecimal  = "decimal"
	csvDate     = "date"
	csvDatetime = "datetime"
)

// csvRole is what a well-known path fills on the Entry.
type csvRole int

const (
	csvRoleNone csvRole = iota
	csvRoleAmount
	csvRoleDebitAmount
	csvRoleCreditAmount
	csvRoleCurrency
	csvRoleDirection
	csvRoleBookingDate
	csvRoleValueDate
	csvRoleStatus
	csvRoleBankReference
	csvRoleCustomerReference
	csvRoleEndToEndID
	csvRoleTransactionID
	csvRoleCounterpartyName
	csvRoleCounterpartyAccount
	csvRoleRemittance
	csvRoleDescription
	csvRoleTypeCode
	csvRoleAccountID
)

var csvRoles = map[string]csvRole{
	"amount":              csvRoleAmount,
	"debitAmount":         csvRoleDebitAmount,
	"creditAmount":        csvRoleCreditAmount,
	"currency":            csvRoleCurrency,
	"direction":           csvRoleDirection,
	"bookingDate":         csvRoleBookingDate,
	"valueDate":           csvRoleValueDate,
	"status":              csvRoleStatus,
	"bankReference":       csvRoleBankReference,
	"customerReference":   csvRoleCustomerReference,
	"endToEndId":          csvRoleEndToEndID,
	"transactionId":       csvRoleTransactionID,
	"counterpartyName":    csvRoleCounterpartyName,
	"counterpartyAccount": csvRoleCounterpartyAccount,
	"remittance":          csvRoleRemittance,
	"description":         csvRoleDescription,
	"typeCode":            csvRoleTypeCode,
	"accountId":           csvRoleAccountID,
}

// csvRoleTypes lists the types a well-known path may have (the first is
// the inferred one); roles not listed are text.
func csvRoleTypes(r csvRole) []string {
	switch r {
	case csvRoleAmount, csvRoleDebitAmount, csvRoleCreditAmount:
		return []string{csvDecimal}
	case csvRoleBookingDate, csvRoleValueDate:
		return []string{csvDate, csvDatetime}
	}
	return []string{csvText}
}

// csvInferType is the type of a path mapped without a type.
func csvInferType(path string) string {
	if r := csvRoles[path]; r != csvRoleNone {
		return csvRoleTypes(r)[0]
	}
	seg := path[strings.LastIndexByte(path, '.')+1:]
	switch {
	case strings.HasSuffix(strings.ToLower(seg), "amount"),
		seg == "fee", seg == "fees", strings.HasSuffix(seg, "Fee"), strings.HasSuffix(seg, "Fees"),
		seg == "balance", strings.HasSuffix(seg, "Balance"):
		return csvDecimal
	case seg == "date", strings.HasSuffix(seg, "Date"):
		return csvDate
	case len(seg) > 2 && strings.HasSuffix(seg, "At"):
		return csvDatetime
	}
	return csvText
}

var csvPathRE = regexp.MustCompile(`^[a-z][A-Za-z0-9_]*(\.[a-z][A-Za-z0-9_]*)*$`)

const (
	csvMaxFields   = 500
	csvMaxIndex    = 10000
	csvMaxSkipRows = 100
	csvMaxPathLen  = 200
)

// Validate returns every problem of the profile (nil when it is usable).
func (p *Profile) Validate() []ProfileIssue {
	var issues []ProfileIssue
	add := func(msg string, path ...string) {
		issues = append(issues, ProfileIssue{Path: path, Message: msg})
	}

	delim, delimOK := p.delimiter()
	if !delimOK {
		add(`must be one character other than a letter, digit, quote or line break, e.g. ",", ";", "\t" or "|"`, "delimiter")
	}
	quote, quoteOK := p.quote()
	switch {
	case !quoteOK:
		add(`must be one punctuation character such as "\"" or "'", or "" for fields that are never quoted`, "quote")
	case delimOK && quote != 0 && rune(quote) == delim:
		add("must differ from the delimiter", "quote")
	}
	if p.SkipRows < 0 || p.SkipRows > csvMaxSkipRows {
		add(fmt.Sprintf("must be between 0 and %d", csvMaxSkipRows), "skipRows")
	}
	if _, ok := csvCharsets[p.Encoding]; !ok {
		add(`must be "", "windows-1252" or "windows-1250"`, "encoding")
	}
	if _, _, err := csvDateLayout(p.dateFormat()); err != nil {
		add(err.Error(), "dateFormat")
	}
	decSep, decOK := p.decimalSep()
	if !decOK {
		add(`must be "." or ","`, "decimalSeparator")
	}
	thouSep, thouOK := p.thousandsSep()
	switch {
	case !thouOK:
		add(`must be "", ",", ".", " " or "'"`, "thousandsSeparator")
	case decOK && thouSep == decSep:
		add("must differ from the decimal separator", "thousandsSeparator")
	}

	// Types of the mapped paths, for value mappings and defaults.
	types := map[string]string{}
	if len(p.Fields) == 0 {
		add("at least one field mapping is needed", "fields")
	}
	if len(p.Fields) > csvMaxFields {
		add(fmt.Sprintf("at most %d field mappings are allowed", csvMaxFields), "fields")
	}
	amountAt, splitAt := -1, -1
	for i, f := range p.Fields {
		at := strconv.Itoa(i)
		if csvColumnName(f.Column) == "" && f.Index == nil {
			add("needs a column (header name) or an index", "fields", at)
		}
		if f.Column != "" && !p.HasHeader() {
			add("the profile has no header row: map the column by index", "fields", at, "column")
		}
		if f.Index != nil && (*f.Index < 0 || *f.Index > csvMaxIndex) {
			add(fmt.Sprintf("must be between 0 and %d (0 is the first column)", csvMaxIndex), "fields", at, "index")
		}
		pathOK := csvValidPath(f.Path)
		switch {
		case f.Path == "":
			add("is required", "fields", at, "path")
		case !pathOK:
			add(fmt.Sprintf("%q is not a dotted camelCase path such as \"amount\" or \"fees.networkFee\"", f.Path), "fields", at, "path")
		}
		typ := f.Type
		switch f.Type {
		case "":
			if pathOK {
				typ = csvInferType(f.Path)
			}
		case csvText, csvDecimal, csvDate, csvDatetime:
			if r := csvRoles[f.Path]; r != csvRoleNone && !slices.Contains(csvRoleTypes(r), f.Type) {
				add(fmt.Sprintf("%s must be %s, not %s", f.Path, strings.Join(csvRoleTypes(r), " or "), f.Type), "fields", at, "type")
			}
		default:
			add(fmt.Sprintf("unknown type %q: use text, decimal, date or datetime (or omit it to infer it from the path)", f.Type), "fields", at, "type")
		}
		if f.Format != "" {
			if typ != csvDate && typ != csvDatetime {
				add("a format is only for date and datetime fields", "fields", at, "format")
			} else if _, _, err := csvDateLayout(f.Format); err != nil {
				add(err.Error(), "fields", at, "format")
			}
		}
		for j, s := range f.Strip {
			if strings.TrimSpace(s) == "" {
				add("must not be empty", "fields", at, "strip", strconv.Itoa(j))
			}
		}
		if f.Negate && typ != csvDecimal {
			add("negate is only for decimal fields", "fields", at, "negate")
		}
		if !pathOK {
			continue
		}
		if _, dup := types[f.Path]; dup {
			add(fmt.Sprintf("%s is already mapped by another field", f.Path), "fields", at, "path")
		}
		types[f.Path] = typ
		switch f.Path {
		case "amount":
			amountAt = i
		case "debitAmount", "creditAmount":
			splitAt = i
		}
	}
	if amountAt >= 0 && splitAt >= 0 {
		add("map either a signed amount or debitAmount/creditAmount, not both", "fields", strconv.Itoa(max(amountAt, splitAt)), "path")
	}

	for _, path := range csvSortedKeys(p.ValueMappings) {
		typ, mapped := types[path]
		switch {
		case !csvValidPath(path):
			add(fmt.Sprintf("%q is not a dotted camelCase path", path), "valueMappings", path)
			continue
		case !mapped:
			add("no field maps to this path", "valueMappings", path)
			continue
		}
		for _, raw := range csvSortedKeys(p.ValueMappings[path]) {
			v := p.ValueMappings[path][raw]
			if v == "" {
				continue
			}
			if msg := csvCheckCanonical(path, typ, v); msg != "" {
				add(msg, "valueMappings", path, raw)
			}
		}
	}
	for _, path := range csvSortedKeys(p.Defaults) {
		if !csvValidPath(path) {
			add(fmt.Sprintf("%q is not a dotted camelCase path", path), "defaults", path)
			continue
		}
		typ, mapped := types[path]
		if !mapped {
			typ = csvInferType(path)
		}
		v := p.Defaults[path]
		if v == "" {
			add("must not be empty", "defaults", path)
		} else if msg := csvCheckCanonical(path, typ, v); msg != "" {
			add(msg, "defaults", path)
		}
		if !mapped {
			switch {
			case path == "amount" && splitAt >= 0,
				(path == "debitAmount" || path == "creditAmount") && amountAt >= 0:
				add("a default amount cannot be combined with debitAmount/creditAmount, nor the reverse", "defaults", path)
			case path == "amount" && (p.Defaults["debitAmount"] != "" || p.Defaults["creditAmount"] != ""):
				add("defaults cannot give both amount and debitAmount/creditAmount", "defaults", path)
			}
		}
	}
	return issues
}

// csvColumnName is a header name as matched: without surrounding spaces
// and byte-order mark.
func csvColumnName(s string) string {
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "\ufeff"))
}

func csvValidPath(path string) bool {
	return len(path) <= csvMaxPathLen && csvPathRE.MatchString(path)
}

func csvSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// csvCheckCanonical checks a value of a default or value mapping, which
// is written canonically whatever the file's notation; it returns a
// message, or "" when the value is fine.
func csvCheckCanonical(path, typ, v string) string {
	if _, err := csvConvertCanonical(csvRoles[path], typ, v); err != "" {
		return err
	}
	return ""
}

// csvConvertCanonical converts a canonical value (a default or the target
// of a value mapping) and returns it normalized, or an error message.
func csvConvertCanonical(role csvRole, typ, v string) (string, string) {
	switch typ {
	case csvDecimal:
		d, ok := csvParseDecimal(v, '.', 0)
		if !ok {
			return "", fmt.Sprintf("%q is not a decimal such as 12.50 or -3", v)
		}
		return d.String(), ""
	case csvDate:
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return "", fmt.Sprintf("%q is not a date as YYYY-MM-DD", v)
		}
		return t.Format(time.DateOnly), ""
	case csvDatetime:
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t.Format(time.RFC3339), ""
		}
		if t, err := time.Parse(time.DateOnly, v); err == nil {
			return t.Format(time.RFC3339), ""
		}
		return "", fmt.Sprintf("%q is not an RFC 3339 datetime such as 2024-05-01T12:00:00Z", v)
	}
	switch role {
	case csvRoleCurrency:
		if c, ok := currencyCode(v); ok {
			return c, ""
		}
		return "", fmt.Sprintf("%q is not a 3-letter ISO 4217 currency code", v)
	case csvRoleDirection:
		if d, ok := csvDirection(v); ok {
			return string(d), ""
		}
		return "", fmt.Sprintf("%q is not a direction: use credit or debit", v)
	case csvRoleStatus:
		if s, ok := csvStatus(v); ok {
			return s, ""
		}
		return "", fmt.Sprintf("%q is not a status: use booked, pending or info", v)
	}
	return v, ""
}

func csvDirection(v string) (Direction, bool) {
	switch strings.ToLower(v) {
	case "credit", "c", "cr", "crdt", "+":
		return Credit, true
	case "debit", "d", "dr", "dbit", "-":
		return Debit, true
	}
	return "", false
}

func csvStatus(v string) (string, bool) {
	switch strings.ToLower(v) {
	case "booked", "book":
		return StatusBooked, true
	case "pending", "pdng":
		return StatusPending, true
	case "info":
		return StatusInfo, true
	}
	return "", false
}

// Dialect accessors: they apply the defaults and report whether the
// profile's value is valid.

func (p *Profile) delimiter() (rune, bool) {
	d := p.Delimiter
	switch d {
	case "":
		return ',', true
	case `\t`, "tab":
		return '\t', true
	}
	r, size := utf8.DecodeRuneInString(d)
	if size != len(d) || r == utf8.RuneError || r == '\r' || r == '\n' || r == '"' ||
		unicode.IsLetter(r) || unicode.IsDigit(r) || !(unicode.IsGraphic(r) || r == '\t') {
		return 0, false
	}
	return r, true
}

// quote returns the quote character, 0 for none.
func (p *Profile) quote() (byte, bool) {
	if p.Quote == nil {
		return '"', true
	}
	q := *p.Quote
	if q == "" {
		return 0, true
	}
	if len(q) != 1 || q[0] >= utf8.RuneSelf || !unicode.IsPunct(rune(q[0])) && !unicode.IsSymbol(rune(q[0])) {
		return 0, false
	}
	return q[0], true
}

func (p *Profile) dateFormat() string {
	if p.DateFormat == "" {
		return "YYYY-MM-DD"
	}
	return p.DateFormat
}

func (p *Profile) decimalSep() (byte, bool) {
	switch p.DecimalSeparator {
	case "", ".":
		return '.', true
	case ",":
		return ',', true
	}
	return 0, false
}

func (p *Profile) thousandsSep() (byte, bool) {
	switch p.ThousandsSeparator {
	case "":
		return 0, true
	case ",", ".", " ", "'":
		return p.ThousandsSeparator[0], true
	}
	return 0, false
}

// csvDateTokens are the date format tokens, longest first where they
// share a prefix, with their Go layout.
var csvDateTokens = []struct{ tok, layout string }{
	{"YYYY", "2006"}, {"YY", "06"},
	{"MMM", "Jan"}, {"MM", "01"}, {"M", "1"},
	{"DD", "02"}, {"D", "2"},
	{"HH", "15"}, {"mm", "04"}, {"ss", "05"},
}

// csvDateLayout converts a profile date format to a Go time layout.
func csvDateLayout(format string) (layout string, hasTime bool, err error) {
	if format == "" {
		return "", false, fmt.Errorf("is empty")
	}
	if len(format) > 64 {
		return "", false, fmt.Errorf("is too long")
	}
	var b strings.Builder
	seen := map[byte]int{}
	prevVariable := false
	for i := 0; i < len(format); {
		matched := false
		for _, t := range csvDateTokens {
			if !strings.HasPrefix(format[i:], t.tok) {
				continue
			}
			if prevVariable {
				return "", false, fmt.Errorf("%q: M and D must be followed by a separator (use MM or DD for fixed two digits)", format)
			}
			seen[t.tok[0]]++
			prevVariable = t.tok == "M" || t.tok == "D"
			b.WriteString(t.layout)
			i += len(t.tok)
			matched = true
			break
		}
		if matched {
			continue
		}
		switch c := format[i]; c {
		case ' ', '.', '/', '-', ':', ',', 'T':
			b.WriteByte(c)
			prevVariable = false
			i++
		default:
			r, _ := utf8.DecodeRuneInString(format[i:])
			return "", false, fmt.Errorf("%q: unexpected %q; use the tokens YYYY YY MMM MM M DD D HH mm ss and the separators space . / - : , T", format, r)
		}
	}
	for _, part := range []struct {
		c    byte
		name string
	}{{'Y', "year (YYYY or YY)"}, {'M', "month (MM, M or MMM)"}, {'D', "day (DD or D)"}} {
		switch seen[part.c] {
		case 0:
			return "", false, fmt.Errorf("%q has no %s", format, part.name)
		case 1:
		default:
			return "", false, fmt.Errorf("%q has more than one %s", format, part.name)
		}
	}
	for _, c := range []byte{'H', 'm', 's'} {
		if seen[c] > 1 {
			return "", false, fmt.Errorf("%q repeats %c", format, c)
		}
	}
	if seen['s'] > 0 && seen['m'] == 0 || seen['m'] > 0 && seen['H'] == 0 {
		return "", false, fmt.Errorf("%q: a time needs HH, then mm, then optionally ss", format)
	}
	layout = b.String()
	// Guard against token sequences that Go would read differently.
	ref := time.Date(2034, 11, 27, 13, 48, 59, 0, time.UTC)
	got, perr := time.Parse(layout, ref.Format(layout))
	want := ref
	if seen['H'] == 0 {
		want = time.Date(2034, 11, 27, 0, 0, 0, 0, time.UTC)
	} else if seen['s'] == 0 {
		want = time.Date(2034, 11, 27, 13, 48, 0, 0, time.UTC)
	}
	if perr != nil || !got.Equal(want) {
		return "", false, fmt.Errorf("%q is ambiguous; separate the tokens", format)
	}
	return layout, seen['H'] > 0, nil
}

// csvParseDecimal reads a decimal: see csvScanDecimal.
func csvParseDecimal(s string, dec, thou byte) (decimal.Decimal, bool) {
	n, ok := csvScanDecimal(s, dec, thou)
	if !ok {
		return decimal.Decimal{}, false
	}
	return n.decimal(), true
}

// csvNum is a decimal as read: up to 18 digits as a mantissa and scale,
// so that converting a row's values needs no big.Int until an Entry's
// Amount is built; longer ones as a decimal.
type csvNum struct {
	neg   bool
	mant  uint64
	scale int32
	big   *decimal.Decimal // the absolute value, when more than 18 digits
}

func (n csvNum) abs() decimal.Decimal {
	if n.big != nil {
		return *n.big
	}
	return decimal.New(int64(n.mant), -n.scale)
}

func (n csvNum) decimal() decimal.Decimal {
	if n.neg {
		return n.abs().Neg()
	}
	return n.abs()
}

func (n csvNum) isZero() bool {
	if n.big != nil {
		return n.big.IsZero()
	}
	return n.mant == 0
}

func (n csvNum) negative() bool { return n.neg && !n.isZero() }

// String is decimal.Decimal's String: no exponent, no trailing zeros
// in the fraction.
func (n csvNum) String() string {
	if n.big != nil {
		return n.decimal().String()
	}
	mant, scale := n.mant, int(n.scale)
	for scale > 0 && mant%10 == 0 {
		mant /= 10
		scale--
	}
	var digits [20]byte
	d := strconv.AppendUint(digits[:0], mant, 10)
	var b [44]byte
	out := b[:0]
	if n.negative() {
		out = append(out, '-')
	}
	if scale == 0 {
		out = append(out, d...)
		return string(out)
	}
	if len(d) <= scale {
		out = append(out, '0', '.')
		for range scale - len(d) {
			out = append(out, '0')
		}
		out = append(out, d...)
		return string(out)
	}
	out = append(out, d[:len(d)-scale]...)
	out = append(out, '.')
	out = append(out, d[len(d)-scale:]...)
	return string(out)
}

// csvScanDecimal reads a decimal written with the given decimal
// separator ('.' or ',') and thousands separator (0 for none). It is
// strict but friendly: surrounding spaces, a leading "+", "-" or "−"
// (U+2212, optionally followed by spaces), a trailing "-" or parentheses
// mark the sign; thousands separators must group three digits; anything
// else (currency symbols, letters, exponents) is an error.
func csvScanDecimal(s string, dec, thou byte) (csvNum, bool) {
	s = strings.TrimSpace(s)
	neg, signed := false, false
	if len(s) >= 2 && s[0] == '(' && s[len(s)-1] == ')' {
		neg, signed = true, true
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	switch {
	case strings.HasPrefix(s, "-"), strings.HasPrefix(s, "+"):
		if signed {
			return csvNum{}, false
		}
		neg, signed = s[0] == '-', true
		s = strings.TrimSpace(s[1:])
	case strings.HasPrefix(s, "−"):
		if signed {
			return csvNum{}, false
		}
		neg, signed = true, true
		s = strings.TrimSpace(s[len("−"):])
	}
	if !signed && strings.HasSuffix(s, "-") {
		neg = true
		s = strings.TrimSpace(s[:len(s)-1])
	}

	var mant uint64
	digits, intDigits, groups, cur := 0, 0, 0, 0
	add := func(c byte) {
		digits++
		if digits <= 18 {
			mant = mant*10 + uint64(c-'0')
		}
	}
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= '0' && c <= '9' {
			add(c)
			intDigits++
			cur++
			i++
			continue
		}
		if thou == 0 || !csvIsThousands(s, i, thou) {
			break
		}
		if cur == 0 || cur > 3 || groups > 0 && cur != 3 {
			return csvNum{}, false
		}
		groups++
		cur = 0
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	if intDigits == 0 || groups > 0 && cur != 3 {
		return csvNum{}, false
	}
	intEnd, fracStart := i, i
	if i < len(s) && s[i] == dec {
		i++
		fracStart = i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			add(s[i])
			i++
		}
		if i == fracStart {
			return csvNum{}, false
		}
	}
	if i != len(s) || digits > 60 {
		return csvNum{}, false
	}
	n := csvNum{neg: neg, mant: mant, scale: int32(i - fracStart)}
	if digits > 18 {
		var b strings.Builder
		for j := 0; j < intEnd; j++ {
			if c := s[j]; c >= '0' && c <= '9' {
				b.WriteByte(c)
			}
		}
		if n.scale > 0 {
			b.WriteByte('.')
			b.WriteString(s[fracStart:])
		}
		d, err := decimal.NewFromString(b.String())
		if err != nil {
			return csvNum{}, false
		}
		n.big = &d
	}
	return n, true
}

// csvIsThousands reports whether s[i] starts a thousands separator: the
// separator byte, or the typographic variants exports write instead: a
// no-break space (U+00A0, U+202F) for a space, a right single quotation
// mark (U+2019) for an apostrophe.
func csvIsThousands(s string, i int, thou byte) bool {
	if s[i] == thou {
		return true
	}
	if s[i] < utf8.RuneSelf {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	switch thou {
	case ' ':
		return r == '\u00a0' || r == '\u202f'
	case '\'':
		return r == '\u2019'
	}
	return false
}

// csvFormatDecimal writes d with the given separators (used by tests and
// the fuzzer to check that reading is the inverse of writing).
func csvFormatDecimal(d decimal.Decimal, dec, thou byte) string {
	s := d.Abs().String()
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	if d.IsNegative() {
		b.WriteByte('-')
	}
	for i := 0; i < len(intPart); i++ {
		if thou != 0 && i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(thou)
		}
		b.WriteByte(intPart[i])
	}
	if hasFrac {
		b.WriteByte(dec)
		b.WriteString(frac)
	}
	return b.String()
}
