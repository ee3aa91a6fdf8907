// runbox_rpc.rs: judge mode's channel for Rust (docs/judge.md), put into both boxes by runbox as
// /box/.runbox/runbox_rpc.rs and brought in by the generated files as a module:
//
//     #[path = ".runbox/runbox_rpc.rs"] mod __runbox_rpc;
//
// One JSON document per line: fd 3 is this box's input, fd 4 its output. It holds a small JSON
// value type with its reader and writer (no crates), the conversions between the interface's
// types and JSON (trait Val), the judge side's call() (a request out, the reply back; an error,
// a timeout or a crash of the student's program panics, which fails the current test) and the
// student side's serve() loop (requests in, the student's code called by the generated
// dispatcher, replies out; a panic of the student's code becomes an "err" reply).
#![allow(dead_code)]

use std::any::Any;
use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::io::FromRawFd;
use std::rc::Rc;
use std::sync::Mutex;

/*** JSON ***/

#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    pub fn str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn obj(pairs: Vec<(&str, Json)>) -> Json {
        Json::Obj(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    pub fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(i) => {
                let _ = write!(out, "{}", i);
            }
            Json::Num(f) => {
                if f.is_finite() {
                    let _ = write!(out, "{:?}", f);
                } else {
                    let tag = if f.is_nan() { "nan" } else if *f > 0.0 { "inf" } else { "-inf" };
                    let _ = write!(out, "{{\"$float\":\"{}\"}}", tag);
                }
            }
            Json::Str(s) => write_str(s, out),
            Json::Arr(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Json::Obj(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(k, out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    pub fn to_line(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s.push('\n');
        s
    }

    pub fn parse(s: &str) -> Result<Json, String> {
        let mut p = Parser { b: s.as_bytes(), i: 0 };
        let v = p.value(0)?;
        p.ws();
        if p.i != p.b.len() {
            return Err(format!("JSON: trailing data at byte {}", p.i));
        }
        Ok(v)
    }
}

fn write_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }
    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("JSON: {} at byte {}", what, self.i))
    }
    fn lit(&mut self, word: &str, v: Json) -> Result<Json, String> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            self.err("unexpected word")
        }
    }
    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > 256 {
            return self.err("nested too deep");
        }
        self.ws();
        match self.b.get(self.i) {
            None => self.err("unexpected end"),
            Some(b'n') => self.lit("null", Json::Null),
            Some(b't') => self.lit("true", Json::Bool(true)),
            Some(b'f') => self.lit("false", Json::Bool(false)),
            Some(b'"') => Ok(Json::Str(self.string()?)),
            Some(b'[') => {
                self.i += 1;
                let mut a = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Json::Arr(a));
                }
                loop {
                    a.push(self.value(depth + 1)?);
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Json::Arr(a));
                        }
                        _ => return self.err("expected , or ]"),
                    }
                }
            }
            Some(b'{') => {
                self.i += 1;
                let mut m = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Json::Obj(m));
                }
                loop {
                    self.ws();
                    if self.b.get(self.i) != Some(&b'"') {
                        return self.err("expected a key");
                    }
                    let k = self.string()?;
                    self.ws();
                    if self.b.get(self.i) != Some(&b':') {
                        return self.err("expected :");
                    }
                    self.i += 1;
                    m.push((k, self.value(depth + 1)?));
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Json::Obj(m));
                        }
                        _ => return self.err("expected , or }"),
                    }
                }
            }
            Some(_) => self.number(),
        }
    }
    fn number(&mut self) -> Result<Json, String> {
        let start = self.i;
        let mut float = false;
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b'0'..=b'9' | b'-' | b'+' => {}
                b'.' | b'e' | b'E' => float = true,
                _ => break,
            }
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.b[start..self.i]).unwrap_or("");
        if text.is_empty() {
            return self.err("unexpected character");
        }
        if !float {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Json::Int(i));
            }
        }
        match text.parse::<f64>() {
            Ok(f) => Ok(Json::Num(f)),
            Err(_) => self.err("bad number"),
        }
    }
    fn hex4(&mut self) -> Result<u32, String> {
        let h = self.b.get(self.i..self.i + 4).ok_or_else(|| "JSON: short \\u escape".to_string())?;
        let h = std::str::from_utf8(h).map_err(|_| "JSON: bad \\u escape".to_string())?;
        let v = u32::from_str_radix(h, 16).map_err(|_| "JSON: bad \\u escape".to_string())?;
        self.i += 4;
        Ok(v)
    }
    fn string(&mut self) -> Result<String, String> {
        self.i += 1; // the opening quote
        let mut s = Vec::new();
        loop {
            let c = match self.b.get(self.i) {
                None => return self.err("unterminated string"),
                Some(&c) => c,
            };
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = *self.b.get(self.i).ok_or_else(|| "JSON: bad escape".to_string())?;
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let mut u = self.hex4()?;
                            if (0xd800..0xdc00).contains(&u) && self.b[self.i..].starts_with(b"\\u") {
                                self.i += 2;
                                let lo = self.hex4()?;
                                u = 0x10000 + ((u - 0xd800) << 10) + (lo.wrapping_sub(0xdc00) & 0x3ff);
                            }
                            char::from_u32(u).unwrap_or('\u{fffd}')
                        }
                        _ => return self.err("bad escape"),
                    };
                    let mut buf = [0u8; 4];
                    s.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c => s.push(c),
            }
        }
        String::from_utf8(s).map_err(|_| "JSON: invalid UTF-8".to_string())
    }
}

