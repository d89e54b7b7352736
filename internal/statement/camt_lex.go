package statement

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"
)

// camtLexer is the XML tokenizer ParseCAMT reads with: a streaming pull
// tokenizer for what camt documents use of XML 1.0, several times faster
// than encoding/xml because a token costs no allocation (names, values and
// text point into its buffer when there is nothing to unescape). Like
// encoding/xml's RawToken it yields start elements (prefix and local name,
// attributes with unescaped values), end elements (a self-closing tag
// yields both) and unescaped character data, and leaves checking that end
// tags match their start tags, and that there is one root element, to the
// caller. It accepts what encoding/xml accepts in strict mode, so files
// read before still read, with these exceptions, all refusals:
//
//   - a DOCTYPE with an internal subset: it could declare entities (XXE,
//     entity expansion); a DOCTYPE without one is skipped, before the root
//     element only;
//   - any other <!…> declaration outside a DOCTYPE;
//   - an XML declaration anywhere but at the start of the input (after a
//     byte order mark and white space), or a malformed one;
//   - a character reference to a surrogate (encoding/xml reads U+FFFD).
//
// The XML declaration is read for the encoding (UTF-8, or what
// camtCharsetReader converts) and skipped with comments and processing
// instructions; a byte order mark is skipped. Text is returned as is,
// including white space between elements. \r\n and \r become \n in text
// and attribute values, as XML requires; names follow the XML 1.0 fifth
// edition. Lines are counted at \n. A token (tag, text, comment …) longer
// than camtMaxToken is an error, so memory stays bounded.
type camtLexer struct {
	r     io.Reader
	buf   []byte
	pos   int   // next byte to read in buf
	end   int   // end of the bytes read into buf
	base  int64 // stream offset of buf[0]
	rerr  error // what r returned when it had no more: io.EOF or a read error
	empty int   // reads in a row that returned nothing

	line int // line of buf[pos], 1-based

	// The token last returned: the slices its kind has, valid until the
	// next call.
	tokLine int // line the token starts on
	prefix  []byte
	local   []byte
	attrs   []camtLexAttr
	text    []byte

	tokOff    int64      // stream offset the token starts at
	out       []byte     // backs the token's names, values and text
	spans     []camtSpan // the attributes in out while a start tag is read
	closeNext bool       // the start tag returned was self-closing
	markup    bool       // markup or text seen: an XML declaration comes too late
	element   bool       // an element seen: a DOCTYPE comes too late
	tooLong   bool       // the current token is longer than camtMaxToken
	encoding  string     // the encoding declared, when not UTF-8
	// eofIn names what the input ended inside of, when that was the error.
	eofIn string
}

type camtTok uint8

const (
	camtTokEOF camtTok = iota
	camtTokStart
	camtTokEnd
	camtTokText
	camtTokSkip // comment, processing instruction, DOCTYPE: not returned
)

type camtLexAttr struct{ prefix, local, value []byte }

// camtSpan locates a name (and an attribute's value) in camtLexer.out,
// which may move while the tag is read.
type camtSpan struct{ p0, p1, l0, l1, v0, v1 int }

const camtLexBuf = 64 << 10

// Byte classes: the bytes each scanning loop stops at.
const (
	camtStopText  = 1 << iota // character data
	camtStopAttr              // attribute values
	camtStopCDATA             // CDATA sections
)

var camtByteClass = func() (t [256]uint8) {
	const all = camtStopText | camtStopAttr | camtStopCDATA
	for c := range 0x20 {
		if c != '\t' {
			t[c] = all // \n and \r for lines, the others are not allowed
		}
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] = all // checked to be UTF-8 and allowed characters
	}
	t['<'] |= camtStopText | camtStopAttr
	t['&'] |= camtStopText | camtStopAttr
	t[']'] |= camtStopText | camtStopCDATA // ]]>
	t['>'] |= camtStopText
	t['"'] |= camtStopAttr
	t['\''] |= camtStopAttr
	return t
}()

const (
	camtNameChar  = 1
	camtNameColon = 2
)

