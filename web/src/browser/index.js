// In-browser runs: the only module the page imports from src/browser/ (see web/README.md,
// "In-browser runs"). Python runs in Pyodide, C/C++/Rust as WASI modules compiled by the
// server (POST /api/v1/code/compile?target=wasm), each in a Web Worker.
//
// The `api` argument of runInBrowser: the page's API client. This module calls
//   api.fetch(path, init) -> Promise<Response>
// which must behave like window.fetch (same origin, path relative to runbox's root) with the
// user's auth added (Authorization: Bearer ...), and must not throw on HTTP error statuses.
// If api has no fetch method, window.fetch is used, with `Authorization: Bearer ${api.token}`
// when api.token is set.
//
// Exports:
//   browserRuntime(language)  "pyodide" | "wasi" | "go-js" | null   (language: an entry of
//                             GET /api/v1/code/languages, or a language name)
//   preload(runtime)          Promise: resolves when that runtime can start a run at once
//   runInBrowser({language, files, stdin, args, wallLimitMs, api, on, env, outputLimitBytes,
//                 closeStdin})
//     -> { write(text), eof(), stop(), done: Promise<result>, interactive: boolean }
//   interactiveInput()        true when stdin can be typed while the program runs
//                             (cross-origin isolated: SharedArrayBuffer + Atomics.wait)
//   browserPython()           {python: "3.11.3", pyodide: "0.25.1", loaded: bool}: the Python
//                             that runs in the browser (from the build until Pyodide has loaded,
//                             then its own sys.version_info)
import { PageChannel, newSharedBuffer, sharedMemoryAvailable, STDOUT } from "./channel.js";

const WORKERS = {
  pyodide: new URL("./pyodide-worker.js", import.meta.url),
  wasi: new URL("./wasi-worker.js", import.meta.url),
  "go-js": new URL("./go-worker.js", import.meta.url),
};
const COMPILE_PATH = "/api/v1/code/compile?target=wasm";
const STOP_GRACE_MS = 1000; // Pyodide's KeyboardInterrupt, before the worker is terminated
const DRAIN_MS = 25; // how often the page takes the worker's output
const DEFAULT_WALL_S = 10;
const DEFAULT_OUTPUT_BYTES = 1024 * 1024;
const BY_NAME = { python: "pyodide", c: "wasi", cpp: "wasi", rust: "wasi", go: "go-js" };

export function browserRuntime(language) {
  if (!language) return null;
  let rt;
  if (typeof language === "string") rt = BY_NAME[language];
  else if (!language.browser || language.browser.available === false) return null;
  else rt = language.browser.runtime;
  return rt === "pyodide" || rt === "wasi" || rt === "go-js" ? rt : null;
}

// The build's Pyodide (build.mjs defines these from node_modules/pyodide), until it reports.
const browserPy = {
  // eslint-disable-next-line no-undef
  python: typeof RUNBOX_PYODIDE_PYTHON === "string" ? RUNBOX_PYODIDE_PYTHON : "",
  // eslint-disable-next-line no-undef
  pyodide: typeof RUNBOX_PYODIDE_VERSION === "string" ? RUNBOX_PYODIDE_VERSION : "",
  loaded: false,
};
export function browserPython() {
  return { ...browserPy };
}

export function interactiveInput() {
  return sharedMemoryAvailable();
}

// --- Pyodide: one worker, loaded once, kept across runs ---

let py = null; // { worker, ready: Promise, loaded: bool, idle: Promise }

function pyodideEntry() {
  if (py) return py;
  const worker = new Worker(WORKERS.pyodide, { type: "module", name: "runbox-pyodide" });
  const entry = { worker, loaded: false, idle: Promise.resolve() };
  entry.ready = new Promise((resolve, reject) => {
    const onMsg = (e) => {
      const m = e.data || {};
      if (m.type === "loaded") {
        entry.loaded = true;
        if (m.python) Object.assign(browserPy, { python: m.python, pyodide: m.pyodide || browserPy.pyodide, loaded: true });
        worker.removeEventListener("message", onMsg);
        resolve();
      } else if (m.type === "load-failed") {
        worker.removeEventListener("message", onMsg);
        reject(new Error(`Python could not be loaded in the browser: ${m.message}`));
      }
    };
    worker.addEventListener("message", onMsg);
    worker.addEventListener("error", (e) => {
      reject(new Error(`Python could not be loaded in the browser: ${e.message || "the worker failed"}`));
    });
  });
  entry.ready.catch(() => dropPyodide(entry));
  worker.postMessage({ type: "load" });
  py = entry;
  return entry;
}