/*** The interface's types ***/

/// A type that crosses the channel: int i32, long i64, double f64, bool, char (a one-character
/// string), string String, T[] Vec<T>.
pub trait Val: Sized {
    fn to_json(&self) -> Json;
    fn from_json(v: &Json) -> Result<Self, String>;
}

fn wrong<T>(v: &Json, what: &str) -> Result<T, String> {
    let mut s = String::new();
    v.write(&mut s);
    if s.len() > 200 {
        s.truncate(200);
        s.push_str("...");
    }
    Err(format!("expected {}, got {}", what, s))
}

impl Val for () {
    fn to_json(&self) -> Json {
        Json::Null
    }
    fn from_json(_: &Json) -> Result<Self, String> {
        Ok(())
    }
}
impl Val for bool {
    fn to_json(&self) -> Json {
        Json::Bool(*self)
    }
    fn from_json(v: &Json) -> Result<Self, String> {
        match v {
            Json::Bool(b) => Ok(*b),
            _ => wrong(v, "a bool"),
        }
    }
}
impl Val for i64 {
    fn to_json(&self) -> Json {
        Json::Int(*self)
    }
    fn from_json(v: &Json) -> Result<Self, String> {
        match v {
            Json::Int(i) => Ok(*i),
            _ => wrong(v, "an integer"),
        }
    }
}
impl Val for i32 {
    fn to_json(&self) -> Json {
        Json::Int(*self as i64)
    }
    fn from_json(v: &Json) -> Result<Self, String> {
        match v {
            Json::Int(i) if *i >= i32::MIN as i64 && *i <= i32::MAX as i64 => Ok(*i as i32),
            _ => wrong(v, "a 32-bit integer"),
        }
    }
}
impl Val for f64 {
    fn to_json(&self) -> Json {
        Json::Num(*self)
    }
    fn from_json(v: &Json) -> Result<Self, String> {
        match v {
            Json::Int(i) => Ok(*i as f64),
            Json::Num(f) => Ok(*f),
            _ => match v.get("$float").and_then(Json::str) {
                Some("nan") => Ok(f64::NAN),
                Some("inf") => Ok(f64::INFINITY),
                Some("-inf") => Ok(f64::NEG_INFINITY),
                _ => wrong(v, "a number"),
            },
        }
    }
}
impl Val for char {
    fn to_json(&self) -> Json {
        Json::Str(self.to_string())
    }
    fn from_json(v: &Json) -> Result<Self, String> {
        let mut it = v.str().map(|s| s.chars());
        match it.as_mut().map(|c| (c.next(), c.next())) {
            Some((Some(c), None)) => Ok(c),
            _ => wrong(v, "a character"),
        }
    }
}
impl Val for String {
    fn to_json(&self) -> Json {
        Json::Str(self.clone())
    }
    fn from_json(v: &Json) -> Result<Self, String> {
        match v {
            Json::Str(s) => Ok(s.clone()),
            _ => wrong(v, "a string"),
        }
    }
}
impl<T: Val> Val for Vec<T> {
    fn to_json(&self) -> Json {
        Json::Arr(self.iter().map(Val::to_json).collect())
    }
    fn from_json(v: &Json) -> Result<Self, String> {
        match v {
            Json::Arr(a) => a.iter().map(T::from_json).collect(),
            _ => wrong(v, "an array"),
        }
    }
}