// camtNameClass is camtNameByte telling the colon apart.
var camtNameClass = func() (t [256]uint8) {
	for c := range 0x80 {
		if camtNameByte[c] {
			t[c] = camtNameChar
		}
	}
	t[':'] = camtNameColon
	return t
}()

// camtNameByte flags the ASCII bytes of names (encoding/xml's isNameByte).
var camtNameByte = func() (t [256]bool) {
	for c := range 0x80 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '_' || c == ':' || c == '.' || c == '-'
	}
	return t
}()

func newCAMTLexer(r io.Reader) *camtLexer {
	l := &camtLexer{r: r, buf: make([]byte, camtLexBuf), line: 1}
	if l.fill(3); bytes.HasPrefix(l.buf[:l.end], []byte("\ufeff")) {
		l.pos = 3
	}
	return l
}

// next reads the next token: camtTokStart (prefix, local, attrs),
// camtTokEnd (prefix, local) or camtTokText (text). At the end of the
// input it returns io.EOF; any other error is an *Error.
func (l *camtLexer) next() (camtTok, error) {
	if l.closeNext {
		l.closeNext = false
		l.attrs = l.attrs[:0]
		return camtTokEnd, nil
	}
	for {
		// prefix, local and text are set for the kinds that have them.
		l.out = l.out[:0]
		l.attrs = l.attrs[:0]
		l.tokLine, l.tokOff = l.line, l.base+int64(l.pos)
		if l.pos >= l.end && !l.fill(1) {
			if l.rerr == io.EOF {
				return camtTokEOF, io.EOF
			}
			return camtTokEOF, l.stop("")
		}
		var kind camtTok
		var err error
		switch {
		case l.buf[l.pos] != '<':
			kind, err = camtTokText, l.lexText()
		case l.pos+1 >= l.end && !l.fill(2):
			return camtTokEOF, l.stop("a tag")
		case l.buf[l.pos+1] == '/':
			kind, err = camtTokEnd, l.lexEnd()
		case l.buf[l.pos+1] == '?':
			kind, err = camtTokSkip, l.skipPI()
		case l.buf[l.pos+1] == '!':
			kind, err = l.lexBang()
		default:
			kind, err = camtTokStart, l.lexStart()
		}
		if err != nil {
			return camtTokEOF, err
		}
		if l.base+int64(l.pos)-l.tokOff > camtMaxToken {
			l.tooLong = true
			return camtTokEOF, l.stop("")
		}
		if kind == camtTokSkip {
			continue
		}
		if kind == camtTokText {
			if !l.markup && len(bytes.TrimLeft(l.text, " \t\r\n")) > 0 {
				l.markup = true
			}
		}
		return kind, nil
	}
}

// fill makes n bytes available at buf[pos:], reading as needed, and
// reports whether it could: not at the end of the input, after a read
// error, or once the current token is longer than camtMaxToken (tooLong).
func (l *camtLexer) fill(n int) bool {
	if l.end-l.pos >= n {
		return true
	}
	if l.base+int64(l.pos)-l.tokOff > camtMaxToken {
		l.tooLong = true
		return false
	}
	for l.end-l.pos < n {
		if l.rerr != nil {
			return false
		}
		if l.pos > 0 {
			l.base += int64(l.pos)
			l.end = copy(l.buf, l.buf[l.pos:l.end])
			l.pos = 0
		}
		m, err := l.r.Read(l.buf[l.end:])
		if m > 0 {
			l.end += m
			l.empty = 0
		}
		switch {
		case err != nil:
			l.rerr = err
		case m <= 0:
			if l.empty++; l.empty >= 100 {
				l.rerr = io.ErrNoProgress
			}
		}
	}
	return true
}

// stop is the error for a fill that failed inside what.
func (l *camtLexer) stop(what string) error {
	switch {
	case l.tooLong:
		return Errorf(Position{Line: l.tokLine}, "XML token starting on line %d is longer than 1 MiB", l.tokLine)
	case l.rerr == io.EOF:
		l.eofIn = what
		return Errorf(Position{Line: l.line}, "file ends inside %s: the XML document is truncated", what)
	}
	return Errorf(Position{Line: l.line}, "reading XML: %v", l.rerr)
}

