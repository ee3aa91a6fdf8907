// Python in the browser: Pyodide, loaded once per worker and kept across runs.
// Messages from the page: {type: "load"}; {type: "run", sab, stdinText, files, args}.
// To the page: {type: "loaded", python: "3.11.3", pyodide: "0.25.1"} | {type: "load-failed", message}; during a run {type: "stdin"}
// (waiting for input) and {type: "out"} (only without shared memory); at its end
// {type: "done", exit_code, execution_time, interrupted, unsupported, internal, fatal}.
// Each run: the files are written to a fresh /box (the first is the main file), modules
// imported from /box by an earlier run are forgotten, sys.argv = [main, ...args], and the
// main file runs with fresh globals as __main__ (runpy). Stop sets Pyodide's interrupt buffer
// (KeyboardInterrupt); the page terminates this worker when that does not end the run.
import { WorkerChannel, STDOUT, STDERR } from "./channel.js";

// Where Pyodide's files are: dist/pyodide/<version>/, named by build.mjs (RUNBOX_PYODIDE_URL).
// eslint-disable-next-line no-undef
const INDEX_URL = typeof RUNBOX_PYODIDE_URL === "string" ? RUNBOX_PYODIDE_URL : "/pyodide/";

// Python-side helper, defined once after loading.
const HELPER = String.raw`
import io, os, sys, json, time, runpy, shutil, importlib, traceback

def _runbox_install_sleep(js_sleep, js_stopping):
    """time.sleep that Stop cuts short (Atomics.wait in the worker, not a busy loop)."""
    import time

    def sleep(secs):
        secs = float(secs)
        if secs < 0:
            raise ValueError("sleep length must be non-negative")
        js_sleep(secs * 1000.0)
        if js_stopping():
            raise KeyboardInterrupt

    sleep.__doc__ = time.sleep.__doc__
    time.sleep = sleep

import asyncio

class _RunboxLoop(asyncio.BaseEventLoop):
    """asyncio.run() as on the server: an event loop that blocks, waiting in time.sleep (the
    worker's Atomics.wait, which Stop cuts short) until its next timer is due. Pyodide's own
    loop (WebLoop) cannot block, and this Pyodide (Python 3.11) has no stack switching. No
    sockets, subprocesses or signals: only timers, tasks, queues and the like."""

    class _Waits:
        def select(self, timeout):
            if timeout is None:
                raise RuntimeError("the program awaits something that nothing will finish "
                                   "(in the browser, asyncio has timers, not sockets)")
            if timeout > 0:
                time.sleep(timeout)
            return []

    def __init__(self):
        super().__init__()
        self._selector = self._Waits()

    def _process_events(self, event_list):
        pass

    def _write_to_self(self):
        pass

class _RunboxPolicy(asyncio.DefaultEventLoopPolicy):
    _loop_factory = _RunboxLoop

def _runbox_unsupported(files, known):
    """The first import of a Pyodide package that is not here (no wheels offline), or None."""
    try:
        from pyodide.code import find_imports
    except Exception:
        return None
    local = set()
    for name, _ in files:
        top = name.split("/")[0]
        local.add(top[:-3] if top.endswith(".py") else top)
    for name, content in files:
        if not name.endswith(".py"):
            continue
        try:
            mods = find_imports(content)
        except Exception:
            continue
        for m in mods:
            top = m.split(".")[0]
            if top in local or top not in known:
                continue
            try:
                import importlib.util
                if importlib.util.find_spec(top) is not None:
                    continue
            except Exception:
                pass
            return top
    return None

def _runbox_run(files, argv, known, stop_requested, clear_interrupt):
    files = [(str(n), str(c)) for n, c in files]
    known = set(known)
    res = {"exit_code": 0}
    missing = _runbox_unsupported(files, known)
    if missing:
        res["unsupported"] = missing
        return json.dumps(res)
    if os.path.isdir("/box"):
        shutil.rmtree("/box", ignore_errors=True)
    os.makedirs("/box", exist_ok=True)
    for name, content in files:
        path = os.path.normpath(os.path.join("/box", name))
        if not path.startswith("/box/"):
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(content)
    for key, mod in list(sys.modules.items()):
        f = getattr(mod, "__file__", None) or ""
        if isinstance(f, str) and f.startswith("/box/"):
            del sys.modules[key]
    importlib.invalidate_caches()
    main = os.path.join("/box", files[0][0])
    # Like python3 -u: every write reaches the page at once; stdin starts empty each run.
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "wb", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "wb", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", write_through=True)
    sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "rb", closefd=False)),
                                 encoding="utf-8", errors="replace")
    saved_path = list(sys.path)
    saved_argv = list(sys.argv)
    sys.path.insert(0, "/box")
    sys.argv = [main] + [str(a) for a in argv]
    os.chdir("/box")
    # The program's asyncio is a plain one (asyncio.run() works at its top level), not Pyodide's.
    saved_policy = asyncio.get_event_loop_policy()
    saved_loop = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop_policy(_RunboxPolicy())
    try:
        runpy.run_path(main, run_name="__main__")
    except SystemExit as e:
        code = e.code
        if code is None:
            res["exit_code"] = 0
        elif isinstance(code, int):
            res["exit_code"] = code & 0xFF
        else:
            print(code, file=sys.stderr)
            res["exit_code"] = 1
    except BaseException as e:
        if stop_requested():
            res["exit_code"] = None
            res["interrupted"] = True
        elif (isinstance(e, ModuleNotFoundError) and e.name
              and e.name.split(".")[0] in known):
            res["unsupported"] = e.name.split(".")[0]
        else:
            tb = e.__traceback__
            while tb is not None and not tb.tb_frame.f_code.co_filename.startswith("/box/"):
                tb = tb.tb_next
            traceback.print_exception(type(e), e, tb)
            res["exit_code"] = 1
    finally:
        for s in (sys.stdout, sys.stderr):
            try:
                s.flush()
            except BaseException:
                pass
        asyncio.set_event_loop_policy(saved_policy)
        asyncio.events._set_running_loop(saved_loop)
        sys.path[:] = saved_path
        sys.argv = saved_argv
        os.chdir("/")
    if stop_requested():
        res["interrupted"] = True
        # Let a KeyboardInterrupt still pending fire here, not in the next run.
        clear_interrupt()
        try:
            for _ in range(1000):
                pass
        except KeyboardInterrupt:
            pass
    return json.dumps(res)
`;