function dropPyodide(entry, reload = false) {
  entry.worker.terminate();
  if (py === entry) {
    py = null;
    // A loaded runtime was thrown away (Stop did not end the run, or Pyodide broke): load a
    // fresh one now, so the next run does not wait for it.
    if (reload && entry.loaded) pyodideEntry().ready.catch(() => {});
  }
}

export function preload(runtime) {
  if (runtime === "pyodide") return pyodideEntry().ready;
  if (runtime === "wasi" || runtime === "go-js") {
    spareWorker(runtime); // a worker with its runtime loaded, ready for the next run
    return Promise.resolve();
  }
  return Promise.reject(new Error(`no in-browser runtime "${runtime}"`));
}

// --- WASI and Go: one worker per run (Stop terminates it); modules kept in memory ---

const spares = new Map(); // runtime -> a started worker
function spareWorker(runtime) {
  if (!spares.has(runtime)) spares.set(runtime, new Worker(WORKERS[runtime], { type: "module", name: `runbox-${runtime}` }));
  return spares.get(runtime);
}
function takeWorker(runtime) {
  const w = spareWorker(runtime);
  spares.delete(runtime);
  return w;
}

const modules = new Map(); // key -> { module, runtime, compile_time }

async function cacheKey(name, files) {
  const text = JSON.stringify([name, files.map((f) => [f.name, f.content ?? ""])]);
  if (globalThis.crypto && crypto.subtle) {
    const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
  }
  return text; // not a secure context (plain http on another host): the text is the key
}

function apiFetch(api, path, init) {
  if (api && typeof api.fetch === "function") return api.fetch(path, init);
  const headers = { ...(init.headers || {}) };
  if (api && api.token) headers.Authorization = `Bearer ${api.token}`;
  return fetch(path, { ...init, headers });
}

class RunError extends Error {
  constructor(message, fields) {
    super(message);
    this.fields = fields;
  }
}

/** The module for these files: from memory, or compiled by the server. */
async function compiled(name, files, api, signal, on, expected) {
  const key = await cacheKey(name, files);
  const hit = modules.get(key);
  if (hit) return { ...hit, cached: true, compile_time: 0 };
  call(on.stage, "compile");
  let res;
  try {
    res = await apiFetch(api, COMPILE_PATH, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/wasm, application/json" },
      body: JSON.stringify({ language: name, files: files.map((f) => ({ name: f.name, content: f.content ?? "" })) }),
      signal,
    });
  } catch (e) {
    if (signal.aborted) throw e;
    throw new RunError(`Cannot reach the server to compile: ${e.message || e}`, { reason: "setup_failed" });
  }
  if (res.status === 422) {
    let body = {};
    try {
      body = await res.json();
    } catch {
      /* not JSON */
    }
    const c = body.compile || {};
    const text = (c.output || "") + (c.error || "");
    if (text) call(on.compile, text);
    throw new RunError(body.message || body.error || "compile error", {
      status: "compile_error",
      reason: c.reason || "exited",
      exit_code: c.exit_code ?? null,
      compile: { ...c, cached: false },
    });
  }
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText || ""}`.trim();
    try {
      const body = await res.json();
      if (body && body.error) msg = body.error;
    } catch {
      /* not JSON */
    }
    // The server cannot build this for the browser: the page may run it on the server.
    throw new RunError(`Cannot compile for the browser: ${msg}`, { reason: "unsupported_in_browser" });
  }
  const runtime = res.headers.get("X-Runbox-Wasm-Runtime") || expected;
  const compile_time = Number(res.headers.get("X-Runbox-Compile-Time")) || 0;
  const serverCached = /^(1|true|yes)$/i.test(res.headers.get("X-Runbox-Compile-Cached") || "");
  const bytes = await res.arrayBuffer();
  if (!WORKERS[runtime] || runtime === "pyodide") {
    throw new RunError(`The browser cannot run "${runtime}" modules`, { reason: "unsupported_in_browser" });
  }
  let module;
  try {
    module = await WebAssembly.compile(bytes);
  } catch (e) {
    throw new RunError(`The server's module is not valid WebAssembly: ${e.message || e}`, { reason: "setup_failed" });
  }
  const entry = { module, runtime, compile_time };
  modules.set(key, entry);
  return { ...entry, cached: serverCached };
}