func (l *camtLexer) errorf(format string, args ...any) error {
	return Errorf(Position{Line: l.line}, "invalid XML: "+format, args...)
}

func (l *camtLexer) peek() (byte, bool) {
	if l.pos >= l.end && !l.fill(1) {
		return 0, false
	}
	return l.buf[l.pos], true
}

func (l *camtLexer) getc() (byte, bool) {
	if l.pos >= l.end && !l.fill(1) {
		return 0, false
	}
	c := l.buf[l.pos]
	l.pos++
	if c == '\n' {
		l.line++
	}
	return c, true
}

func (l *camtLexer) skipSpace() {
	for {
		for l.pos < l.end {
			switch l.buf[l.pos] {
			case ' ', '\t', '\r':
			case '\n':
				l.line++
			default:
				return
			}
			l.pos++
		}
		if !l.fill(1) {
			return
		}
	}
}

// lexText reads character data up to the next '<' or the end of the input.
func (l *camtLexer) lexText() error {
	// Fast path: text with nothing to unescape or check, up to a '<' in
	// buf, is returned where it is.
	buf := l.buf[:l.end]
	i, line := l.pos, l.line
	for i < len(buf) {
		c := buf[i]
		if camtByteClass[c]&camtStopText == 0 {
			i++
			continue
		}
		if c == '\n' {
			line++
			i++
			continue
		}
		if c == '<' {
			l.text = buf[l.pos:i]
			l.pos, l.line = i, line
			return nil
		}
		break
	}
	l.out = append(l.out, buf[l.pos:i]...)
	l.pos, l.line = i, line
	err := l.lexTextSlow()
	l.text = l.out
	return err
}

func (l *camtLexer) lexTextSlow() error {
	brackets := 0 // ']' just read: "]]>" is not allowed in text
	for {
		chunk := l.buf[l.pos:l.end]
		i := 0
		for i < len(chunk) && camtByteClass[chunk[i]]&camtStopText == 0 {
			i++
		}
		if i > 0 {
			l.out = append(l.out, chunk[:i]...)
			l.pos += i
			brackets = 0
		}
		if i == len(chunk) {
			if !l.fill(1) {
				if l.tooLong || l.rerr != io.EOF {
					return l.stop("text")
				}
				return nil // the text runs to the end of the input
			}
			continue
		}
		switch c := chunk[i]; c {
		case '<':
			return nil
		case '&':
			l.pos++
			if err := l.reference(); err != nil {
				return err
			}
			brackets = 0
		case ']':
			l.out = append(l.out, c)
			l.pos++
			brackets++
		case '>':
			if brackets >= 2 {
				return l.errorf(`"]]>" in text (outside a CDATA section)`)
			}
			l.out = append(l.out, c)
			l.pos++
			brackets = 0
		default:
			if err := l.char(c, "text"); err != nil {
				return err
			}
			brackets = 0
		}
	}
}

// char reads a character the fast loops stop at: a line end, a control
// character (not allowed) or a multi-byte UTF-8 sequence.
func (l *camtLexer) char(c byte, in string) error {
	switch {
	case c == '\n':
		l.out = append(l.out, '\n')
		l.pos++
		l.line++
	case c == '\r':
		l.out = append(l.out, '\n')
		l.pos++
		if l.fill(1) && l.buf[l.pos] == '\n' {
			l.pos++
			l.line++
		}
	case c < 0x20:
		return l.errorf("illegal character code %U in %s", rune(c), in)
	default:
		l.fill(utf8.UTFMax)
		avail := l.buf[l.pos:l.end]
		r, size := utf8.DecodeRune(avail)
		if r == utf8.RuneError && size <= 1 {
			if !utf8.FullRune(avail) && (l.tooLong || l.rerr != io.EOF) {
				return l.stop(in)
			}
			return l.errorf("invalid UTF-8 in %s", in)
		}
		if !camtIsChar(r) {
			return l.errorf("illegal character code %U in %s", r, in)
		}
		l.out = append(l.out, avail[:size]...)
		l.pos += size
	}
	return nil
}