// Packages in Pyodide's distribution (not shipped here): importing one means "run it on the
// server". Read from pyodide-lock.json; this list is the fallback.
const KNOWN_FALLBACK = [
  "numpy", "matplotlib", "pandas", "scipy", "sklearn", "PIL", "sympy", "networkx",
  "requests", "bs4", "lxml", "yaml", "pytest", "micropip", "statsmodels", "seaborn",
];

let pyodide = null;
let loading = null;
let known = KNOWN_FALLBACK;
let chan = null; // the current run's channel
let pythonVersion = ""; // sys.version_info, "3.11.3", once loaded

function load() {
  if (!loading) {
    loading = (async () => {
      const { loadPyodide } = await import(/* @vite-ignore */ INDEX_URL + "pyodide.mjs");
      const py = await loadPyodide({ indexURL: INDEX_URL, env: { HOME: "/home/pyodide" } });
      py.setStdout({ write: (buf) => (chan && chan.write(STDOUT, buf), buf.length) });
      py.setStderr({ write: (buf) => (chan && chan.write(STDERR, buf), buf.length) });
      py.setStdin({
        read: (buf) => {
          if (!chan) return 0;
          const data = chan.read(buf.length);
          if (data === null) return 0; // stopping: the interrupt follows
          buf.set(data);
          return data.length;
        },
      });
      py.runPython(HELPER);
      py.globals.get("_runbox_install_sleep")(
        (ms) => (chan ? chan.sleep(ms) : undefined),
        () => (chan ? chan.stopRequested : false),
      );
      try {
        const r = await fetch(INDEX_URL + "pyodide-lock.json");
        const lock = await r.json();
        const names = new Set(KNOWN_FALLBACK);
        for (const p of Object.values(lock.packages || {})) {
          for (const i of p.imports || []) names.add(i);
        }
        known = [...names];
      } catch {
        /* keep the fallback list */
      }
      pyodide = py;
      pythonVersion = py.runPython("import sys; '%d.%d.%d' % sys.version_info[:3]");
      return py;
    })();
  }
  return loading;
}

async function run(m) {
  let py;
  try {
    py = await load();
  } catch (e) {
    self.postMessage({ type: "done", internal: `Python could not be loaded: ${e.message || e}`, fatal: true });
    return;
  }
  chan = new WorkerChannel(m.sab, m.stdinText, (msg, t) => self.postMessage(msg, t || []));
  if (m.sab) py.setInterruptBuffer(chan.interrupt);
  const t0 = performance.now();
  const fn = py.globals.get("_runbox_run");
  const files = py.toPy(m.files.map((f) => [f.name, f.content ?? ""]));
  const args = py.toPy(m.args || []);
  const knownPy = py.toPy(known);
  const stopFn = () => chan.stopRequested;
  const clearFn = () => {
    if (chan.interrupt) chan.interrupt[0] = 0;
  };
  let out;
  try {
    // Through JSPI when this Pyodide and the browser have it; a synchronous call otherwise
    // (Pyodide 0.25, whose Python 3.11 is the server's, has no callPromising). asyncio.run()
    // works either way: the program gets a blocking event loop (_RunboxLoop).
    let json;
    try {
      if (typeof fn.callPromising !== "function") throw new Error("stack switching not supported");
      json = await fn.callPromising(files, args, knownPy, stopFn, clearFn);
    } catch (e) {
      if (!/stack switching not supported/i.test(String(e && e.message))) throw e;
      json = fn(files, args, knownPy, stopFn, clearFn);
    }
    const res = JSON.parse(json);
    out = { type: "done", execution_time: (performance.now() - t0) / 1000, ...res };
  } catch (e) {
    // Not a Python exception (those are handled in _runbox_run): Pyodide itself failed
    // (stack overflow in the interpreter, out of memory). This worker is not usable again.
    out = {
      type: "done",
      exit_code: null,
      interrupted: chan.stopRequested,
      internal: chan.stopRequested ? undefined : `Python stopped working: ${e.message || e}`,
      fatal: true,
      execution_time: (performance.now() - t0) / 1000,
    };
  } finally {
    for (const p of [fn, files, args, knownPy]) p && p.destroy && p.destroy();
    if (m.sab) py.setInterruptBuffer(undefined);
    chan = null;
  }
  self.postMessage(out);
}

self.onmessage = (e) => {
  const m = e.data || {};
  if (m.type === "load") {
    load().then(
      () => self.postMessage({ type: "loaded", python: pythonVersion, pyodide: pyodide.version }),
      (err) => self.postMessage({ type: "load-failed", message: String(err && err.message ? err.message : err) }),
    );
  } else if (m.type === "run") {
    run(m);
  }
};
