#!/usr/bin/env python3
"""A replay of what Judge0's Python SDK (judge0/judge0-python, the official client) does against
a Judge0 server, for runbox's /judge0/ layer: each request it makes (path, query, headers, body)
and each check its parsing applies to the answers, written from reading the SDK, with no copy
of its code. CI cannot install the SDK (no PyPI there), so tests/integration/76b-judge0-sdk.sh
runs this instead. It follows the SDK's main branch as of version 0.1.0.dev0 (src/judge0/
clients.py, api.py, submission.py, data.py, base_types.py, utils.py).

What the SDK does, as this replays it:
- A client is made with a base URL and auth headers; every request also carries
  X-Judge0-App: Judge0 Python SDK and X-Judge0-App-Version. Making one reads GET /languages
  (each a Language model: id int, name str, optional is_archived, source_file, compile_cmd,
  run_cmd) and GET /config_info (its Config model: 40 keys, each required and typed); any
  failure there is "Authentication failed".
- Language constants (judge0.PYTHON, judge0.C, ...) become ids through a table keyed by the
  "version" of GET /about: "1.13.1", "1.13.1-extra", "1.14.0" or "1.14.0-extra" (another
  version is a KeyError); a constant the table lacks is id -1; an id missing from /languages
  is "does not support language".
- run/async_run create the submissions: one with POST /submissions?base64_encoded=true&
  wait=false, more in batches of config_info.max_submission_batch_size with POST
  /submissions/batch?base64_encoded=true {"submissions": [...]}; texts in base64. wait polls
  GET /submissions/{token}?base64_encoded=true&fields=* (one) or GET
  /submissions/batch?base64_encoded=true&fields=*&tokens=a,b,... every 0.1 s until no status
  is 1 or 2.
- Each answer object is set attribute by attribute: language_id, status_id and language are
  skipped; stdout, stderr, compile_output, source_code, stdin, expected_output and
  additional_files are base64-decoded (strict: validate=True) when not empty; status must be
  {"id": 1..14}; created_at and finished_at must match %Y-%m-%dT%H:%M:%S.%fZ; time, wall_time,
  cpu_time_limit, cpu_extra_time and wall_time_limit go through float(); any other key must be
  one of the Submission model's fields (pydantic refuses another: "object has no field").
- Every call is wrapped so that a 429 of a self-hosted client returns None instead of raising,
  which the caller then fails on (a TypeError): a 429 is a crash here too.

Usage: judge0-sdk-replay.py BASE_URL AUTH_HEADERS_JSON [EXTRA_BASE_URL]
Prints "ok NAME" or "not ok NAME: WHY" per SDK call, and "# ..." diagnostics.
"""
import base64
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime

SDK_VERSION = "0.1.0.dev0"

# The SDK's language tables (data.py), for the constants of languages runbox has.
TABLES = {
    "1.13.1": {"BASH": 46, "C": 50, "C_GCC": 50, "CPP": 52, "CPP_GCC": 52, "GO": 60,
               "JAVA": 62, "JAVA_OPENJDK": 62, "JAVASCRIPT": 63, "PYTHON": 71, "PYTHON3": 71,
               "RUST": 73, "TYPESCRIPT": 74},
    "1.13.1-extra": {"JAVA": 4, "JAVA_OPENJDK": 4, "PYTHON": 10, "PYTHON3": 10,
                     "PYTHON_FOR_ML": 10},
    "1.14.0": {}, "1.14.0-extra": {},
}
DEFAULT_LANGUAGE = "PYTHON_FOR_ML"  # Submission()'s default

SKIP = {"language_id", "status_id", "language"}
ENCODED = {"source_code", "additional_files", "stdin", "expected_output", "stdout", "stderr",
           "compile_output"}