/// A string parameter as JSON (the judge side's functions take impl AsRef<str>).
pub fn str_json(s: &str) -> Json {
    Json::Str(s.to_string())
}
/// An array parameter as JSON (the judge side's functions take impl AsRef<[T]>).
pub fn slice_json<T: Val>(s: &[T]) -> Json {
    Json::Arr(s.iter().map(Val::to_json).collect())
}
pub fn ref_json(n: i64) -> Json {
    Json::obj(vec![("$ref", Json::Int(n))])
}
pub fn ref_of(v: &Json) -> Result<i64, String> {
    match v.get("$ref") {
        Some(Json::Int(n)) => Ok(*n),
        _ => wrong(v, "an object reference"),
    }
}

/*** The channel: fd 3 in, fd 4 out ***/

struct Chan {
    input: BufReader<std::fs::File>,
    output: std::fs::File,
    last_test: Option<String>,
}

// One channel for the process (libtest runs each test on a thread of its own).
static CHAN: Mutex<Option<Chan>> = Mutex::new(None);

fn with_chan<R>(f: impl FnOnce(&mut Chan) -> R) -> R {
    let mut c = CHAN.lock().unwrap_or_else(|e| e.into_inner());
    let chan = c.get_or_insert_with(|| unsafe {
        Chan {
            input: BufReader::new(std::fs::File::from_raw_fd(3)),
            output: std::fs::File::from_raw_fd(4),
            last_test: None,
        }
    });
    f(chan)
}

impl Chan {
    fn send(&mut self, line: &str) {
        if self.output.write_all(line.as_bytes()).and_then(|_| self.output.flush()).is_err() {
            std::process::exit(3);
        }
    }
    fn recv(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.input.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line),
        }
    }
}

/*** The judge side ***/

/// The running test's name from a backtrace (@bt, formatted) of the test crate whose module
/// path @module is (the generated module's): the outermost frame of the crate outside that
/// module, below libtest's own, is the test's, as libtest names it ("a_word", "tests_mod::a_word"). libtest runs
/// the tests on its main thread with --test-threads=1 (Rust 1.63), so the thread's name cannot
/// tell them apart.
pub fn test_name_from(bt: &str, module: &str) -> String {
    let krate = module.split("::").next().unwrap_or("");
    let prefix = format!("{}::", krate);
    let mut found = None;
    for line in bt.lines() {
        let line = line.trim_start();
        let sym = match line.find(": ") {
            Some(i) if line[..i].chars().all(|c| c.is_ascii_digit()) => &line[i + 2..],
            _ => continue,
        };
        if sym.starts_with("test::") {
            break; // libtest's frames: the test's are above them
        }
        if sym.starts_with(&prefix) && !sym.starts_with(&format!("{}::", module)) {
            found = Some(sym[prefix.len()..].to_string());
        }
    }
    let mut name = found.unwrap_or_else(|| "main".to_string());
    while let Some(stripped) = name.strip_suffix("::{{closure}}") {
        name = stripped.to_string();
    }
    name
}

/// Send one request (the test's name first when it changed), wait for its reply and return the
/// "ok" value; anything else panics with a message that fails the current test.
pub fn call(test: String, req: Json) -> Json {
    let reply = with_chan(|c| {
        let name = test;
        if c.last_test.as_deref() != Some(name.as_str()) {
            let safe: String = name.chars().map(|ch| if ch == '\n' || ch == '\r' { ' ' } else { ch }).collect();
            c.send(&format!("!test {}\n", safe));
            c.last_test = Some(name);
        }
        c.send(&req.to_line());
        c.recv()
    });
    let reply = match reply {
        Some(r) => r,
        None => panic!("runbox: the judge's channel closed"),
    };
    let v = match Json::parse(reply.trim_end()) {
        Ok(v) => v,
        Err(e) => panic!("runbox: bad reply ({})", e),
    };
    if let Some(ok) = v.get("ok") {
        return ok.clone();
    }
    if let Some(e) = v.get("err") {
        let ty = e.get("type").and_then(Json::str).unwrap_or("error");
        let msg = e.get("message").and_then(Json::str).unwrap_or("");
        panic!("{}: {}", ty, msg);
    }
    if let Some(t) = v.get("timeout") {
        let secs = match t {
            Json::Int(i) => i.to_string(),
            Json::Num(f) => f.to_string(),
            _ => "?".to_string(),
        };
        panic!("timed out after {} s", secs);
    }
    if let Some(c) = v.get("crash") {
        panic!("the student's program crashed: {}", c.str().unwrap_or("?"));
    }
    panic!("runbox: unexpected reply {}", reply.trim_end());
}