// camtIsChar reports whether r may appear in an XML 1.0 document.
func camtIsChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// reference reads an entity or character reference after its '&' and
// appends what it stands for to out.
func (l *camtLexer) reference() error {
	var ref [32]byte // what was read, for the error message
	n := 0
	get := func() (byte, bool) {
		c, ok := l.getc()
		if ok && n < len(ref) {
			ref[n] = c
			n++
		}
		return c, ok
	}
	bad := func(what, hint string) error {
		s := "&" + string(ref[:n])
		if n == len(ref) {
			s += "…"
		}
		return l.errorf("%s %q%s", what, s, hint)
	}
	c, ok := get()
	if !ok {
		return l.stop("an entity reference")
	}
	if c != '#' {
		for camtNameByte[c] && n < len(ref) {
			if c, ok = get(); !ok {
				return l.stop("an entity reference")
			}
		}
		if c != ';' {
			return bad("invalid entity reference", "")
		}
		var r byte
		switch string(ref[:n-1]) {
		case "lt":
			r = '<'
		case "gt":
			r = '>'
		case "amp":
			r = '&'
		case "apos":
			r = '\''
		case "quot":
			r = '"'
		default:
			return bad("unknown entity", " (XML has only &lt; &gt; &amp; &apos; &quot; and character references)")
		}
		l.out = append(l.out, r)
		return nil
	}
	if c, ok = get(); !ok {
		return l.stop("a character reference")
	}
	base := uint32(10)
	if c == 'x' {
		base = 16
		if c, ok = get(); !ok {
			return l.stop("a character reference")
		}
	}
	var v uint32
	digits := 0
	for {
		var d uint32
		switch {
		case '0' <= c && c <= '9':
			d = uint32(c - '0')
		case base == 16 && 'a' <= c && c <= 'f':
			d = uint32(c-'a') + 10
		case base == 16 && 'A' <= c && c <= 'F':
			d = uint32(c-'A') + 10
		default:
			d = base
		}
		if d >= base {
			break
		}
		if v <= utf8.MaxRune {
			v = v*base + d
		}
		digits++
		if c, ok = get(); !ok {
			return l.stop("a character reference")
		}
	}
	switch r := rune(v); {
	case c != ';' || digits == 0 || v > utf8.MaxRune:
		return bad("invalid character reference", "")
	case 0xD800 <= r && r <= 0xDFFF:
		return bad("character reference to a surrogate", "")
	case !camtIsChar(r):
		return l.errorf("illegal character code %U (character reference)", r)
	default:
		l.out = utf8.AppendRune(l.out, r)
	}
	return nil
}

// name appends the XML name at the input to out, and reports whether there
// was one; an error only for a name with characters names cannot have.
func (l *camtLexer) name() (bool, error) {
	start := len(l.out)
	for {
		chunk := l.buf[l.pos:l.end]
		i := 0
		for i < len(chunk) && camtNameByte[chunk[i]] {
			i++
		}
		l.out = append(l.out, chunk[:i]...)
		l.pos += i
		if i < len(chunk) {
			if chunk[i] < utf8.RuneSelf {
				break
			}
			l.fill(utf8.UTFMax)
			avail := l.buf[l.pos:l.end]
			r, size := utf8.DecodeRune(avail)
			if r == utf8.RuneError && size <= 1 {
				return false, l.errorf("invalid UTF-8 in a name")
			}
			if !camtNameRune(r, len(l.out) == start) {
				return false, l.errorf("character %U is not allowed in a name", r)
			}
			l.out = append(l.out, avail[:size]...)
			l.pos += size
			continue
		}
		if !l.fill(1) {
			break
		}
	}
	name := l.out[start:]
	if len(name) == 0 {
		return false, nil
	}
	if c := name[0]; c == '-' || c == '.' || '0' <= c && c <= '9' {
		return false, l.errorf("invalid name %q", name)
	}
	return true, nil
}

