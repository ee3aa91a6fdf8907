// Package runbox_rpc is judge mode's channel for Go (docs/judge.md), put into both boxes by
// runbox as /box/.runbox/runbox_rpc.go and imported by the generated files (GOPATH mode allows
// the relative import):
//
//	import rb "./.runbox"
//
// One JSON document per line: fd 3 is this box's input, fd 4 its output. The judge side's Call
// sends a request and returns the reply's value; an error, a timeout or a crash of the student's
// program fails the current test (t.Fatal, the test found through Main's wrapper). The student
// side's Serve answers requests with the generated dispatcher; a panic of the student's code
// becomes an "err" reply. Values: int (Go int), long int64, double float64 (NaN and the
// infinities as {"$float": ...}), bool, char rune (a one-character string), string, T[] []T, and
// objects of the interface's classes as {"$ref": N} (Ref).
package runbox_rpc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

// Ref is a reference to an object that lives in the student's box.
type Ref int64

/*** Values ***/

// Enc encodes one value of the interface's types.
func Enc(v any) json.RawMessage {
	var b []byte
	switch x := v.(type) {
	case nil:
		b = []byte("null")
	case Ref:
		b = []byte(`{"$ref":` + strconv.FormatInt(int64(x), 10) + `}`)
	case float64:
		switch {
		case math.IsNaN(x):
			b = []byte(`{"$float":"nan"}`)
		case math.IsInf(x, 1):
			b = []byte(`{"$float":"inf"}`)
		case math.IsInf(x, -1):
			b = []byte(`{"$float":"-inf"}`)
		default:
			b = []byte(strconv.FormatFloat(x, 'g', -1, 64))
			if !bytes.ContainsAny(b, ".eEn") {
				b = append(b, ".0"...)
			}
		}
	case rune:
		b, _ = json.Marshal(string(x))
	case []float64:
		parts := make([]string, len(x))
		for i, f := range x {
			parts[i] = string(Enc(f))
		}
		b = []byte("[" + strings.Join(parts, ",") + "]")
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			b = []byte("null")
		}
		if len(b) == 4 && string(b) == "null" && reflect.ValueOf(v).Kind() == reflect.Slice {
			b = []byte("[]")
		}
	}
	return json.RawMessage(b)
}

