package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// Limits of a JSON request body (contact and do-not-call uploads have their own, in crm).
const (
	maxJSONBody   = 1 << 20  // bytes of a request body
	maxJSONString = 64 << 10 // bytes of one string value or key, after unescaping
	maxJSONDepth  = 32       // nested objects and arrays
)

// bodyError is a request body refused before it reached a handler's logic. Field is the
// JSON path of the value at fault ("retry_rules.busy.after_seconds", "numbers[3]"; ""
// for the body as a whole); httpError answers Status with both.
type bodyError struct {
	Status int
	Field  string
	Msg    string
}

func (e *bodyError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func badBody(field, format string, args ...any) *bodyError {
	return &bodyError{Status: http.StatusBadRequest, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// decodeJSON reads an application/json request body into v (a pointer). PostgreSQL and
// the domain types must never see what encoding/json lets through, so the body is read
// whole (it is at most maxJSONBody bytes), then:
//
//  1. its tokens are walked along v's type (checkJSON): valid UTF-8 (encoding/json would
//     store each bad byte as U+FFFD silently), one value and nothing after it, no
//     key twice in an object, object keys matched to struct fields exactly (encoding/json
//     also matches them ignoring case, which would let "Name" override "name") and known,
//     numbers that fit their field's Go type, no string (value or key) containing NUL
//     (PostgreSQL refuses it in text and jsonb) or longer than maxJSONString, at most
//     maxJSONDepth levels of nesting;
//  2. encoding/json decodes it, unknown fields refused.
//
// Every refusal is a *bodyError naming the JSON path of the value at fault.
func decodeJSON(c echo.Context, v any) error {
	body, err := readJSONBody(c)
	if err != nil {
		return err
	}
	return unmarshalStrict(body, v)
}

// decodeOptionalJSON is decodeJSON for a body that may be left out: an empty body leaves
// v as it is, whatever its content type.
func decodeOptionalJSON(c echo.Context, v any) error {
	if c.Request().ContentLength == 0 {
		return nil
	}
	body, err := readBody(c, maxJSONBody)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := checkJSONType(c); err != nil {
		return err
	}
	return unmarshalStrict(body, v)
}

func readJSONBody(c echo.Context) ([]byte, error) {
	if err := checkJSONType(c); err != nil {
		return nil, err
	}
	return readBody(c, maxJSONBody)
}

func checkJSONType(c echo.Context) error {
	ct, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if ct != "application/json" {
		return &bodyError{Status: http.StatusUnsupportedMediaType, Msg: "send application/json"}
	}
	return nil
}

// readBody reads the request body, at most limit bytes.
func readBody(c echo.Context, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, limit))
	if err != nil {
		return nil, bodyReadError(err, limit)
	}
	return b, nil
}

// bodyReadError classifies a failure to read a request body: too large (413), not sent
// in time (408: the connection's read deadline passed), or cut short (400).
func bodyReadError(err error, limit int64) *bodyError {
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &mbe):
		return &bodyError{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("body larger than %d bytes", limit)}
	case errors.As(err, &ne) && ne.Timeout():
		return &bodyError{Status: http.StatusRequestTimeout, Msg: "the body did not arrive in time"}
	}
	return &bodyError{Status: http.StatusBadRequest, Msg: "reading the body: " + err.Error()}
}