// camtNameRune reports whether the non-ASCII r may start (first) or
// continue an XML name (XML 1.0 fifth edition, a superset of the tables
// encoding/xml uses).
func camtNameRune(r rune, first bool) bool {
	switch {
	case r >= 0xC0 && r <= 0xD6, r >= 0xD8 && r <= 0xF6, r >= 0xF8 && r <= 0x2FF,
		r >= 0x370 && r <= 0x37D, r >= 0x37F && r <= 0x1FFF, r == 0x200C, r == 0x200D,
		r >= 0x2070 && r <= 0x218F, r >= 0x2C00 && r <= 0x2FEF, r >= 0x3001 && r <= 0xD7FF,
		r >= 0xF900 && r <= 0xFDCF, r >= 0xFDF0 && r <= 0xFFFD, r >= 0x10000 && r <= 0xEFFFF:
		return true
	}
	return !first && (r == 0xB7 || r >= 0x300 && r <= 0x36F || r == 0x203F || r == 0x2040)
}

// qname reads a name with an optional prefix. As in encoding/xml, a name
// with an empty prefix or local part (":a", "a:") is all local name, and
// one with two colons is refused.
func (l *camtLexer) qname(missing, in string) (camtSpan, error) {
	start := len(l.out)
	ok, err := l.name()
	switch {
	case err != nil:
		return camtSpan{}, err
	case !ok:
		if _, more := l.peek(); !more {
			return camtSpan{}, l.stop(in)
		}
		return camtSpan{}, l.errorf("%s", missing)
	}
	name := l.out[start:]
	s := camtSpan{p0: start, p1: start, l0: start, l1: len(l.out)}
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		if bytes.IndexByte(name[i+1:], ':') >= 0 {
			return camtSpan{}, l.errorf("name %q has more than one colon", name)
		}
		if i > 0 && i < len(name)-1 {
			s.p1, s.l0 = start+i, start+i+1
		}
	}
	return s, nil
}

func (l *camtLexer) lexStart() error {
	l.markup, l.element = true, true
	if l.lexStartFast() {
		return nil
	}
	l.attrs = l.attrs[:0]
	l.pos++ // '<'
	el, err := l.qname(`"<" not followed by an element name (a "<" in text is written &lt;)`, "a start tag")
	if err != nil {
		return err
	}
	l.spans = l.spans[:0]
	for {
		l.skipSpace()
		c, ok := l.getc()
		if !ok {
			return l.stop("a start tag")
		}
		if c == '>' {
			break
		}
		if c == '/' {
			if c, ok = l.getc(); !ok {
				return l.stop("a start tag")
			}
			if c != '>' {
				return l.errorf(`"/" not followed by ">" in a start tag`)
			}
			l.closeNext = true
			break
		}
		l.pos--
		a, err := l.qname("expected an attribute name, \"/>\" or \">\" in a start tag", "a start tag")
		if err != nil {
			return err
		}
		l.skipSpace()
		if c, ok = l.getc(); !ok {
			return l.stop("a start tag")
		}
		if c != '=' {
			return l.errorf("attribute %s without =", l.out[a.p0:a.l1])
		}
		l.skipSpace()
		q, ok := l.getc()
		if !ok {
			return l.stop("a start tag")
		}
		if q != '"' && q != '\'' {
			return l.errorf("value of attribute %s is not quoted", l.out[a.p0:a.l1])
		}
		a.v0 = len(l.out)
		if err := l.attrValue(q); err != nil {
			return err
		}
		a.v1 = len(l.out)
		l.spans = append(l.spans, a)
	}
	l.prefix, l.local = l.out[el.p0:el.p1], l.out[el.l0:el.l1]
	for _, a := range l.spans {
		l.attrs = append(l.attrs, camtLexAttr{prefix: l.out[a.p0:a.p1], local: l.out[a.l0:a.l1], value: l.out[a.v0:a.v1]})
	}
	return nil
}