function call(f, ...a) {
  if (typeof f === "function") {
    try {
      f(...a);
    } catch (e) {
      console.error(e);
    }
  }
}

// --- a run ---

export function runInBrowser(opts) {
  const { language, files = [], stdin = "", args = [], api, env = {} } = opts;
  const on = opts.on || {};
  const runtime = browserRuntime(language);
  const name = typeof language === "string" ? language : language && language.name;
  const limits = (language && language.limits) || {};
  const wallMs = opts.wallLimitMs > 0 ? opts.wallLimitMs : (limits.wall_time || limits.wall || DEFAULT_WALL_S) * 1000;
  const outLimit =
    opts.outputLimitBytes > 0 ? opts.outputLimitBytes : limits.output_kb ? limits.output_kb * 1024 : DEFAULT_OUTPUT_BYTES;
  const closeStdin = opts.closeStdin !== undefined ? !!opts.closeStdin : stdin !== "";

  let outBytes = 0;
  let truncated = false;
  const enc = new TextEncoder();
  const chan = new PageChannel(
    newSharedBuffer(),
    (stream, text) => {
      if (truncated) return;
      const bytes = enc.encode(text);
      const n = bytes.length;
      if (outBytes + n > outLimit) {
        truncated = true;
        // Cut at the limit in bytes (a character cut in two is dropped).
        text = new TextDecoder().decode(bytes.subarray(0, Math.max(0, outLimit - outBytes))).replace(/\uFFFD$/, "");
        outBytes = outLimit;
        if (text) call(stream === STDOUT ? on.stdout : on.stderr, text);
        requestStop("output");
        return;
      }
      outBytes += n;
      call(stream === STDOUT ? on.stdout : on.stderr, text);
    },
    () => call(on.inputWanted),
  );
  if (chan.interactive) {
    if (stdin) chan.write(stdin);
    if (closeStdin) chan.eof();
  }

  let finished = false;
  let stopReason = null; // "cancelled" | "timeout" | "output"
  let compileInfo = null;
  let worker = null; // the worker running this run
  let onMessage = null;
  let runStart = 0;
  let wallTimer = null;
  let graceTimer = null;
  let drainTimer = null;
  let pyEntry = null;
  const abort = new AbortController();
  let resolveDone;
  const done = new Promise((r) => (resolveDone = r));

  function finish(w) {
    if (finished) return;
    finished = true;
    clearTimeout(wallTimer);
    clearTimeout(graceTimer);
    clearInterval(drainTimer);
    if (worker && onMessage) worker.removeEventListener("message", onMessage);
    chan.drain(true);
    chan.finish();
    const elapsed = runStart ? (performance.now() - runStart) / 1000 : 0;
    const r = {
      status: "success",
      reason: "exited",
      exit_code: w.exit_code ?? null,
      signal: null,
      execution_time: Number((w.execution_time ?? elapsed).toFixed(4)),
      message: "",
      where: "browser",
      language: name,
      runtime,
      compile: compileInfo,
      output_truncated: truncated,
    };
    if (w.status) {
      Object.assign(r, w.fields || {}, { message: w.message || "" });
      r.status = w.status;
    } else if (stopReason === "cancelled") {
      Object.assign(r, { status: "cancelled", reason: "cancelled", exit_code: null, message: "Stopped" });
    } else if (stopReason === "timeout") {
      Object.assign(r, {
        status: "timeout",
        reason: "wall_time",
        exit_code: null,
        execution_time: Number((wallMs / 1000).toFixed(4)),
        message: `Wall time limit of ${wallMs / 1000} s exceeded`,
      });
    } else if (stopReason === "output") {
      Object.assign(r, {
        status: "output_limit",
        reason: "output",
        exit_code: null,
        message: `Output limit of ${Math.round(outLimit / 1024)} KB exceeded`,
      });
    } else if (w.unsupported || w.unsupported_message) {
      Object.assign(r, {
        status: "internal_error",
        reason: "unsupported_in_browser",
        exit_code: null,
        message:
          w.unsupported_message ||
          `${w.unsupported} is not available in the browser (only Python's standard library is); it runs on the server: choose Run on: server`,
      });
    } else if (w.internal) {
      Object.assign(r, { status: "internal_error", reason: "setup_failed", exit_code: null, message: w.internal });
    } else if (w.trap) {
      Object.assign(r, { status: "runtime_error", reason: "signaled", exit_code: null, message: `The program crashed (${w.trap})` });
    } else if (w.interrupted) {
      Object.assign(r, { status: "cancelled", reason: "cancelled", exit_code: null, message: "Stopped" });
    } else if (r.exit_code !== 0) {
      Object.assign(r, { status: "runtime_error", message: `Exited with code ${r.exit_code}` });
    }
    resolveDone(r);
  }

  function fail(e) {
    if (finished) return;
    if (stopReason) return finish({});
    if (e instanceof RunError) {
      const f = e.fields || {};
      return finish({ status: f.status || "internal_error", message: e.message, fields: { ...f, status: undefined } });
    }
    finish({ internal: `The browser run failed: ${(e && e.message) || e}` });
  }

  function requestStop(reason) {
    if (finished || stopReason) return;
    stopReason = reason;
    chan.stop();
    abort.abort();
    if (!worker) {
      // Still loading or compiling: nothing runs yet.
      finish({});
      return;
    }
    if (runtime === "pyodide" && chan.interactive && pyEntry) {
      // KeyboardInterrupt first, so the loaded runtime is kept; terminate if it does not end.
      graceTimer = setTimeout(() => {
        dropPyodide(pyEntry, true);
        finish({});
      }, STOP_GRACE_MS);
      return;
    }
    if (runtime === "pyodide" && pyEntry) dropPyodide(pyEntry, true);
    else worker.terminate();
    finish({});
  }

  function startTimers() {
    runStart = performance.now();
    call(on.stage, "run");
    wallTimer = setTimeout(() => requestStop("timeout"), wallMs);
    if (chan.interactive) {
      drainTimer = setInterval(() => {
        chan.drain();
        chan.pump();
      }, DRAIN_MS);
    }
  }

  function listen(w, onDone) {
    worker = w;
    onMessage = (e) => {
      const m = e.data || {};
      if (m.type === "stdin") chan.pump();
      else if (m.type === "out") chan.emit(m.stream, m.bytes);
      else if (m.type === "done") onDone(m);
    };
    w.addEventListener("message", onMessage);
  }

  async function startPyodide() {
    const entry = pyodideEntry();
    pyEntry = entry;
    if (!entry.loaded) {
      call(on.stage, "load");
      call(on.status, "Loading Python…");
    }
    await entry.ready;
    const previous = entry.idle;
    let idle;
    entry.idle = new Promise((r) => (idle = r));
    await previous;
    if (stopReason || py !== entry) {
      idle();
      return finish({});
    }
    listen(entry.worker, (m) => {
      idle();
      if (m.fatal) dropPyodide(entry, true);
      finish(m);
    });
    done.then(idle);
    startTimers();
    entry.worker.postMessage({
      type: "run",
      sab: chan.sab,
      stdinText: stdin,
      files: files.map((f) => ({ name: f.name, content: f.content ?? "" })),
      args: args.map(String),
    });
  }

  async function startCompiled() {
    const c = await compiled(name, files, api, abort.signal, on, runtime);
    compileInfo = { status: "success", cached: c.cached, execution_time: c.compile_time };
    if (stopReason) return finish({});
    const w = takeWorker(c.runtime);
    listen(w, (m) => {
      w.terminate();
      finish(m);
    });
    w.addEventListener("error", (e) => {
      w.terminate();
      finish({ internal: `The program's worker failed: ${e.message || "error"}` });
    });
    startTimers();
    w.postMessage({
      type: "run",
      module: c.module,
      sab: chan.sab,
      stdinText: stdin,
      args: args.map(String),
      env,
      files: files.map((f) => ({ name: f.name, content: f.content ?? "" })),
      argv0: "main",
    });
    spareWorker(c.runtime); // the next run's worker loads while this one runs
  }

  const handle = {
    write: (text) => chan.write(String(text)),
    eof: () => chan.eof(),
    stop: () => requestStop("cancelled"),
    done,
    interactive: chan.interactive,
  };

  if (!runtime) {
    finish({
      status: "internal_error",
      message: `${name || "This language"} cannot run in the browser`,
      fields: { reason: "unsupported_in_browser" },
    });
  } else if (typeof WebAssembly !== "object" || typeof Worker !== "function") {
    finish({
      status: "internal_error",
      message: "This browser has no WebAssembly or Web Workers",
      fields: { reason: "unsupported_in_browser" },
    });
  } else {
    (runtime === "pyodide" ? startPyodide() : startCompiled()).catch(fail);
  }
  return handle;
}