DATETIMES = {"created_at", "finished_at"}
FLOATS = {"cpu_time_limit", "cpu_extra_time", "time", "wall_time", "wall_time_limit"}
MODEL_FIELDS = {
    "source_code", "language", "additional_files", "compiler_options", "command_line_arguments",
    "stdin", "expected_output", "cpu_time_limit", "cpu_extra_time", "wall_time_limit",
    "memory_limit", "stack_limit", "max_processes_and_or_threads",
    "enable_per_process_and_thread_time_limit", "enable_per_process_and_thread_memory_limit",
    "max_file_size", "redirect_stderr_to_stdout", "enable_network", "number_of_runs",
    "callback_url", "stdout", "stderr", "compile_output", "message", "exit_code", "exit_signal",
    "status", "created_at", "finished_at", "token", "time", "wall_time", "memory",
    "post_execution_filesystem",
}
REQUEST_EXTRA = ["compiler_options", "command_line_arguments", "cpu_time_limit",
                 "cpu_extra_time", "wall_time_limit", "memory_limit", "stack_limit",
                 "max_processes_and_or_threads", "enable_per_process_and_thread_time_limit",
                 "enable_per_process_and_thread_memory_limit", "max_file_size",
                 "redirect_stderr_to_stdout", "enable_network", "number_of_runs", "callback_url"]
CONFIG = {  # Config's keys and their types
    "allow_enable_network": bool, "allow_enable_per_process_and_thread_memory_limit": bool,
    "allow_enable_per_process_and_thread_time_limit": bool,
    "allowed_languages_for_compile_options": list, "callbacks_max_tries": int,
    "callbacks_timeout": float, "cpu_extra_time": float, "cpu_time_limit": float,
    "enable_additional_files": bool, "enable_batched_submissions": bool,
    "enable_callbacks": bool, "enable_command_line_arguments": bool,
    "enable_compiler_options": bool, "enable_network": bool,
    "enable_per_process_and_thread_memory_limit": bool,
    "enable_per_process_and_thread_time_limit": bool, "enable_submission_delete": bool,
    "enable_wait_result": bool, "maintenance_mode": bool, "max_cpu_extra_time": float,
    "max_cpu_time_limit": float, "max_extract_size": int, "max_file_size": int,
    "max_max_file_size": int, "max_max_processes_and_or_threads": int, "max_memory_limit": int,
    "max_number_of_runs": int, "max_processes_and_or_threads": int, "max_queue_size": int,
    "max_stack_limit": int, "max_submission_batch_size": int, "max_wall_time_limit": float,
    "memory_limit": int, "number_of_runs": int, "redirect_stderr_to_stdout": bool,
    "stack_limit": int, "submission_cache_duration": float, "use_docs_as_homepage": bool,
    "wall_time_limit": float,
}