// lexStartFast reads a start tag that is all in buf, with ASCII names and
// attribute values with nothing to unescape or check, leaving its names
// and values where they are. It reports false, having changed nothing
// but attrs, for any other tag: lexStart reads those (and the errors).
func (l *camtLexer) lexStartFast() bool {
	buf := l.buf[:l.end]
	end, colon, ok := camtScanName(buf, l.pos+1)
	if !ok {
		return false
	}
	prefix, local := camtSplitName(buf, l.pos+1, end, colon)
	i, line := end, l.line
	for {
		for i < len(buf) && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n') {
			if buf[i] == '\n' {
				line++
			}
			i++
		}
		if i >= len(buf) {
			return false
		}
		switch buf[i] {
		case '>':
			l.prefix, l.local = prefix, local
			l.pos, l.line = i+1, line
			return true
		case '/':
			if i+1 >= len(buf) || buf[i+1] != '>' {
				return false
			}
			l.prefix, l.local = prefix, local
			l.pos, l.line = i+2, line
			l.closeNext = true
			return true
		}
		nameEnd, colon, ok := camtScanName(buf, i)
		if !ok || nameEnd >= len(buf) || buf[nameEnd] != '=' || nameEnd+1 >= len(buf) {
			return false
		}
		q := buf[nameEnd+1]
		if q != '"' && q != '\'' {
			return false
		}
		v := nameEnd + 2
		j := v
		for j < len(buf) && camtByteClass[buf[j]]&camtStopAttr == 0 {
			j++
		}
		if j >= len(buf) || buf[j] != q {
			return false
		}
		a := camtLexAttr{value: buf[v:j]}
		a.prefix, a.local = camtSplitName(buf, i, nameEnd, colon)
		l.attrs = append(l.attrs, a)
		i = j + 1
	}
}

// camtScanName finds the end of the ASCII name at buf[i:], and its colon
// (-1 for none); ok is false when there is no such name, when it has more
// than one colon, or when it runs into a non-ASCII byte or the end of buf.
func camtScanName(buf []byte, i int) (end, colon int, ok bool) {
	start := i
	colon = -1
	for i < len(buf) {
		switch camtNameClass[buf[i]] {
		case camtNameChar:
			i++
			continue
		case camtNameColon:
			if colon >= 0 {
				return 0, 0, false
			}
			colon = i
			i++
			continue
		}
		break
	}
	if i == start || i >= len(buf) || buf[i] >= utf8.RuneSelf {
		return 0, 0, false
	}
	if c := buf[start]; c == '-' || c == '.' || '0' <= c && c <= '9' {
		return 0, 0, false
	}
	return i, colon, true
}

// camtSplitName splits the name buf[start:end] at its colon, as qname.
func camtSplitName(buf []byte, start, end, colon int) (prefix, local []byte) {
	if colon <= start || colon >= end-1 {
		return nil, buf[start:end]
	}
	return buf[start:colon], buf[colon+1 : end]
}

// attrValue reads an attribute value after its opening quote q, through
// the closing one.
func (l *camtLexer) attrValue(q byte) error {
	for {
		chunk := l.buf[l.pos:l.end]
		i := 0
		for i < len(chunk) && camtByteClass[chunk[i]]&camtStopAttr == 0 {
			i++
		}
		l.out = append(l.out, chunk[:i]...)
		l.pos += i
		if i == len(chunk) {
			if !l.fill(1) {
				return l.stop("an attribute value")
			}
			continue
		}
		switch c := chunk[i]; c {
		case q:
			l.pos++
			return nil
		case '"', '\'':
			l.out = append(l.out, c)
			l.pos++
		case '<':
			return l.errorf(`"<" in an attribute value (write &lt;)`)
		case '&':
			l.pos++
			if err := l.reference(); err != nil {
				return err
			}
		default:
			if err := l.char(c, "an attribute value"); err != nil {
				return err
			}
		}
	}
}

func (l *camtLexer) lexEnd() error {
	l.markup = true
	// Fast path: an ASCII name and '>' in buf.
	buf := l.buf[:l.end]
	if end, colon, ok := camtScanName(buf, l.pos+2); ok {
		i, line := end, l.line
		for i < len(buf) && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n') {
			if buf[i] == '\n' {
				line++
			}
			i++
		}
		if i < len(buf) && buf[i] == '>' {
			l.prefix, l.local = camtSplitName(buf, l.pos+2, end, colon)
			l.pos, l.line = i+1, line
			return nil
		}
	}
	l.pos += 2 // "</"
	el, err := l.qname(`"</" not followed by an element name`, "an end tag")
	if err != nil {
		return err
	}
	l.skipSpace()
	c, ok := l.getc()
	if !ok {
		return l.stop("an end tag")
	}
	if c != '>' {
		return l.errorf("unexpected %q in end tag </%s>", c, l.out[el.p0:el.l1])
	}
	l.prefix, l.local = l.out[el.p0:el.p1], l.out[el.l0:el.l1]
	return nil
}

