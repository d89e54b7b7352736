package statement

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ParseCSV reads a CSV export as one statement (Format csv, no ID) with
// one Entry per data row, as the profile describes it. Entry.Pos.Line is
// the row's first line in the file; rows that are completely empty are
// skipped; a row that cannot be read as the profile says (wrong number of
// columns, a bad amount or date, no currency) is still handed over, with
// Entry.Errors. Statement.Account.ID (and Currency) are set when every
// row that names an account (currency) names the same one.
//
// Fatal errors are *Error with the line: a line longer than 1 MiB, a
// quoting error, a header without a mapped column, a file that ends in
// the middle of a row. An invalid profile is a *ProfileError.
//
// Lines may end in LF, CRLF or a lone CR (old Mac exports); stray CRs
// before a LF are ignored. A UTF-8 byte-order mark is skipped, and lines
// that are not valid UTF-8 are read in the profile's 8-bit encoding
// (Windows-1252 unless it says otherwise), as many bank exports are.
func ParseCSV(r io.Reader, p Profile, h Handler) error {
	plan, err := csvCompile(&p)
	if err != nil {
		return err
	}
	src := plan.source(r)
	s := &Statement{Format: FormatCSV, Pos: Position{Line: 1}}

	want := -1 // columns a row must have
	wantFrom := "the first row"
	if plan.header {
		rec, line, err := src.next()
		if err == io.EOF {
			if plan.skip > 0 {
				return Errorf(Position{Line: src.lines().line + 1}, "the file ends before the header row (after skipping %d lines)", plan.skip)
			}
			return Errorf(Position{Line: 1}, "the file is empty: expected a header row")
		}
		if err != nil {
			return err
		}
		if err := plan.bindHeader(rec, line); err != nil {
			return err
		}
		want, wantFrom = len(rec), "the header"
	}

	var account, currency string
	accountMixed, currencyMixed := false, false
	for {
		rec, line, err := src.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if csvEmptyRow(rec) {
			continue
		}
		if want < 0 {
			want = len(rec)
			if err := plan.bindIndexes(want, line); err != nil {
				return err
			}
		}
		rowErr := ""
		if len(rec) != want {
			if len(rec) < want && src.atUnterminatedEnd() {
				return Errorf(Position{Line: line}, "the file ends in the middle of a row (%d of %d columns): is it truncated?", len(rec), want)
			}
			rowErr = fmt.Sprintf("line %d: row has %d columns, %s has %d", line, len(rec), wantFrom, want)
		}
		e, acct := plan.entry(rec, line, rowErr)

		if acct != "" && !accountMixed {
			switch {
			case account == "":
				account = acct
				s.Account.ID = acct
				if csvIsIBAN(acct) {
					s.Account.IBAN = acct
				}
			case acct != account:
				accountMixed = true
				s.Account.ID, s.Account.IBAN = "", ""
			}
		}
		if e.Currency != "" && !currencyMixed {
			switch {
			case currency == "":
				currency = e.Currency
				s.Currency = currency
			case e.Currency != currency:
				currencyMixed = true
				s.Currency = ""
			}
		}
		if err := h.entry(s, e); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
	}
	if err := h.end(s); err != nil && !errors.Is(err, ErrStop) {
		return err
	}
	return nil
}

