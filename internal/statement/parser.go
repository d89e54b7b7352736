package statement

import (
	"bytes"
	"fmt"
	"io"
)

// Parser reads a file of one format, calling h for every entry.
type Parser func(r io.Reader, h Handler) error

// ParserFor is the parser of a format; a CSV needs the profile that says
// what its columns are.
func ParserFor(f Format, opt Options, profile *Profile) (Parser, error) {
	switch f {
	case FormatCAMT052, FormatCAMT053, FormatCAMT054:
		return func(r io.Reader, h Handler) error { return ParseCAMTWith(r, h, opt) }, nil
	case FormatBAI2:
		return func(r io.Reader, h Handler) error { return ParseBAI2With(r, h, opt) }, nil
	case FormatMT940, FormatMT942:
		return func(r io.Reader, h Handler) error { return ParseMT940With(r, h, opt) }, nil
	case FormatCSV:
		if profile == nil {
			return nil, fmt.Errorf("a CSV file needs an import profile")
		}
		p := *profile
		return func(r io.Reader, h Handler) error { return ParseCSV(r, p, h) }, nil
	}
	return nil, fmt.Errorf("format %q is not supported", f)
}

// Detect recognizes camt.05x XML, BAI2 and MT940/MT942 from a file's first
// bytes; anything else (a CSV, or nothing known) is not recognized.
func Detect(content []byte) (Format, bool) {
	head := content[:min(len(content), 8192)]
	if f, ok := DetectCAMT(head); ok {
		return f, true
	}
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	switch {
	case bytes.HasPrefix(trimmed, []byte("01,")):
		return FormatBAI2, true
	case bytes.Contains(head, []byte(":20:")) && (bytes.Contains(head, []byte(":25:")) || bytes.Contains(head, []byte(":28C:"))):
		if bytes.Contains(head, []byte(":13D:")) || bytes.Contains(head, []byte(":34F:")) {
			return FormatMT942, true
		}
		return FormatMT940, true
	}
	return "", false
}