func short(raw json.RawMessage) string {
	s := string(raw)
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// Dec decodes @raw into @p, a pointer to one of the interface's types.
func Dec(raw json.RawMessage, p any) error {
	fail := func(what string) error { return fmt.Errorf("expected %s, got %s", what, short(raw)) }
	switch q := p.(type) {
	case *int, *int64, *bool, *string:
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(p); err != nil {
			return fail(strings.TrimPrefix(fmt.Sprintf("%T", p), "*"))
		}
	case *float64:
		var tag struct {
			F *string `json:"$float"`
		}
		if len(raw) > 0 && raw[0] == '{' {
			if json.Unmarshal(raw, &tag) != nil || tag.F == nil {
				return fail("a number")
			}
			switch *tag.F {
			case "nan":
				*q = math.NaN()
			case "inf":
				*q = math.Inf(1)
			case "-inf":
				*q = math.Inf(-1)
			default:
				return fail("a number")
			}
		} else if json.Unmarshal(raw, q) != nil {
			return fail("a number")
		}
	case *rune:
		var s string
		if json.Unmarshal(raw, &s) != nil || len([]rune(s)) != 1 {
			return fail("a character")
		}
		*q = []rune(s)[0]
	case *Ref:
		var r struct {
			N *int64 `json:"$ref"`
		}
		if json.Unmarshal(raw, &r) != nil || r.N == nil {
			return fail("an object reference")
		}
		*q = Ref(*r.N)
	default:
		// []T of the types above
		v := reflect.ValueOf(p)
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Slice {
			return fmt.Errorf("runbox: cannot decode into %T", p)
		}
		var items []json.RawMessage
		if string(raw) == "null" {
			v.Elem().Set(reflect.Zero(v.Elem().Type()))
			return nil
		}
		if json.Unmarshal(raw, &items) != nil {
			return fail("an array")
		}
		s := reflect.MakeSlice(v.Elem().Type(), len(items), len(items))
		for i, it := range items {
			if err := Dec(it, s.Index(i).Addr().Interface()); err != nil {
				return fmt.Errorf("[%d]: %v", i, err)
			}
		}
		v.Elem().Set(s)
	}
	return nil
}

/*** The channel: fd 3 in, fd 4 out ***/

var (
	chanMu   sync.Mutex
	in       *bufio.Reader
	out      *os.File
	lastTest string
)

func open() {
	if in == nil {
		in = bufio.NewReaderSize(os.NewFile(3, "runbox-in"), 1<<16)
		out = os.NewFile(4, "runbox-out")
	}
}

func send(line []byte) {
	if _, err := out.Write(append(line, '\n')); err != nil {
		os.Exit(3)
	}
}

func recv() ([]byte, bool) {
	line, err := in.ReadBytes('\n')
	if err != nil {
		return nil, false
	}
	return bytes.TrimRight(line, "\r\n"), true
}

/*** The judge side ***/

var (
	curT    *testing.T
	curName string
)

// Main runs the tests (the generated file's TestMain calls it), each wrapped so that a failed
// call fails its test with t.Fatal and the channel knows the test's name.
func Main(m *testing.M) {
	f := reflect.ValueOf(m).Elem().FieldByName("tests")
	if f.IsValid() && f.Type() == reflect.TypeOf([]testing.InternalTest(nil)) {
		tests := (*[]testing.InternalTest)(unsafe.Pointer(f.UnsafeAddr()))
		for i := range *tests {
			name, fn := (*tests)[i].Name, (*tests)[i].F
			(*tests)[i].F = func(t *testing.T) {
				chanMu.Lock()
				curT, curName = t, name
				chanMu.Unlock()
				defer func() {
					chanMu.Lock()
					curT = nil
					chanMu.Unlock()
				}()
				fn(t)
			}
		}
	}
	os.Exit(m.Run())
}

// T is the running test (nil outside one).
func T() *testing.T {
	chanMu.Lock()
	defer chanMu.Unlock()
	return curT
}

// testName: Main's wrapper's, else the Test* frame on the stack.
func testName() string {
	if curName != "" && curT != nil {
		return curName
	}
	pc := make([]uintptr, 64)
	frames := runtime.CallersFrames(pc[:runtime.Callers(2, pc)])
	for {
		f, more := frames.Next()
		name := f.Function[strings.LastIndex(f.Function, ".")+1:]
		if strings.HasPrefix(name, "Test") {
			return name
		}
		if !more {
			return "main"
		}
	}
}

// Fail fails the current test with @msg (t.Fatal), or panics outside a test.
func Fail(msg string) {
	if t := T(); t != nil {
		t.Helper()
		t.Fatal(msg)
	}
	panic(msg)
}

type reply struct {
	Ok      *json.RawMessage `json:"ok"`
	Err     *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"err"`
	Timeout *json.Number `json:"timeout"`
	Crash   *string      `json:"crash"`
}

// Call sends one request (the test's name first when it changed) and returns the "ok" value;
// anything else fails the current test.
func Call(op string, self *Ref, name string, args ...any) json.RawMessage {
	if t := T(); t != nil {
		t.Helper()
	}
	req := map[string]any{"op": op, "args": []json.RawMessage{}}
	if op == "new" {
		req["cls"] = name
	} else {
		req["fn"] = name
	}
	if self != nil {
		req["self"] = Enc(*self)
	}
	enc := make([]json.RawMessage, len(args))
	for i, a := range args {
		enc[i] = Enc(a)
	}
	req["args"] = enc
	line, err := json.Marshal(req)
	if err != nil {
		Fail("runbox: " + err.Error())
	}
	chanMu.Lock()
	open()
	if tn := strings.NewReplacer("\n", " ", "\r", " ").Replace(testName()); tn != lastTest {
		send([]byte("!test " + tn))
		lastTest = tn
	}
	send(line)
	answer, ok := recv()
	chanMu.Unlock()
	if !ok {
		Fail("runbox: the judge's channel closed")
	}
	var r reply
	if err := json.Unmarshal(answer, &r); err != nil {
		Fail("runbox: bad reply: " + short(answer))
	}
	switch {
	case r.Ok != nil:
		return *r.Ok
	case r.Err != nil:
		Fail(r.Err.Type + ": " + r.Err.Message)
	case r.Timeout != nil:
		Fail("timed out after " + r.Timeout.String() + " s")
	case r.Crash != nil:
		Fail("the student's program crashed: " + *r.Crash)
	}
	Fail("runbox: unexpected reply " + short(answer))
	return nil
}

// Ret decodes the reply's value as the declared type, or fails the test saying what came.
func Ret[V any](raw json.RawMessage, what string) V {
	var v V
	if t := T(); t != nil {
		t.Helper()
	}
	if err := Dec(raw, &v); err != nil {
		Fail(what + ": " + err.Error())
	}
	return v
}

/*** The student side ***/

// Objects holds the student's objects the judge refers to ({"$ref": N} is v[N]).
type Objects struct{ v []any }

// Add keeps @x (a pointer to the student's object) and returns its reference.
func (o *Objects) Add(x any) Ref {
	o.v = append(o.v, x)
	return Ref(len(o.v) - 1)
}

// Get returns object @r.
func (o *Objects) Get(r Ref) (any, error) {
	if r < 0 || int(r) >= len(o.v) {
		return nil, fmt.Errorf("no object %d", r)
	}
	return o.v[r], nil
}

// Errorf is fmt.Errorf (the generated server imports only this package).
func Errorf(format string, a ...any) error { return fmt.Errorf(format, a...) }

// Args are a request's arguments.
type Args []json.RawMessage

// Get decodes argument @i into @p.
func (a Args) Get(i int, p any) error {
	if i >= len(a) {
		return fmt.Errorf("argument %d is missing", i+1)
	}
	if err := Dec(a[i], p); err != nil {
		return fmt.Errorf("argument %d: %v", i+1, err)
	}
	return nil
}

// Dispatch calls the student's code: op "call" or "new", self (nil for a function), the
// function, method or class name, the arguments; it returns the value to answer.
type Dispatch func(o *Objects, op string, self *Ref, name string, args Args) (any, error)

type request struct {
	Op   string          `json:"op"`
	Fn   string          `json:"fn"`
	Cls  string          `json:"cls"`
	Self json.RawMessage `json:"self"`
	Args Args            `json:"args"`
}

func errReply(typ, msg string) []byte {
	b, _ := json.Marshal(map[string]any{"err": map[string]string{"type": typ, "message": msg}})
	return b
}

func answer(o *Objects, d Dispatch, line []byte) (res []byte) {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return errReply("runbox", "bad request: "+err.Error())
	}
	var self *Ref
	if len(req.Self) > 0 && string(req.Self) != "null" {
		self = new(Ref)
		if err := Dec(req.Self, self); err != nil {
			return errReply("runbox", "self: "+err.Error())
		}
	}
	name := req.Fn
	if req.Op == "new" {
		name = req.Cls
	}
	defer func() {
		if p := recover(); p != nil {
			res = errReply("panic", fmt.Sprint(p))
		}
	}()
	v, err := d(o, req.Op, self, name, req.Args)
	if err != nil {
		return errReply("runbox", err.Error())
	}
	return []byte(`{"ok":` + string(Enc(v)) + `}`)
}

// Serve says ready, then answers requests until the channel closes.
func Serve(d Dispatch) {
	var o Objects
	open()
	send([]byte(`{"ready":true}`))
	for {
		line, ok := recv()
		if !ok {
			os.Exit(0)
		}
		send(answer(&o, d, line))
	}
}