func csvEmptyRow(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// csvMaxLine bounds a line, and a row spanning lines, so that a file
// without line breaks or with an unclosed quote cannot exhaust memory.
const csvMaxLine = 1 << 20

// csvCharsets decode bytes 0x80–0xFF of the 8-bit encodings a profile may
// name, for lines that are not valid UTF-8. Undefined bytes map to the C1
// control of the same value, as Windows does.
var csvCharsets = map[string]*[128]rune{
	"":             &windows1252,
	"windows-1252": &windows1252,
	"windows-1250": &csvWindows1250,
}

// windows1252 decodes bytes 0x80–0xFF of Windows-1252 (above 0x9F it is
// ISO-8859-1); camt files declaring it use it too.
var windows1252 = [128]rune{
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
	0x00A0, 0x00A1, 0x00A2, 0x00A3, 0x00A4, 0x00A5, 0x00A6, 0x00A7,
	0x00A8, 0x00A9, 0x00AA, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x00AF,
	0x00B0, 0x00B1, 0x00B2, 0x00B3, 0x00B4, 0x00B5, 0x00B6, 0x00B7,
	0x00B8, 0x00B9, 0x00BA, 0x00BB, 0x00BC, 0x00BD, 0x00BE, 0x00BF,
	0x00C0, 0x00C1, 0x00C2, 0x00C3, 0x00C4, 0x00C5, 0x00C6, 0x00C7,
	0x00C8, 0x00C9, 0x00CA, 0x00CB, 0x00CC, 0x00CD, 0x00CE, 0x00CF,
	0x00D0, 0x00D1, 0x00D2, 0x00D3, 0x00D4, 0x00D5, 0x00D6, 0x00D7,
	0x00D8, 0x00D9, 0x00DA, 0x00DB, 0x00DC, 0x00DD, 0x00DE, 0x00DF,
	0x00E0, 0x00E1, 0x00E2, 0x00E3, 0x00E4, 0x00E5, 0x00E6, 0x00E7,
	0x00E8, 0x00E9, 0x00EA, 0x00EB, 0x00EC, 0x00ED, 0x00EE, 0x00EF,
	0x00F0, 0x00F1, 0x00F2, 0x00F3, 0x00F4, 0x00F5, 0x00F6, 0x00F7,
	0x00F8, 0x00F9, 0x00FA, 0x00FB, 0x00FC, 0x00FD, 0x00FE, 0x00FF,
}

var csvWindows1250 = [128]rune{
	0x20AC, 0x0081, 0x201A, 0x0083, 0x201E, 0x2026, 0x2020, 0x2021,
	0x0088, 0x2030, 0x0160, 0x2039, 0x015A, 0x0164, 0x017D, 0x0179,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x0098, 0x2122, 0x0161, 0x203A, 0x015B, 0x0165, 0x017E, 0x017A,
	0x00A0, 0x02C7, 0x02D8, 0x0141, 0x00A4, 0x0104, 0x00A6, 0x00A7,
	0x00A8, 0x00A9, 0x015E, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x017B,
	0x00B0, 0x00B1, 0x02DB, 0x0142, 0x00B4, 0x00B5, 0x00B6, 0x00B7,
	0x00B8, 0x0105, 0x015F, 0x00BB, 0x013D, 0x02DD, 0x013E, 0x017C,
	0x0154, 0x00C1, 0x00C2, 0x0102, 0x00C4, 0x0139, 0x0106, 0x00C7,
	0x010C, 0x00C9, 0x0118, 0x00CB, 0x011A, 0x00CD, 0x00CE, 0x010E,
	0x0110, 0x0143, 0x0147, 0x00D3, 0x00D4, 0x0150, 0x00D6, 0x00D7,
	0x0158, 0x016E, 0x00DA, 0x0170, 0x00DC, 0x00DD, 0x0162, 0x00DF,
	0x0155, 0x00E1, 0x00E2, 0x0103, 0x00E4, 0x013A, 0x0107, 0x00E7,
	0x010D, 0x00E9, 0x0119, 0x00EB, 0x011B, 0x00ED, 0x00EE, 0x010F,
	0x0111, 0x0144, 0x0148, 0x00F3, 0x00F4, 0x0151, 0x00F6, 0x00F7,
	0x0159, 0x016F, 0x00FA, 0x0171, 0x00FC, 0x00FD, 0x0163, 0x02D9,
}

// csvLineReader splits the input into physical lines: a line ends at a
// LF, at CRs followed by a LF (CRLF, and the stray CR some exports add
// before it), or at a lone CR. It bounds lines to csvMaxLine, skips a
// byte-order mark and decodes lines that are not UTF-8.
type csvLineReader struct {
	r        io.Reader
	buf      []byte
	start    int // first unread byte in buf
	end      int // end of the data in buf
	nl       int // index of the next '\n' at or after start, or -1
	scanned  int // when nl is -1: buf[start:scanned] has no '\n'
	eof      bool
	err      error
	empty    int // consecutive empty reads
	blankCRs int // lone CRs after the last line returned, each an empty line
	line     int // number of the line last returned
	charset  *[128]rune
	dec      []byte
}

func newCSVLineReader(r io.Reader, charset *[128]rune) *csvLineReader {
	return &csvLineReader{r: r, buf: make([]byte, 64<<10), nl: -1, charset: charset}
}

// next returns the next line without its terminator, whether a terminator
// ended it, or io.EOF. The line is valid until the next call.
func (l *csvLineReader) next() ([]byte, bool, error) {
	if l.blankCRs > 0 {
		// The rest of a run of lone CRs: each ends an empty line.
		l.blankCRs--
		l.start++
		return l.emit(nil, true)
	}
	for {
		if l.nl < l.start {
			from := max(l.scanned, l.start)
			if k := bytes.IndexByte(l.buf[from:l.end], '\n'); k >= 0 {
				l.nl = from + k
			} else {
				l.nl, l.scanned = -1, l.end
			}
		}
		limit := l.end
		if l.nl >= 0 {
			limit = l.nl
		}
		if k := bytes.IndexByte(l.buf[l.start:limit], '\r'); k >= 0 {
			i := l.start + k
			j := i + 1
			for j < l.end && l.buf[j] == '\r' {
				j++
			}
			if j < l.end || l.eof {
				line := l.buf[l.start:i]
				if j < l.end && l.buf[j] == '\n' {
					l.start = j + 1
				} else {
					l.start = i + 1
					l.blankCRs = j - i - 1
				}
				return l.emit(line, true)
			}
			// The CRs end the data read so far: a LF may follow.
		} else if l.nl >= 0 {
			line := l.buf[l.start:l.nl]
			l.start = l.nl + 1
			return l.emit(line, true)
		} else if l.eof {
			if l.start == l.end {
				if l.err != nil {
					return nil, false, fmt.Errorf("read csv at line %d: %w", l.line+1, l.err)
				}
				return nil, false, io.EOF
			}
			line := l.buf[l.start:l.end]
			l.start = l.end
			return l.emit(line, false)
		}
		if l.end-l.start > csvMaxLine {
			return nil, false, Errorf(Position{Line: l.line + 1}, "line %d is longer than 1 MiB", l.line+1)
		}
		l.fill()
	}
}

func (l *csvLineReader) fill() {
	if l.start > 0 {
		n := copy(l.buf, l.buf[l.start:l.end])
		if l.nl >= 0 {
			l.nl -= l.start
		}
		l.scanned = max(l.scanned-l.start, 0)
		l.end, l.start = n, 0
	}
	if l.end == len(l.buf) {
		grown := make([]byte, min(2*len(l.buf), csvMaxLine+64<<10))
		copy(grown, l.buf[:l.end])
		l.buf = grown
	}
	n, err := l.r.Read(l.buf[l.end:])
	l.end += n
	switch {
	case err == io.EOF:
		l.eof = true
	case err != nil:
		l.eof, l.err = true, err
	case n == 0:
		if l.empty++; l.empty > 100 {
			l.eof, l.err = true, io.ErrNoProgress
		}
	default:
		l.empty = 0
	}
}

func (l *csvLineReader) emit(line []byte, terminated bool) ([]byte, bool, error) {
	l.line++
	if len(line) > csvMaxLine {
		return nil, false, Errorf(Position{Line: l.line}, "line %d is longer than 1 MiB", l.line)
	}
	if l.line == 1 {
		line = bytes.TrimPrefix(line, []byte("\ufeff"))
	}
	if !utf8.Valid(line) {
		// Not UTF-8: the whole line is in the profile's 8-bit encoding.
		l.dec = l.dec[:0]
		for _, b := range line {
			if b < utf8.RuneSelf {
				l.dec = append(l.dec, b)
			} else {
				l.dec = utf8.AppendRune(l.dec, l.charset[b-0x80])
			}
		}
		line = l.dec
	}
	return line, terminated, nil
}

// csvSource yields the rows of a file with the line each starts on.
type csvSource interface {
	next() (rec []string, line int, err error)
	// atUnterminatedEnd reports whether the row just read is the last
	// one and no line break ended it.
	atUnterminatedEnd() bool
	lines() *csvLineReader
}

// csvFeed hands the lines to encoding/csv, one line per Read so that the
// csv reader never reads ahead of the row it parses: the feed then knows
// where every row starts and bounds its size. Skipped preamble lines are
// fed as empty lines, which encoding/csv ignores but counts, so its line
// numbers are the file's.
type csvFeed struct {
	l       *csvLineReader
	skip    int
	swap    byte // quote character swapped with '"' (encoding/csv only knows '"'), or 0
	pending []byte
	nl      bool // a '\n' is still to be fed after pending
	err     error
	rowLen  int  // bytes fed for the current row
	rowLine int  // line the current row starts on
	lastLen int  // length of the last non-empty line fed
	lastEnd bool // the last line fed had no line break: the file ends there
	done    bool // the input is exhausted
}

func (f *csvFeed) Read(p []byte) (int, error) {
	if len(f.pending) == 0 && !f.nl {
		if f.err != nil {
			return 0, f.err
		}
		line, terminated, err := f.l.next()
		if err != nil {
			f.err, f.done = err, err == io.EOF
			return 0, err
		}
		if f.l.line <= f.skip {
			line = nil
		} else if len(line) > 0 {
			if f.rowLen == 0 {
				f.rowLine = f.l.line
			}
			f.rowLen += len(line) + 1
			if f.rowLen > csvMaxLine+1 {
				f.err = Errorf(Position{Line: f.rowLine}, "the row starting on line %d is longer than 1 MiB at line %d: is a quote not closed?", f.rowLine, f.l.line)
				return 0, f.err
			}
			if f.swap != 0 {
				csvSwapQuotes(line, f.swap)
			}
			f.lastLen = len(line)
		}
		f.pending, f.nl, f.lastEnd = line, terminated, !terminated
	}
	n := copy(p, f.pending)
	f.pending = f.pending[n:]
	if len(f.pending) == 0 && f.nl && n < len(p) {
		p[n] = '\n'
		n++
		f.nl = false
	}
	return n, nil
}

func csvSwapQuotes(b []byte, q byte) {
	for i, c := range b {
		switch c {
		case q:
			b[i] = '"'
		case '"':
			b[i] = q
		}
	}
}

func csvUnswapQuotes(s string, q byte) string {
	if strings.IndexByte(s, q) < 0 && strings.IndexByte(s, '"') < 0 {
		return s
	}
	b := []byte(s)
	csvSwapQuotes(b, q)
	return string(b)
}

// csvQuoted reads quoted CSV with encoding/csv.
type csvQuoted struct {
	feed *csvFeed
	r    *csv.Reader
}

func (c *csvQuoted) lines() *csvLineReader { return c.feed.l }

func (c *csvQuoted) atUnterminatedEnd() bool {
	return c.feed.lastEnd && len(c.feed.pending) == 0
}

func (c *csvQuoted) next() ([]string, int, error) {
	rec, err := c.r.Read()
	if c.feed.err != nil && c.feed.err != io.EOF {
		return nil, 0, c.feed.err
	}
	if err != nil {
		if err == io.EOF {
			return nil, 0, io.EOF
		}
		var pe *csv.ParseError
		if !errors.As(err, &pe) {
			return nil, 0, err
		}
		switch {
		case errors.Is(pe.Err, csv.ErrQuote) && c.feed.done && pe.Column > c.feed.lastLen:
			return nil, 0, Errorf(Position{Line: pe.StartLine}, "the file ends inside a quoted field of the row starting on line %d: is it truncated, or a closing quote missing?", pe.StartLine)
		case errors.Is(pe.Err, csv.ErrQuote):
			return nil, 0, Errorf(Position{Line: pe.Line}, "column %d: a quoted field must end with a quote followed by the delimiter or the end of the line (write a quote inside a quoted field as two quotes)", pe.Column)
		case errors.Is(pe.Err, csv.ErrBareQuote):
			return nil, 0, Errorf(Position{Line: pe.Line}, "column %d: a quote inside an unquoted field (quote the whole field and double the inner quote, or set the profile's quote to \"\")", pe.Column)
		}
		return nil, 0, Errorf(Position{Line: pe.Line}, "column %d: %v", pe.Column, pe.Err)
	}
	line, _ := c.r.FieldPos(0)
	c.feed.rowLen = 0
	if c.feed.swap != 0 {
		for i, f := range rec {
			rec[i] = csvUnswapQuotes(f, c.feed.swap)
		}
	}
	return rec, line, nil
}

// csvPlain reads CSV without quoting: every delimiter separates fields.
type csvPlain struct {
	l       *csvLineReader
	skip    int
	delim   string
	lastEnd bool
	rec     []string
}

func (c *csvPlain) lines() *csvLineReader { return c.l }

func (c *csvPlain) atUnterminatedEnd() bool { return c.lastEnd }

func (c *csvPlain) next() ([]string, int, error) {
	for {
		line, terminated, err := c.l.next()
		if err != nil {
			return nil, 0, err
		}
		if c.l.line <= c.skip || len(line) == 0 {
			continue
		}
		c.lastEnd = !terminated
		s := string(line)
		c.rec = c.rec[:0]
		for {
			i := strings.Index(s, c.delim)
			if i < 0 {
				break
			}
			c.rec = append(c.rec, s[:i])
			s = s[i+len(c.delim):]
		}
		c.rec = append(c.rec, s)
		return c.rec, c.l.line, nil
	}
}

// csvColumn is a compiled field mapping.
type csvColumn struct {
	field  int    // index in Profile.Fields
	name   string // header name; "" when mapped by index only
	index  int    // column index; -1 until the header is read
	path   string
	role   csvRole
	typ    string
	layout string // Go layout for dates
	format string // the profile's date format, for messages
	negate bool
	strip  []string
	values map[string]string
	def    string
	hasDef bool
	// The last date read, as consecutive rows often share it.
	lastRaw  string
	lastTime time.Time
	lastNorm string
}

func (c *csvColumn) label() string {
	if c.name != "" {
		return "column " + strconv.Quote(c.name)
	}
	return "column index " + strconv.Itoa(c.index)
}

// csvConst is a default for a path no column maps, converted once.
type csvConst struct {
	path string
	role csvRole
	norm string
	num  csvNum
	time time.Time
}

type csvPlan struct {
	cols      []csvColumn
	consts    []csvConst
	header    bool
	skip      int
	delim     rune
	quote     byte
	charset   *[128]rune
	dec, thou byte
	decDesc   string
	// The columns of the amount paths, nil when a default supplies them
	// (or they are not mapped).
	amountCol, debitCol, creditCol *csvColumn
	amountMapped, splitMapped      bool
}

func csvCompile(p *Profile) (*csvPlan, error) {
	if issues := p.Validate(); len(issues) > 0 {
		return nil, &ProfileError{Issues: issues}
	}
	plan := &csvPlan{header: p.HasHeader(), skip: p.SkipRows, charset: csvCharsets[p.Encoding]}
	plan.delim, _ = p.delimiter()
	plan.quote, _ = p.quote()
	plan.dec, _ = p.decimalSep()
	plan.thou, _ = p.thousandsSep()
	plan.decDesc = fmt.Sprintf("with %q as decimal separator", string(plan.dec))
	if plan.thou != 0 {
		plan.decDesc += fmt.Sprintf(" and %q as thousands separator", string(plan.thou))
	}
	mapped := map[string]bool{}
	plan.cols = make([]csvColumn, len(p.Fields))
	for i, f := range p.Fields {
		c := csvColumn{
			field:  i,
			name:   csvColumnName(f.Column),
			index:  -1,
			path:   f.Path,
			role:   csvRoles[f.Path],
			typ:    f.Type,
			negate: f.Negate,
			strip:  f.Strip,
			values: p.ValueMappings[f.Path],
		}
		if f.Index != nil {
			c.index = *f.Index
		}
		if c.typ == "" {
			c.typ = csvInferType(f.Path)
		}
		if c.typ == csvDate || c.typ == csvDatetime {
			c.format = p.dateFormat()
			if f.Format != "" {
				c.format = f.Format
			}
			c.layout, _, _ = csvDateLayout(c.format)
		}
		c.def, c.hasDef = p.Defaults[f.Path]
		mapped[f.Path] = true
		plan.cols[i] = c
	}
	for i := range plan.cols {
		c := &plan.cols[i]
		switch c.role {
		case csvRoleAmount:
			plan.amountCol, plan.amountMapped = c, true
		case csvRoleDebitAmount:
			plan.debitCol, plan.splitMapped = c, true
		case csvRoleCreditAmount:
			plan.creditCol, plan.splitMapped = c, true
		}
	}
	for _, path := range csvSortedKeys(p.Defaults) {
		if mapped[path] {
			continue
		}
		k := csvConst{path: path, role: csvRoles[path]}
		typ := csvInferType(path)
		k.norm, _ = csvConvertCanonical(k.role, typ, p.Defaults[path])
		switch typ {
		case csvDecimal:
			k.num, _ = csvScanDecimal(k.norm, '.', 0)
		case csvDate, csvDatetime:
			k.time, _ = csvParseCanonicalTime(typ, k.norm)
		}
		switch k.role {
		case csvRoleAmount:
			plan.amountMapped = true
		case csvRoleDebitAmount, csvRoleCreditAmount:
			plan.splitMapped = true
		}
		plan.consts = append(plan.consts, k)
	}
	return plan, nil
}

func (p *csvPlan) source(r io.Reader) csvSource {
	l := newCSVLineReader(r, p.charset)
	if p.quote == 0 {
		return &csvPlain{l: l, skip: p.skip, delim: string(p.delim)}
	}
	feed := &csvFeed{l: l, skip: p.skip}
	if p.quote != '"' {
		feed.swap = p.quote
	}
	cr := csv.NewReader(feed)
	cr.Comma = p.delim
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return &csvQuoted{feed: feed, r: cr}
}

// bindHeader finds the mapped columns in the header row.
func (p *csvPlan) bindHeader(rec []string, line int) error {
	names := make([]string, len(rec))
	for i, n := range rec {
		names[i] = csvColumnName(n)
	}
	// First and second index of each name, for mapped names only: a
	// header may have a million columns.
	type seen struct{ first, second int }
	where := map[string]*seen{}
	for i := range p.cols {
		if c := &p.cols[i]; c.name != "" && c.index < 0 {
			where[c.name] = &seen{-1, -1}
		}
	}
	for j, n := range names {
		if w := where[n]; w != nil {
			if w.first < 0 {
				w.first = j
			} else if w.second < 0 {
				w.second = j
			}
		}
	}
	for i := range p.cols {
		c := &p.cols[i]
		switch {
		case c.name == "":
			if c.index >= len(names) {
				return Errorf(Position{Line: line}, "the profile maps column index %d (to %s) but the header has %d columns", c.index, c.path, len(names))
			}
		case c.index >= 0:
			if c.index >= len(names) || names[c.index] != c.name {
				return Errorf(Position{Line: line}, "the profile maps column %q at index %d (to %s) but the header has %s there; the header is %s", c.name, c.index, c.path, csvNameAt(names, c.index), csvList(names))
			}
		default:
			w := where[c.name]
			if w.first < 0 {
				return Errorf(Position{Line: line}, "the header has no column %q (mapped to %s); it has %s", c.name, c.path, csvList(names))
			}
			if w.second >= 0 {
				return Errorf(Position{Line: line}, "the header has column %q more than once (index %d and %d): map it by index", c.name, w.first, w.second)
			}
			c.index = w.first
		}
	}
	return nil
}

// bindIndexes checks the mapped indexes against the first row of a file
// without a header.
func (p *csvPlan) bindIndexes(n, line int) error {
	for i := range p.cols {
		if c := &p.cols[i]; c.index >= n {
			return Errorf(Position{Line: line}, "the profile maps column index %d (to %s) but the first row has %d columns", c.index, c.path, n)
		}
	}
	return nil
}

func csvNameAt(names []string, i int) string {
	if i < len(names) {
		return strconv.Quote(names[i])
	}
	return "no column"
}

// csvList quotes the header names for a message, shortened if long.
func csvList(names []string) string {
	var b strings.Builder
	for i, n := range names {
		if b.Len() > 1000 || i == 60 {
			fmt.Fprintf(&b, ", … (%d columns)", len(names))
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		if len(n) > 100 {
			n = n[:100] + "…"
		}
		b.WriteString(strconv.Quote(n))
	}
	if len(names) == 0 {
		return "no columns"
	}
	return b.String()
}

// csvRowState collects a row's typed values until the Entry is finished.
type csvRowState struct {
	amount, debit, credit        csvNum
	hasAmount, hasDebit, hasCred bool
	badAmount, badCurrency       bool
	direction                    Direction
	account                      string
}

// entry builds the Entry of a row; rowErr is the row's structural error,
// if any (then the values are kept as they are, unconverted). It returns
// the row's account id too.
func (p *csvPlan) entry(rec []string, line int, rowErr string) (*Entry, string) {
	e := &Entry{
		Pos:    Position{Line: line},
		Status: StatusBooked,
		Fields: make(map[string]string, len(p.cols)+len(p.consts)),
	}
	if rowErr != "" {
		e.Errors = append(e.Errors, rowErr)
		for i := range p.cols {
			c := &p.cols[i]
			v := ""
			if c.index < len(rec) {
				v = strings.TrimSpace(rec[c.index])
			}
			e.Fields[c.path] = v
		}
		return e, ""
	}
	var st csvRowState
	for i := range p.cols {
		c := &p.cols[i]
		raw := strings.TrimSpace(rec[c.index])
		val, canonical := raw, false
		if c.values != nil {
			if m, ok := c.values[raw]; ok {
				val, canonical = m, true
			} else if m, ok := c.values["*"]; ok && raw != "" {
				val, canonical = m, true
			}
		}
		if !canonical && val != "" && len(c.strip) > 0 {
			for _, s := range c.strip {
				val = strings.ReplaceAll(val, s, "")
			}
			val = strings.TrimSpace(val)
		}
		if val == "" && c.hasDef {
			val, canonical = c.def, true
		}
		if val == "" {
			e.Fields[c.path] = ""
			continue
		}
		p.set(e, &st, c, raw, val, canonical)
	}
	for i := range p.consts {
		k := &p.consts[i]
		e.Fields[k.path] = k.norm
		p.apply(e, &st, k.role, k.norm, k.num, k.time)
	}
	p.finish(e, &st)
	return e, st.account
}

// set converts a column's value and applies it.
func (p *csvPlan) set(e *Entry, st *csvRowState, c *csvColumn, raw, val string, canonical bool) {
	fail := func(msg string) {
		e.Errors = append(e.Errors, fmt.Sprintf("line %d, %s (%s): %q %s", e.Pos.Line, c.label(), c.path, raw, msg))
		e.Fields[c.path] = raw
		switch c.role {
		case csvRoleAmount, csvRoleDebitAmount, csvRoleCreditAmount:
			st.badAmount = true
		case csvRoleCurrency:
			st.badCurrency = true
		}
	}
	var (
		norm string
		n    csvNum
		t    time.Time
	)
	switch c.typ {
	case csvDecimal:
		var ok bool
		if canonical {
			n, ok = csvScanDecimal(val, '.', 0)
		} else {
			n, ok = csvScanDecimal(val, p.dec, p.thou)
		}
		if !ok {
			msg := "is not a decimal " + p.decDesc
			if strings.IndexFunc(val, func(r rune) bool { return unicode.Is(unicode.Sc, r) }) >= 0 {
				msg += ` (remove currency symbols with the field's "strip")`
			}
			fail(msg)
			return
		}
		if c.negate {
			n.neg = !n.neg
		}
		norm = n.String()
	case csvDate, csvDatetime:
		var ok bool
		if t, norm, ok = c.parseTime(val, canonical); !ok {
			kind := "date"
			if c.typ == csvDatetime {
				kind = "datetime"
			}
			fail(fmt.Sprintf("is not a %s in the format %s", kind, c.format))
			return
		}
	default:
		norm = val
		switch c.role {
		case csvRoleCurrency:
			cur, ok := currencyCode(val)
			if !ok {
				fail("is not a 3-letter ISO 4217 currency code (map it with valueMappings.currency)")
				return
			}
			norm = cur
		case csvRoleDirection:
			dir, ok := csvDirection(val)
			if !ok {
				fail("is not a direction, credit or debit (map the file's codes with valueMappings.direction)")
				return
			}
			norm = string(dir)
		case csvRoleStatus:
			s, ok := csvStatus(val)
			if !ok {
				fail("is not a status, booked, pending or info (map the file's values with valueMappings.status)")
				return
			}
			norm = s
		}
	}
	e.Fields[c.path] = norm
	p.apply(e, st, c.role, norm, n, t)
}

func (c *csvColumn) parseTime(v string, canonical bool) (time.Time, string, bool) {
	if canonical {
		t, err := csvParseCanonicalTime(c.typ, v)
		if err != nil {
			return time.Time{}, "", false
		}
		return t, csvFormatTime(c.typ, t), true
	}
	if v == c.lastRaw && c.lastNorm != "" {
		return c.lastTime, c.lastNorm, true
	}
	t, err := time.Parse(c.layout, v)
	if err != nil {
		return time.Time{}, "", false
	}
	if c.typ == csvDate {
		t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	c.lastRaw, c.lastTime, c.lastNorm = v, t, csvFormatTime(c.typ, t)
	return t, c.lastNorm, true
}

func csvParseCanonicalTime(typ, v string) (time.Time, error) {
	if typ == csvDatetime {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, nil
		}
	}
	return time.Parse(time.DateOnly, v)
}

func csvFormatTime(typ string, t time.Time) string {
	y, m, d := t.Date()
	if typ != csvDate || y < 0 || y > 9999 {
		if typ == csvDate {
			return t.Format(time.DateOnly)
		}
		return t.Format(time.RFC3339)
	}
	// time.Format is a tenth of the cost of a row; dates are most of
	// the formatting a row needs.
	b := [10]byte{
		byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
		byte('0' + int(m)/10), byte('0' + int(m)%10), '-',
		byte('0' + d/10), byte('0' + d%10),
	}
	return string(b[:])
}

// apply puts a converted value of a well-known path on the Entry.
func (p *csvPlan) apply(e *Entry, st *csvRowState, role csvRole, norm string, n csvNum, t time.Time) {
	switch role {
	case csvRoleAmount:
		st.amount, st.hasAmount = n, true
	case csvRoleDebitAmount:
		st.debit, st.hasDebit = n, true
	case csvRoleCreditAmount:
		st.credit, st.hasCred = n, true
	case csvRoleCurrency:
		e.Currency = norm
	case csvRoleDirection:
		st.direction = Direction(norm)
	case csvRoleBookingDate:
		e.BookingDate = &t
	case csvRoleValueDate:
		e.ValueDate = &t
	case csvRoleStatus:
		e.Status = norm
	case csvRoleBankReference:
		e.BankReference = norm
	case csvRoleCustomerReference:
		e.CustomerReference = norm
	case csvRoleEndToEndID:
		e.EndToEndID = norm
	case csvRoleTransactionID:
		e.TransactionID = norm
	case csvRoleCounterpartyName:
		e.CounterpartyName = norm
	case csvRoleCounterpartyAccount:
		e.CounterpartyAcct = norm
	case csvRoleRemittance:
		e.Remittance = norm
	case csvRoleDescription:
		e.Description = norm
	case csvRoleTypeCode:
		e.TypeCode = norm
	case csvRoleAccountID:
		st.account = norm
	}
}

// finish sets the amount and direction and checks that the row has an
// amount and a currency.
func (p *csvPlan) finish(e *Entry, st *csvRowState) {
	fail := func(format string, args ...any) {
		e.Errors = append(e.Errors, fmt.Sprintf("line %d: ", e.Pos.Line)+fmt.Sprintf(format, args...))
	}
	switch {
	case p.amountMapped:
		switch {
		case st.hasAmount && st.direction != "":
			e.Amount, e.Direction = st.amount.abs(), st.direction
		case st.hasAmount && st.amount.negative():
			e.Amount, e.Direction = st.amount.abs(), Debit
		case st.hasAmount:
			e.Amount, e.Direction = st.amount.abs(), Credit
		case !st.badAmount:
			fail("%s (amount) is empty", csvLabel(p.amountCol))
		}
	case p.splitMapped:
		hasDebit, hasCredit := st.hasDebit, st.hasCred
		if hasDebit && hasCredit {
			// Some exports fill the other column with zero.
			switch {
			case st.credit.isZero():
				hasCredit = false
			case st.debit.isZero():
				hasDebit = false
			}
		}
		switch {
		case hasDebit && hasCredit:
			fail("both %s (debitAmount) and %s (creditAmount) have an amount", csvLabel(p.debitCol), csvLabel(p.creditCol))
		case hasDebit:
			e.Amount, e.Direction = st.debit.abs(), Debit
		case hasCredit:
			e.Amount, e.Direction = st.credit.abs(), Credit
		case !st.badAmount:
			fail("no amount: %s (debitAmount) and %s (creditAmount) are empty", csvLabel(p.debitCol), csvLabel(p.creditCol))
		}
	}
	if (p.amountMapped || p.splitMapped) && e.Currency == "" && !st.badCurrency {
		fail("no currency: the row has none and the profile has no defaults.currency")
	}
}

func csvLabel(c *csvColumn) string {
	if c == nil {
		return "no column"
	}
	return c.label()
}

// csvIsIBAN reports whether s is an IBAN (ISO 13616: country code, check
// digits that pass mod 97, up to 30 letters and digits).
func csvIsIBAN(s string) bool {
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i < 2 && (c < 'A' || c > 'Z'),
			i >= 2 && i < 4 && (c < '0' || c > '9'),
			i >= 4 && !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z'):
			return false
		}
	}
	rem := 0
	for _, c := range s[4:] + s[:4] {
		if c >= 'A' {
			rem = (rem*100 + int(c-'A'+10)) % 97
		} else {
			rem = (rem*10 + int(c-'0')) % 97
		}
	}
	return rem == 1
}
