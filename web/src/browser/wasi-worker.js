// Runs one compiled WASI (wasm32-wasi preview1) module with @bjorn3/browser_wasi_shim.
// The page posts {type: "run", module, sab, stdinText, args, env, files} and gets back
// {type: "stdin"} when the program waits for input, {type: "out"} (only without shared
// memory) and finally {type: "done", exit_code, trap, internal, execution_time}.
// Stop and the time limit terminate this worker (see index.js); a worker runs one program.
import {
  WASI,
  WASIProcExit,
  Fd,
  File,
  Directory,
  PreopenDirectory,
  wasi as W,
} from "@bjorn3/browser_wasi_shim";
import { WorkerChannel, STDOUT, STDERR } from "./channel.js";

class Stopped extends Error {}

/** A character device (so the C library line-buffers stdout like a terminal's). */
class CharFd extends Fd {
  constructor(chan, rights) {
    super();
    this.chan = chan;
    this.rights = rights;
  }
  fd_fdstat_get() {
    const st = new W.Fdstat(W.FILETYPE_CHARACTER_DEVICE, 0);
    st.fs_rights_base = BigInt(this.rights);
    return { ret: 0, fdstat: st };
  }
  fd_filestat_get() {
    return { ret: 0, filestat: new W.Filestat(0n, W.FILETYPE_CHARACTER_DEVICE, 0n) };
  }
}

/** stdout / stderr. */
class OutFd extends CharFd {
  constructor(chan, stream) {
    super(chan, W.RIGHTS_FD_WRITE);
    this.stream = stream;
  }
  fd_write(data) {
    this.chan.write(this.stream, data);
    return { ret: 0, nwritten: data.byteLength };
  }
}

/** stdin: each read blocks until the page sends a line (or EOF). */
class InFd extends CharFd {
  constructor(chan) {
    super(chan, W.RIGHTS_FD_READ);
  }
  fd_read(size) {
    const data = this.chan.read(size);
    if (data === null) throw new Stopped("stopped");
    return { ret: 0, data };
  }
}

/** The run's files as a writable in-memory directory tree (preopened as "/" and "."). */
function fileTree(files) {
  const root = new Map();
  const enc = new TextEncoder();
  for (const f of files || []) {
    const parts = String(f.name).split("/").filter((p) => p && p !== "." && p !== "..");
    if (!parts.length) continue;
    let dir = root;
    for (const p of parts.slice(0, -1)) {
      if (!dir.has(p)) dir.set(p, new Directory(new Map()));
      const d = dir.get(p);
      if (!(d instanceof Directory)) break;
      dir = d.contents;
    }
    dir.set(parts[parts.length - 1], new File(enc.encode(f.content ?? "")));
  }
  return root;
}

async function run(m) {
  const post = (msg, transfer) => self.postMessage(msg, transfer || []);
  const chan = new WorkerChannel(m.sab, m.stdinText, post);
  const err = (text) => chan.write(STDERR, new TextEncoder().encode(text));
  const env = Object.entries(m.env || {}).map(([k, v]) => `${k}=${v}`);
  const root = new Directory(fileTree(m.files));
  const fds = [
    new InFd(chan),
    new OutFd(chan, STDOUT),
    new OutFd(chan, STDERR),
    new PreopenDirectory("/", root.contents),
  ];
  const w = new WASI([m.argv0 || "main", ...(m.args || [])], env, fds, { debug: false });
  let t0 = 0;

  // Sleeping (nanosleep, thread::sleep) waits on the shared memory instead of spinning, and
  // reports its one event (the shim leaves nevents unset).
  w.wasiImport.poll_oneoff = (inPtr, outPtr, nsubs, neventsPtr) => {
    const view = new DataView(w.inst.exports.memory.buffer);
    if (nsubs !== 1) return W.ERRNO_NOTSUP;
    const s = W.Subscription.read_bytes(view, inPtr);
    if (s.eventtype !== W.EVENTTYPE_CLOCK) return W.ERRNO_NOTSUP;
    const nowNs =
      s.clockid === W.CLOCKID_REALTIME
        ? BigInt(Date.now()) * 1000000n
        : BigInt(Math.round(performance.now() * 1e6));
    const abs = (s.flags & W.SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME) !== 0;
    const waitNs = abs ? s.timeout - nowNs : s.timeout;
    if (waitNs > 0n) chan.sleep(Number(waitNs / 1000n) / 1000);
    if (chan.stopRequested) throw new Stopped("stopped");
    new W.Event(s.userdata, W.ERRNO_SUCCESS, s.eventtype).write_bytes(view, outPtr);
    if (neventsPtr !== undefined) view.setUint32(neventsPtr, 1, true);
    return W.ERRNO_SUCCESS;
  };

  // The shim answers 0 for the CPU-time clocks: give the time since the start instead (there
  // is one thread, and it runs all along), so clock_gettime(CLOCK_PROCESS_CPUTIME_ID) advances.
  const cpuClock = (id) => id === W.CLOCKID_PROCESS_CPUTIME_ID || id === W.CLOCKID_THREAD_CPUTIME_ID;
  const clockTime = w.wasiImport.clock_time_get;
  w.wasiImport.clock_time_get = (id, precision, ptr) => {
    if (!cpuClock(id)) return clockTime(id, precision, ptr);
    const ns = BigInt(Math.round((performance.now() - (t0 || performance.now())) * 1e6));
    new DataView(w.inst.exports.memory.buffer).setBigUint64(ptr, ns, true);
    return W.ERRNO_SUCCESS;
  };
  const clockRes = w.wasiImport.clock_res_get;
  w.wasiImport.clock_res_get = (id, ptr) => {
    if (!cpuClock(id)) return clockRes(id, ptr);
    new DataView(w.inst.exports.memory.buffer).setBigUint64(ptr, 1000n, true);
    return W.ERRNO_SUCCESS;
  };

  let instance;
  try {
    instance = await WebAssembly.instantiate(m.module, { wasi_snapshot_preview1: w.wasiImport });
  } catch (e) {
    post({ type: "done", internal: `cannot start the program: ${e.message || e}` });
    return;
  }
  t0 = performance.now();
  let exit_code = 0;
  let trap = null;
  try {
    exit_code = w.start(instance);
  } catch (e) {
    if (e instanceof WASIProcExit) exit_code = e.code;
    else if (e instanceof Stopped) exit_code = null;
    else {
      exit_code = null;
      trap = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      err(`\nwasm trap: ${trap}\n`);
    }
  }
  post({ type: "done", exit_code, trap, execution_time: (performance.now() - t0) / 1000 });
}

self.onmessage = (e) => {
  if (e.data && e.data.type === "run") {
    run(e.data).catch((x) =>
      self.postMessage({ type: "done", internal: String((x && x.stack) || x) }),
    );
  }
};
self.postMessage({ type: "ready" });