// unmarshalStrict checks body (checkJSON) and decodes it into v.
func unmarshalStrict(body []byte, v any) error {
	if err := checkJSON(body, reflect.TypeOf(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// checkJSON has seen to types and fields; what is left is a custom decoder's
		// refusal (time.Time and the like).
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return badBody(te.Field, "want %s", describe(te.Type))
		}
		return badBody("", "%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// checkJSON applies the checks of decodeJSON's step 1 to body, to be decoded into a value
// of type t (a pointer; nil: any JSON value).
func checkJSON(body []byte, t reflect.Type) *bodyError {
	if t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	w := &jsonWalker{dec: json.NewDecoder(bytes.NewReader(body)), badUTF8: -1}
	if !utf8.Valid(body) {
		// The walk names the string that holds the first bad byte; a bad byte outside
		// any string is a syntax error, or caught at the end.
		w.badUTF8 = invalidUTF8At(body)
	}
	w.dec.UseNumber()
	tok, err := w.dec.Token()
	if err == io.EOF {
		return badBody("", "empty body; want %s", describe(t))
	}
	if err != nil {
		return w.syntax(err)
	}
	if err := w.value(tok, t); err != nil {
		return err
	}
	if _, err := w.dec.Token(); err != io.EOF {
		return badBody("", "unexpected data after the JSON value (at offset %d); send one value", w.dec.InputOffset())
	}
	if w.badUTF8 >= 0 {
		return badBody("", "not valid UTF-8 text (first bad byte at offset %d)", w.badUTF8)
	}
	return nil
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// jsonWalker walks the tokens of one JSON text, keeping the path to the current value.
type jsonWalker struct {
	dec     *json.Decoder
	path    []pathStep
	badUTF8 int // offset of the first byte that is not UTF-8; -1: none
}

// pathStep is an object key or an array index.
type pathStep struct {
	key   string
	index int // -1 for a key
}

// where renders the path: `agents[0].name`, `endpoints["a b"]`; "" for the root.
func (w *jsonWalker) where() string {
	var b strings.Builder
	for _, s := range w.path {
		switch {
		case s.index >= 0:
			fmt.Fprintf(&b, "[%d]", s.index)
		case plainKey(s.key):
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.key)
		default:
			b.WriteString("[" + quoteShort(s.key) + "]")
		}
	}
	return b.String()
}

func plainKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for _, r := range k {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// quoteShort quotes s for a message, cut to 40 characters.
func quoteShort(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return strconv.Quote(s)
	}
	i := 0
	for range 40 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return strconv.Quote(s[:i]) + "…"
}

func (w *jsonWalker) fail(format string, args ...any) *bodyError {
	return badBody(w.where(), format, args...)
}

func (w *jsonWalker) syntax(err error) *bodyError {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return badBody("", "the JSON ends early (at offset %d)", w.dec.InputOffset())
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return badBody("", "invalid JSON at offset %d: %s", se.Offset, se.Error())
	}
	return badBody("", "invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func (w *jsonWalker) next() (json.Token, *bodyError) {
	tok, err := w.dec.Token()
	if err != nil {
		return nil, w.syntax(err)
	}
	return tok, nil
}

// checkString checks the string token just read: a value, or with what = "key " a key.
func (w *jsonWalker) checkString(s, what string) *bodyError {
	if w.badUTF8 >= 0 && w.dec.InputOffset() > int64(w.badUTF8) {
		return w.fail("%sis not valid UTF-8 text", what)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return w.fail("%scontains a NUL character (\\u0000)", what)
	}
	if len(s) > maxJSONString {
		return w.fail("%sis longer than %d bytes", what, maxJSONString)
	}
	return nil
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decodesItself tells whether encoding/json hands values of t to a method of t, whose
// rules the walker does not know.
func decodesItself(t reflect.Type) bool {
	for _, u := range []reflect.Type{jsonUnmarshaler, textUnmarshaler} {
		if t.Implements(u) || reflect.PointerTo(t).Implements(u) {
			return true
		}
	}
	return false
}

// value checks the value that starts with tok, to be decoded into type t (nil: any).
func (w *jsonWalker) value(tok json.Token, t reflect.Type) *bodyError {
	for t != nil && t.Kind() == reflect.Pointer && !decodesItself(t) {
		t = t.Elem()
	}
	if t != nil && (t.Kind() == reflect.Interface || decodesItself(t)) {
		t = nil
	}
	if tok == nil { // null leaves any Go value as it is
		return nil
	}
	switch tok := tok.(type) {
	case json.Delim:
		if len(w.path) >= maxJSONDepth {
			return w.fail("nested deeper than %d levels", maxJSONDepth)
		}
		if tok == '{' {
			return w.object(t)
		}
		return w.array(t)
	case string:
		if err := w.checkString(tok, ""); err != nil {
			return err
		}
		if t != nil && t.Kind() != reflect.String {
			return w.fail("want %s, got a string", describe(t))
		}
	case bool:
		if t != nil && t.Kind() != reflect.Bool {
			return w.fail("want %s, got %t", describe(t), tok)
		}
	case json.Number:
		return w.number(tok, t)
	}
	return nil
}

func (w *jsonWalker) number(n json.Number, t reflect.Type) *bodyError {
	if t == nil {
		return nil
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if _, err := strconv.ParseInt(string(n), 10, t.Bits()); errors.Is(err, strconv.ErrRange) {
			lo, hi := -int64(1)<<(t.Bits()-1), int64(1)<<(t.Bits()-1)-1
			return w.fail("want an integer within %d..%d, got %s", lo, hi, shortNumber(n))
		} else if err != nil {
			return w.fail("want an integer, got %s", shortNumber(n))
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if _, err := strconv.ParseUint(string(n), 10, t.Bits()); errors.Is(err, strconv.ErrRange) {
			return w.fail("want an integer within 0..%d, got %s", ^uint64(0)>>(64-t.Bits()), shortNumber(n))
		} else if err != nil {
			return w.fail("want an integer, got %s", shortNumber(n))
		}
	case reflect.Float32, reflect.Float64:
		if _, err := strconv.ParseFloat(string(n), t.Bits()); err != nil {
			limit := math.MaxFloat64
			if t.Bits() == 32 {
				limit = math.MaxFloat32
			}
			return w.fail("want a number within ±%g, got %s", limit, shortNumber(n))
		}
	default:
		return w.fail("want %s, got a number", describe(t))
	}
	return nil
}

func shortNumber(n json.Number) string {
	if len(n) > 40 {
		return string(n[:40]) + "…"
	}
	return string(n)
}

// object checks an object whose '{' was read, into t: a struct, a map or any.
func (w *jsonWalker) object(t reflect.Type) *bodyError {
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = jsonFields(t)
		case reflect.Map:
			elem = t.Elem()
		default:
			return w.fail("want %s, got an object", describe(t))
		}
	}
	seen := map[string]bool{}
	for w.dec.More() {
		tok, err := w.next()
		if err != nil {
			return err
		}
		key, _ := tok.(string) // the decoder only returns a string here
		w.path = append(w.path, pathStep{key: key, index: -1})
		if err := w.checkString(key, "key "); err != nil {
			return err
		}
		if seen[key] {
			return w.fail("duplicate key")
		}
		seen[key] = true
		ft := elem
		if fields != nil {
			var ok bool
			if ft, ok = fields[key]; !ok {
				return w.fail("unknown field")
			}
		}
		if tok, err = w.next(); err != nil {
			return err
		}
		if err := w.value(tok, ft); err != nil {
			return err
		}
		w.path = w.path[:len(w.path)-1]
	}
	_, err := w.next() // '}'
	return err
}

// array checks an array whose '[' was read, into t: a slice, an array or any.
func (w *jsonWalker) array(t reflect.Type) *bodyError {
	var elem reflect.Type
	if t != nil {
		if k := t.Kind(); k != reflect.Slice && k != reflect.Array {
			return w.fail("want %s, got an array", describe(t))
		}
		elem = t.Elem()
	}
	for i := 0; w.dec.More(); i++ {
		w.path = append(w.path, pathStep{index: i})
		tok, err := w.next()
		if err != nil {
			return err
		}
		if err := w.value(tok, elem); err != nil {
			return err
		}
		w.path = w.path[:len(w.path)-1]
	}
	_, err := w.next() // ']'
	return err
}

var fieldCache sync.Map // reflect.Type -> map[string]reflect.Type

// jsonFields maps the JSON names of a struct's fields, as encoding/json names them
// (embedded structs' fields promoted), to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	addFields(m, t)
	fieldCache.Store(t, m)
	return m
}

func addFields(m map[string]reflect.Type, t reflect.Type) {
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(m, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := m[name]; !dup {
			m[name] = f.Type
		}
	}
}

// describe names what a JSON value for t looks like.
func describe(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "a JSON value"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a JSON value"
}