/// The reply's value as the declared type, or a panic saying what came instead.
pub fn ret<T: Val>(v: Json, what: &str) -> T {
    match T::from_json(&v) {
        Ok(x) => x,
        Err(e) => panic!("{}: {}", what, e),
    }
}

/// The reply's value as an object reference (a declared class's wrapper holds it).
pub fn ret_ref(v: Json, what: &str) -> i64 {
    match ref_of(&v) {
        Ok(n) => n,
        Err(e) => panic!("{}: {}", what, e),
    }
}

pub fn request(op: &str, target: Option<(&str, Json)>, name: (&str, &str), args: Vec<Json>) -> Json {
    let mut m = vec![("op", Json::Str(op.to_string()))];
    if let Some((k, v)) = target {
        m.push((k, v));
    }
    m.push((name.0, Json::Str(name.1.to_string())));
    m.push(("args", Json::Arr(args)));
    Json::obj(m)
}

/*** The student side ***/

pub type Obj = Rc<RefCell<Box<dyn Any>>>;

/// The student's objects the judge holds references to ({"$ref": N} is objs[N]).
pub struct Objects {
    objs: Vec<Obj>,
}

impl Objects {
    pub fn add<T: 'static>(&mut self, v: T) -> Json {
        self.objs.push(Rc::new(RefCell::new(Box::new(v))));
        ref_json(self.objs.len() as i64 - 1)
    }
    pub fn get(&self, v: &Json) -> Result<Obj, String> {
        let n = ref_of(v)?;
        if n < 0 || n as usize >= self.objs.len() {
            return Err(format!("no object {}", n));
        }
        Ok(self.objs[n as usize].clone())
    }
}

/// Argument @i of @args as T.
pub fn arg<T: Val>(args: &[Json], i: usize) -> Result<T, String> {
    match args.get(i) {
        Some(v) => T::from_json(v).map_err(|e| format!("argument {}: {}", i + 1, e)),
        None => Err(format!("argument {} is missing", i + 1)),
    }
}

pub type Dispatch = fn(&mut Objects, &str, Option<&Json>, &str, &[Json]) -> Result<Json, String>;

fn panic_text(p: &Box<dyn Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

fn err_reply(ty: &str, msg: &str) -> Json {
    Json::obj(vec![("err", Json::obj(vec![("type", Json::Str(ty.to_string())), ("message", Json::Str(msg.to_string()))]))])
}

/// Say ready, then answer requests until the channel closes: @dispatch(objects, op, self, name,
/// args) calls the student's code.
pub fn serve(dispatch: Dispatch) {
    let mut objs = Objects { objs: Vec::new() };
    with_chan(|c| c.send("{\"ready\":true}\n"));
    loop {
        let line = match with_chan(|c| c.recv()) {
            Some(l) => l,
            None => return,
        };
        let reply = match Json::parse(line.trim_end()) {
            Err(e) => err_reply("runbox", &e),
            Ok(req) => {
                let op = req.get("op").and_then(Json::str).unwrap_or("").to_string();
                let name = req.get(if op == "new" { "cls" } else { "fn" }).and_then(Json::str).unwrap_or("").to_string();
                let empty = Vec::new();
                let args = match req.get("args") {
                    Some(Json::Arr(a)) => a,
                    _ => &empty,
                };
                let me = req.get("self");
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dispatch(&mut objs, &op, me, &name, args)));
                match r {
                    Ok(Ok(v)) => Json::obj(vec![("ok", v)]),
                    Ok(Err(e)) => err_reply("runbox", &e),
                    Err(p) => err_reply("panic", &panic_text(&p)),
                }
            }
        };
        with_chan(|c| c.send(&reply.to_line()));
    }
}