// lexBang reads markup that starts "<!": a comment, a CDATA section
// (returned as text) or a DOCTYPE.
func (l *camtLexer) lexBang() (camtTok, error) {
	l.markup = true
	const comment, cdata, doctype = "<!--", "<![CDATA[", "<!DOCTYPE"
	l.fill(len(cdata))
	rest := l.buf[l.pos:l.end]
	switch {
	case bytes.HasPrefix(rest, []byte(comment)):
		l.pos += len(comment)
		return camtTokSkip, l.skipComment()
	case bytes.HasPrefix(rest, []byte(cdata)):
		l.pos += len(cdata)
		return camtTokText, l.lexCDATA()
	case bytes.HasPrefix(rest, []byte(doctype)):
		l.pos += len(doctype)
		return camtTokSkip, l.skipDoctype()
	}
	if len(rest) < len(cdata) {
		for _, m := range []string{comment, cdata, doctype} {
			if strings.HasPrefix(m, string(rest)) {
				return camtTokEOF, l.stop("markup")
			}
		}
	}
	return camtTokEOF, l.errorf("unsupported markup %q (only comments, CDATA sections and a DOCTYPE without internal subset are read)", rest[:min(len(rest), len(cdata))])
}

func (l *camtLexer) skipComment() error {
	for {
		chunk := l.buf[l.pos:l.end]
		i := 0
		for i < len(chunk) && chunk[i] != '-' && chunk[i] != '\n' {
			i++
		}
		l.pos += i
		if i == len(chunk) {
			if !l.fill(1) {
				return l.stop("a comment")
			}
			continue
		}
		l.pos++
		if chunk[i] == '\n' {
			l.line++
			continue
		}
		c, ok := l.peek()
		if !ok {
			return l.stop("a comment")
		}
		if c != '-' {
			continue
		}
		l.pos++
		if c, ok = l.getc(); !ok {
			return l.stop("a comment")
		}
		if c != '>' {
			return l.errorf(`"--" inside a comment`)
		}
		return nil
	}
}

func (l *camtLexer) lexCDATA() error {
	for {
		chunk := l.buf[l.pos:l.end]
		i := 0
		for i < len(chunk) && camtByteClass[chunk[i]]&camtStopCDATA == 0 {
			i++
		}
		l.out = append(l.out, chunk[:i]...)
		l.pos += i
		if i == len(chunk) {
			if !l.fill(1) {
				return l.stop("a CDATA section")
			}
			continue
		}
		if c := chunk[i]; c != ']' {
			if err := l.char(c, "a CDATA section"); err != nil {
				return err
			}
			continue
		}
		l.fill(3)
		if l.end-l.pos >= 3 && l.buf[l.pos+1] == ']' && l.buf[l.pos+2] == '>' {
			l.pos += 3
			l.text = l.out
			return nil
		}
		l.out = append(l.out, ']')
		l.pos++
	}
}

// skipDoctype skips a DOCTYPE after "<!DOCTYPE". One with an internal
// subset is refused: the subset can declare entities, external (XXE) or
// expanding without bound ("billion laughs").
func (l *camtLexer) skipDoctype() error {
	if l.element {
		return l.errorf("DOCTYPE after the root element")
	}
	if c, ok := l.peek(); !ok {
		return l.stop("the DOCTYPE")
	} else if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
		return l.errorf("malformed DOCTYPE")
	}
	var quote byte
	for {
		c, ok := l.getc()
		if !ok {
			return l.stop("the DOCTYPE")
		}
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[':
			return Errorf(Position{Line: l.line}, "DOCTYPE with an internal subset: refused, as it can declare entities (external or expanding without bound)")
		case c == '<':
			return l.errorf("malformed DOCTYPE")
		case c == '>':
			return nil
		}
	}
}

