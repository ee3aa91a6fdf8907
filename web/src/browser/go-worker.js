// Runs one Go module built with GOOS=js GOARCH=wasm, through Go's own wasm_exec.js (the
// language file's browser.support, copied by build.mjs to dist/runtime/go-js/wasm_exec.js: it
// must come from the same Go as the compiler). Same messages as wasi-worker.js: the page posts
// {type: "run", module, sab, stdinText, args, env}; this answers {type: "stdin"}, {type: "out"}
// (without shared memory) and {type: "done", exit_code, trap, internal, unsupported,
// execution_time}. Stop and the time limit terminate this worker.
import { WorkerChannel, STDOUT, STDERR } from "./channel.js";

const SUPPORT = new URL("../runtime/go-js/wasm_exec.js", import.meta.url);
// Loaded as soon as the worker starts (a spare worker is ready before its run, and needs no
// server then).
const support = import(/* @vite-ignore */ SUPPORT.href);
support.catch(() => {});

async function run(m) {
  const post = (msg, transfer) => self.postMessage(msg, transfer || []);
  const chan = new WorkerChannel(m.sab, m.stdinText, post);
  try {
    await support;
  } catch (e) {
    post({ type: "done", unsupported_message: `Go cannot run in this browser page: wasm_exec.js is not served (${e.message || e}); it runs on the server` });
    return;
  }
  const fs = globalThis.fs; // wasm_exec.js's stub file system: wire fds 0, 1, 2 to the page
  const enosys = () => Object.assign(new Error("not implemented"), { code: "ENOSYS" });
  fs.writeSync = (fd, buf) => {
    chan.write(fd === 2 ? STDERR : STDOUT, buf);
    return buf.length;
  };
  fs.read = (fd, buffer, offset, length, position, callback) => {
    if (fd !== 0 || position !== null) return callback(enosys());
    const data = chan.read(length);
    if (data === null) return callback(enosys()); // stopping: the page terminates this worker
    buffer.set(data, offset);
    callback(null, data.length);
  };
  const go = new globalThis.Go();
  go.argv = [m.argv0 || "main", ...(m.args || [])];
  go.env = { ...(m.env || {}) };
  let exitCode = 0;
  go.exit = (code) => {
    exitCode = code;
  };
  let instance;
  try {
    instance = await WebAssembly.instantiate(m.module, go.importObject);
  } catch (e) {
    post({ type: "done", internal: `cannot start the program: ${e.message || e}` });
    return;
  }
  const t0 = performance.now();
  let trap = null;
  try {
    await go.run(instance);
  } catch (e) {
    trap = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    chan.write(STDERR, new TextEncoder().encode(`\nwasm trap: ${trap}\n`));
  }
  post({ type: "done", exit_code: trap ? null : exitCode, trap, execution_time: (performance.now() - t0) / 1000 });
}

self.onmessage = (e) => {
  if (e.data && e.data.type === "run") {
    run(e.data).catch((x) => self.postMessage({ type: "done", internal: String((x && x.stack) || x) }));
  }
};
self.postMessage({ type: "ready" });