class Fail(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Fail(why)


class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


class Client:
    """The requests of the SDK's Client, and the parsing it applies."""

    def __init__(self, base, auth):
        self.base = base.rstrip("/")
        self.headers = dict(auth)
        self.headers["X-Judge0-App"] = "Judge0 Python SDK"
        self.headers["X-Judge0-App-Version"] = SDK_VERSION
        self.languages = self.get_languages()
        self.config = self.get_config_info()
        self._version = None

    def request(self, method, path, params=None, body=None, ok=True):
        url = self.base + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None
        headers = dict(self.headers)
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                a = Answer(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            a = Answer(e.code, e.headers, e.read())
        # The SDK's wrapper: a 429 of a self-hosted client becomes None, then a TypeError.
        check(a.status != 429, f"{method} {path}: 429, which the SDK turns into None")
        if ok:  # raise_for_status()
            check(200 <= a.status < 300, f"{method} {path}: {a.status} {a.body[:300]!r}")
        return a

    def get_languages(self):
        langs = self.request("GET", "/languages").json()
        check(isinstance(langs, list), "/languages is not a list")
        for d in langs:
            language(d)
        return langs

    def get_config_info(self):
        c = self.request("GET", "/config_info").json()
        for k, t in CONFIG.items():
            check(k in c, f"config_info lacks {k}")
            v = c[k]
            if t is bool:
                check(isinstance(v, bool), f"config_info.{k} is {v!r}, not a boolean")
            elif t is list:
                check(isinstance(v, list) and all(isinstance(x, str) for x in v),
                      f"config_info.{k} is {v!r}, not a list of strings")
            elif t is int:
                check(isinstance(v, int) and not isinstance(v, bool),
                      f"config_info.{k} is {v!r}, not an integer (as Judge0 sends it)")
            else:
                check(isinstance(v, (int, float)) and not isinstance(v, bool),
                      f"config_info.{k} is {v!r}, not a number")
        return c

    @property
    def version(self):
        if self._version is None:
            self._version = self.request("GET", "/about").json()["version"]
        return self._version

    def language_id(self, lang):
        if isinstance(lang, str):
            check(self.version in TABLES, f"/about's version {self.version!r}: the SDK has "
                  "no table for it (KeyError)")
            return TABLES[self.version].get(lang, -1)
        return lang

    def supports(self, lang):
        i = self.language_id(lang)
        return any(d["id"] == i for d in self.languages)

    def body(self, s):
        check(self.supports(s["language"]), f"does not support language {s['language']}")
        b = {"source_code": enc(s.get("source_code")),
             "language_id": self.language_id(s["language"])}
        for k in ("stdin", "expected_output", "additional_files"):
            if s.get(k) is not None:
                b[k] = enc(s[k])
        for k in REQUEST_EXTRA:
            if s.get(k) is not None:
                b[k] = s[k]
        return b

    def create_submission(self, s):
        a = self.request("POST", "/submissions", {"base64_encoded": "true", "wait": "false"},
                         self.body(s))
        set_attributes(s, a.json())

    def create_submissions(self, subs):
        a = self.request("POST", "/submissions/batch", {"base64_encoded": "true"},
                         {"submissions": [self.body(s) for s in subs]})
        items = a.json()
        check(isinstance(items, list) and len(items) == len(subs), f"batch answer {items!r}")
        for s, item in zip(subs, items):
            set_attributes(s, item)

    def get_submission(self, s):
        a = self.request("GET", f"/submissions/{s['token']}",
                         {"base64_encoded": "true", "fields": "*"})
        set_attributes(s, a.json())

    def get_submissions(self, subs):
        a = self.request("GET", "/submissions/batch",
                         {"base64_encoded": "true", "fields": "*",
                          "tokens": ",".join(s["token"] for s in subs)})
        for s, item in zip(subs, a.json()["submissions"]):
            check(item is not None, f"batch GET: null for {s['token']} (a crash in the SDK)")
            set_attributes(s, item)


def enc(text):
    if text is None:
        return None
    if isinstance(text, str):
        text = text.encode()
    return base64.b64encode(text).decode()


def dec(text):
    text = text.replace("\n", "").replace("\r", "")
    return base64.b64decode(text.encode(), validate=True).decode(errors="backslashreplace")


def language(d):
    check(isinstance(d.get("id"), int), f"language {d!r}: id not an integer")
    check(isinstance(d.get("name"), str), f"language {d!r}: name not a string")
    for k in ("source_file", "compile_cmd", "run_cmd"):
        check(d.get(k) is None or isinstance(d[k], str), f"language {d!r}: {k}")
    check(d.get("is_archived") is None or isinstance(d["is_archived"], bool),
          f"language {d!r}: is_archived")


def set_attributes(s, attrs):
    check(isinstance(attrs, dict), f"a submission answer {attrs!r} is not an object")
    for k, v in attrs.items():
        if k in SKIP:
            continue
        if k in ENCODED:
            try:
                v = dec(v) if v else None
            except Exception as e:  # noqa: BLE001
                raise Fail(f"{k}: {v!r} is not base64 ({e})")
        elif k == "status":
            check(isinstance(v, dict) and v.get("id") in range(1, 15), f"status {v!r}")
            v = v["id"]
        elif k in DATETIMES and v is not None:
            try:
                v = datetime.strptime(v, "%Y-%m-%dT%H:%M:%S.%fZ")
            except Exception:  # noqa: BLE001
                raise Fail(f"{k}: {v!r} does not match %Y-%m-%dT%H:%M:%S.%fZ")
        elif k in FLOATS and v is not None:
            try:
                v = float(v)
            except Exception:  # noqa: BLE001
                raise Fail(f"{k}: float({v!r}) fails")
        check(k in MODEL_FIELDS, f"the answer's key {k!r} is no Submission field (pydantic: "
              "object has no field)")
        s[k] = v


def submission(code, lang=DEFAULT_LANGUAGE, **kw):
    return dict(source_code=code, language=lang, **kw)


def create(client, subs):
    """api.create_submissions: batches of max_submission_batch_size, a single one alone."""
    n = client.config["max_submission_batch_size"]
    for i in range(0, len(subs), n):
        part = subs[i:i + n]
        if len(part) > 1:
            client.create_submissions(part)
        else:
            client.create_submission(part[0])
        check(all(isinstance(s.get("token"), str) for s in part), "no token")


def wait(client, subs, limit_s=120):
    left = {s["token"]: s for s in subs}
    n = client.config["max_submission_batch_size"]
    t0 = time.monotonic()
    polls = 0
    while left:
        check(time.monotonic() - t0 < limit_s, f"{len(left)} still running after {limit_s} s")
        todo = list(left.values())
        for i in range(0, len(todo), n):
            part = todo[i:i + n]
            if len(part) > 1:
                client.get_submissions(part)
            else:
                client.get_submission(part[0])
            polls += 1
        for t in [t for t, s in left.items() if s.get("status") not in (None, 1, 2)]:
            del left[t]
        if left:
            time.sleep(0.1)
    return polls


def run(client, subs, test_cases=None):
    """api.run: each submission once per test case, created, then waited for."""
    all_subs = []
    for s in subs:
        for tc in (test_cases or [None]):
            c = dict(s)
            if tc is not None:
                c["stdin"], c["expected_output"] = tc
            all_subs.append(c)
    create(client, all_subs)
    wait(client, all_subs)
    return all_subs


def judge0_types(s):
    """The types Judge0 itself sends (a Rails decimal is a string, memory an integer)."""
    for k in ("exit_code", "exit_signal", "memory"):
        v = s["raw"].get(k)
        check(v is None or (isinstance(v, int) and not isinstance(v, bool)),
              f"{k} is {v!r}: Judge0 sends an integer")
    for k in ("time", "wall_time"):
        v = s["raw"].get(k)
        check(v is None or isinstance(v, str), f"{k} is {v!r}: Judge0 sends a decimal string")


C_HELLO = '#include <stdio.h>\n\nint main() {\n    printf("hello, world\\n");\n    return 0;\n}\n'
C_STDIN = ('#include <stdio.h>\n\nint main() {\n    int a, b;\n    scanf("%d %d", &a, &b);\n'
           '    printf("%d\\n", a + b);\n\n    char name[10];\n    scanf("%s", name);\n'
           '    printf("Hello, %s!\\n", name);\n\n    return 0;\n}\n')
C_NAME = ('#include <stdio.h>\n\nint main() {\n    char name[10];\n    scanf("%s", name);\n'
          '    printf("Hello, %s!\\n", name);\n    return 0;\n}\n')
JAVA_HELLO = ('public class Main {\n    public static void main(String[] args) {\n'
              '        System.out.println("hello, world");\n    }\n}\n')


def main():
    base, auth = sys.argv[1], json.loads(sys.argv[2])
    extra_base = sys.argv[3] if len(sys.argv) > 3 else None
    state = {}

    def step(name, fn):
        try:
            fn()
            print(f"ok {name}", flush=True)
            return True
        except Fail as e:
            print(f"not ok {name}: {e}", flush=True)
        except Exception as e:  # noqa: BLE001 (a crash of the replay is a failure too)
            print(f"not ok {name}: {type(e).__name__}: {e}", flush=True)
        return False

    def make():
        state["c"] = Client(base, auth)
    if not step("Client(endpoint, headers): GET /languages and /config_info parse", make):
        return
    c = state["c"]

    def constants():
        check(c.version in TABLES, f"/about version {c.version!r} has no table in the SDK")
        missing = [k for k in TABLES[c.version] if not c.supports(k)]
        check(not missing, f"constants not supported: {missing}")
    step("client.version has an SDK table; every constant of runbox's languages is supported",
         constants)

    def keep_raw(s):
        # What the server sent for this submission, before the SDK's conversions.
        c.get_submission(s)
        a = c.request("GET", f"/submissions/{s['token']}",
                      {"base64_encoded": "true", "fields": "*"})
        s["raw"] = a.json()

    def hello():
        s = run(c, [submission("print('hello, world')", "PYTHON")])[0]
        check(s["stdout"] == "hello, world\n" and s["status"] == 3, f"got {s}")
        check(isinstance(s["time"], float) and isinstance(s["memory"], int), f"types {s}")
        keep_raw(s)
        judge0_types(s)
    step("run(source_code=..., language=PYTHON): stdout, Accepted, time float, memory int", hello)

    def c_hello():
        s = run(c, [submission(C_HELLO, "C")])[0]
        check(s["stdout"] == "hello, world\n" and s["status"] == 3, f"got {s}")
    step("run(language=C)", c_hello)

    def java_hello():
        s = run(c, [submission(JAVA_HELLO, "JAVA")])[0]
        check(s["stdout"] == "hello, world\n" and s["status"] == 3, f"got {s}")
    step("run(language=JAVA)", java_hello)

    def stdin():
        s = run(c, [submission(C_STDIN, "C", stdin="\n3 5\nBob\n")])[0]
        check(s["stdout"] == "8\nHello, Bob!\n", f"got {s}")
    step("run(stdin=...)", stdin)

    def test_cases():
        subs = run(c, [submission("print(f'Hello, {input()}!')", "PYTHON")],
                   [("Bob", "Hello, Bob!"), ("Alice", "Hello, Alice!"),
                    ("Charlie", "Hello, Charlie!"), ("Dan", "Hi, Dan!")])
        check([s["status"] for s in subs] == [3, 3, 3, 4], [s["status"] for s in subs])
    step("run(test_cases=[...]): one batch, Accepted and Wrong Answer", test_cases)

    def languages_and_cases():
        subs = run(c, [submission("print(f'Hello, {input()}!')", "PYTHON"),
                       submission(C_NAME, "C")],
                   [("Bob", "Hello, Bob!"), ("Alice", "Hello, Alice!"),
                    ("Charlie", "Hello, Charlie!")])
        check([s["status"] for s in subs] == [3] * 6, [(s["status"], s.get("stdout"))
                                                       for s in subs])
    step("run(submissions=[PYTHON, C], test_cases=3)", languages_and_cases)

    def async_wait():
        s = submission("print('hello, world')", "PYTHON")
        create(c, [s])
        check(s.get("stdout") is None, "stdout before the wait")
        wait(c, [s])
        check(s["stdout"] == "hello, world\n", f"got {s}")
    step("async_run() then wait()", async_wait)

    def get_languages():
        langs = c.get_languages()
        check(any(d["id"] == 71 for d in langs), langs)
    step("client.get_languages()", get_languages)

    def compile_error():
        s = run(c, [submission("int main( { return 0; }", "C")])[0]
        check(s["status"] == 6 and "error" in (s.get("compile_output") or ""), f"got {s}")
    step("a compile error: status 6 with compile_output", compile_error)

    def time_limit():
        s = run(c, [submission("while True: pass", "PYTHON", cpu_time_limit=1.0,
                               cpu_extra_time=0.5)])[0]
        check(s["status"] == 5, f"got {s}")
    step("cpu_time_limit: Time Limit Exceeded", time_limit)

    def sigfpe():
        s = run(c, [submission("int main(void) { int x = 1 / 0; return x; }", "C")])[0]
        check(s["status"] == 9, f"got status {s['status']}, {s.get('message')}")
    step("C's constant division by zero is Runtime Error (SIGFPE), as with Judge0's flags", sigfpe)

    def many():
        subs = [submission(f"print({i})", "PYTHON") for i in range(42)]
        create(c, subs)
        wait(c, subs)
        got = [s["stdout"].strip() for s in subs]
        check(got == [str(i) for i in range(42)], got)
    step("42 submissions (batches of 20, 20 and 2, then their polling) under the defaults", many)

    def cpp_ids():
        for i in (52, 53, 54):
            s = run(c, [submission('#include <iostream>\nint main() { std::cout << "x\\n"; }',
                                   i)])[0]
            check(s["stdout"] == "x\n", f"{i}: {s}")
    step("C++ ids 52, 53, 54", cpp_ids)

    if extra_base:
        def extra():
            e = Client(extra_base, auth)
            check(e.version == "1.13.1-extra", e.version)
            s = run(e, [submission("print('hello, world')")])[0]
            check(s["stdout"] == "hello, world\n", f"got {s}")
        step("Extra CE: run(source_code=...) with the default PYTHON_FOR_ML", extra)


if __name__ == "__main__":
    main()