// skipPI skips a processing instruction, and reads the XML declaration.
func (l *camtLexer) skipPI() error {
	l.pos += 2 // "<?"
	decl := !l.markup
	l.markup = true
	start := len(l.out)
	ok, err := l.name()
	switch {
	case err != nil:
		return err
	case !ok:
		if _, more := l.peek(); !more {
			return l.stop("a processing instruction")
		}
		return l.errorf(`"<?" not followed by a processing instruction target`)
	}
	isXML := string(l.out[start:]) == "xml"
	if isXML && !decl {
		return Errorf(Position{Line: l.line}, "invalid XML: XML declaration not at the start of the document")
	}
	l.skipSpace()
	data := len(l.out)
	for {
		chunk := l.buf[l.pos:l.end]
		i := 0
		for i < len(chunk) && chunk[i] != '?' && chunk[i] != '\n' {
			i++
		}
		if isXML {
			l.out = append(l.out, chunk[:i]...)
		}
		l.pos += i
		if i == len(chunk) {
			if !l.fill(1) {
				return l.stop("a processing instruction")
			}
			continue
		}
		l.pos++
		if isXML {
			l.out = append(l.out, chunk[i])
		}
		if chunk[i] == '\n' {
			l.line++
			continue
		}
		if c, ok := l.peek(); !ok {
			return l.stop("a processing instruction")
		} else if c == '>' {
			l.pos++
			break
		}
	}
	if !isXML {
		return nil
	}
	return l.xmlDecl(l.out[data : len(l.out)-1])
}

// xmlDecl reads the XML declaration's pseudo-attributes and switches to
// the encoding it declares.
func (l *camtLexer) xmlDecl(d []byte) error {
	malformed := func() error {
		return Errorf(Position{Line: l.line}, "invalid XML: malformed XML declaration")
	}
	var version, encoding []byte
	for {
		d = bytes.TrimLeft(d, " \t\r\n")
		if len(d) == 0 {
			break
		}
		i := 0
		for i < len(d) && 'a' <= d[i] && d[i] <= 'z' {
			i++
		}
		name := d[:i]
		d = bytes.TrimLeft(d[i:], " \t\r\n")
		if len(d) == 0 || d[0] != '=' {
			return malformed()
		}
		d = bytes.TrimLeft(d[1:], " \t\r\n")
		if len(d) == 0 || d[0] != '"' && d[0] != '\'' {
			return malformed()
		}
		j := bytes.IndexByte(d[1:], d[0])
		if j < 0 {
			return malformed()
		}
		value := d[1 : 1+j]
		d = d[2+j:]
		if len(d) > 0 && d[0] != ' ' && d[0] != '\t' && d[0] != '\r' && d[0] != '\n' {
			return malformed()
		}
		switch string(name) {
		case "version":
			version = value
		case "encoding":
			encoding = value
		case "standalone":
		default:
			return malformed()
		}
	}
	if version != nil && string(version) != "1.0" {
		return Errorf(Position{Line: l.line}, "XML declaration: version %q is not supported (only 1.0)", version)
	}
	if len(encoding) == 0 || strings.EqualFold(string(encoding), "utf-8") {
		return nil
	}
	l.encoding = string(encoding)
	r, err := camtCharsetReader(l.encoding, l.rest())
	if err != nil {
		return Errorf(Position{Line: l.line}, "XML declaration: %v", err)
	}
	l.r = r
	return nil
}

// rest is the input not read yet, for a charset reader to convert.
func (l *camtLexer) rest() io.Reader {
	pending := bytes.Clone(l.buf[l.pos:l.end])
	src := l.r
	if l.rerr != nil {
		src = camtErrReader{l.rerr}
	}
	l.base += int64(l.pos)
	l.pos, l.end, l.rerr, l.empty = 0, 0, nil, 0
	return io.MultiReader(bytes.NewReader(pending), src)
}

type camtErrReader struct{ err error }

func (r camtErrReader) Read([]byte) (int, error) { return 0, r.err }

// attr is the value of the current start tag's attribute with local name
// local.
func (l *camtLexer) attr(local string) ([]byte, bool) {
	for _, a := range l.attrs {
		if string(a.local) == local {
			return a.value, true
		}
	}
	return nil, false
}
