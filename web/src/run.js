// Running code: on the server through the interactive WebSocket, or in the browser through
// src/browser/ (with a fall back to the server when the browser cannot). Both give the same
// handle: { write(text), eof(), stop(), done: Promise<result> } and call on.stdout/stderr/
// compile/stage/queued/status as things happen.
import { browserRuntime, runInBrowser } from "./browser/index.js";
import { ApiError } from "./api.js";
import { createEventDecoder } from "./decode.js";

const WS_PATH = "/api/v1/code/interactive";

// closeStdin: the program's input ends after request.stdin (no typing while it runs).
// request.tty ({rows, cols}): the program runs on a terminal (TTY-PROTOCOL: its output, stdout
// and stderr merged, comes as "stdout" of stage "run"; write() sends keystrokes; resize()).
// A server without terminals refuses the run with an error on field "tty" (done rejects with
// an ApiError whose field is "tty"): the caller runs it again on pipes.
export function runOnServer({ api, request, on, closeStdin = false }) {
  let ws;
  let runId = null;
  let result = null;
  let stopped = false;
  let failure = null;
  let resolve, reject;
  const done = new Promise((res, rej) => ((resolve = res), (reject = rej)));
  const decoder = createEventDecoder(); // per stream: a character split across chunks stays whole

  function send(msg) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }
  // What the user typed before the server took the run goes right after it (type-ahead).
  let early = [];
  function sendInput(msg) {
    if (early) early.push(msg);
    else send(msg);
  }

  async function finish() {
    if (result) {
      if (result.files === undefined && runId != null) {
        try {
          const run = await api.get(`/api/v1/code/runs/${runId}`);
          if (run && run.result && run.result.files) result.files = run.result.files;
        } catch {
          /* the streamed result stands */
        }
      }
      resolve(result);
      return;
    }
    if (failure) return reject(failure);
    // The socket closed without a result: ask for the run itself.
    if (runId != null) {
      try {
        for (let i = 0; i < 20; i++) {
          const run = await api.get(`/api/v1/code/runs/${runId}`);
          if (run.state === "done" && run.result) return resolve({ ...run.result, id: runId });
          await new Promise((r) => setTimeout(r, 250));
        }
      } catch (e) {
        return reject(e);
      }
    }
    if (stopped) return resolve({ status: "cancelled", message: "Stopped", exit_code: null });
    reject(new ApiError("The connection to the server closed before the run finished."));
  }

  try {
    ws = new WebSocket(api.wsUrl(WS_PATH));
  } catch (e) {
    reject(new ApiError(`Cannot open the connection to the server: ${e.message}`));
    return { write() {}, eof() {}, stop() {}, done, id: () => null };
  }
  ws.addEventListener("message", (m) => {
    let ev;
    try {
      ev = JSON.parse(m.data);
    } catch {
      return;
    }
    switch (ev.type) {
      case "ready":
        send({ type: "run", ...request });
        break;
      case "queued":
        runId = ev.id;
        for (const m of early || []) send(m);
        early = null;
        if (closeStdin) send({ type: "eof" });
        on.queued?.(ev);
        break;
      case "state":
        if (typeof ev.tty === "boolean") on.tty?.(ev.tty);
        if (ev.state === "running") on.stage?.("running");
        break;
      case "stage":
        if (typeof ev.tty === "boolean") on.tty?.(ev.tty);
        on.stage?.(ev.stage);
        break;
      case "stdout":
      case "stderr": {
        const text = decoder.text(ev, `${ev.stage === "compile" ? "compile" : "run"}:${ev.type}`);
        if (ev.stage === "compile") on.compile?.(text, ev.type);
        else on[ev.type]?.(text);
        break;
      }
      case "result":
        for (const [key, t] of Object.entries(decoder.end())) {
          const [stage, type] = key.split(":");
          if (stage === "compile") on.compile?.(t, type);
          else on[type]?.(t);
        }
        result = ev;
        delete result.type;
        if (result.id == null) result.id = runId;
        break;
      case "error":
        // Before a run starts an error is the end of it; after, it is about input.
        if (runId == null) {
          failure = new ApiError(ev.error || "The server refused the run", { field: ev.field || "" });
          ws.close();
        } else {
          on.status?.(ev.error);
        }
        break;
    }
  });
  ws.addEventListener("close", (e) => {
    if (!result && !failure && runId == null && !stopped) {
      failure = new ApiError(
        e.code === 1006
          ? "Cannot connect to the server's run socket (are you logged in, and is the server up?)."
          : `The server closed the connection (${e.code}${e.reason ? `: ${e.reason}` : ""}).`,
      );
    }
    finish();
  });

  return {
    id: () => runId,
    write: (text) => sendInput({ type: "stdin", data: text }),
    eof: () => sendInput({ type: "eof" }),
    resize: (rows, cols) => sendInput({ type: "resize", rows, cols }),
    stop() {
      stopped = true;
      if (ws.readyState === WebSocket.OPEN && runId != null) send({ type: "cancel" });
      else ws.close();
    },
    done,
  };
}

// Where a run goes: "server" or "browser", from the #where choice, the open exercise and the
// language (what the browser can run).
export function chooseWhere({ where, language, exerciseRunner }) {
  const rt = safeRuntime(language);
  if (where === "server") return { where: "server" };
  if (where === "browser") {
    if (!rt) return { where: "server", why: `your browser cannot run ${language?.display_name || "this language"}` };
    if (typeof WebAssembly !== "object") return { where: "server", why: "this browser has no WebAssembly" };
    return { where: "browser", runtime: rt };
  }
  if (exerciseRunner === "wasm" && rt && typeof WebAssembly === "object") return { where: "browser", runtime: rt };
  return { where: "server" };
}

export function safeRuntime(language) {
  try {
    if (!language || (language.browser && language.browser.available === false)) return null;
    // A server that does not say (no "browser" field): what the browser module knows by name.
    return browserRuntime(language.browser === undefined ? language.name : language);
  } catch {
    return null;
  }
}

export function runHere(opts) {
  const { api, language, files, stdin, args, wallLimitMs, on } = opts;
  return runInBrowser({ language, files, stdin, args, wallLimitMs, api, on });
}

// Program arguments from one line, shell-like: spaces split, '...' and "..." quote, \ escapes.
export function splitArgs(line) {
  const out = [];
  let cur = "";
  let any = false;
  let q = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === q) q = "";
      else if (c === "\\" && q === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      q = c;
      any = true;
    } else if (c === "\\" && i + 1 < line.length) {
      cur += line[++i];
      any = true;
    } else if (/\s/.test(c)) {
      if (any || cur) out.push(cur);
      cur = "";
      any = false;
    } else {
      cur += c;
    }
  }
  if (q) throw new Error(`Arguments: a ${q} quote is not closed`);
  if (any || cur) out.push(cur);
  return out;
}
