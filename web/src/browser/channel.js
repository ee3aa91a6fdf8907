// The shared memory between the page and a run's worker (both sides are here).
//
// With cross-origin isolation (SharedArrayBuffer), one SharedArrayBuffer per run holds:
//   - stdin: the worker, needing input, sets STDIN_STATE = WAITING and blocks (Atomics.wait);
//     the page answers DATA (STDIN_LEN bytes in the stdin area), EOF, or CANCEL (Stop).
//   - output: framed records [stream u8][length u32 LE][bytes] appended by the worker under
//     a spin lock; the page drains them on a timer. Output written just before a loop that
//     never ends still reaches the page, even when Stop then terminates the worker.
//   - STOP: set by the page on Stop / time limit; the worker drops further output.
//   - the Pyodide interrupt byte (pyodide.setInterruptBuffer): 2 = SIGINT.
// Without isolation there is no shared memory: stdin is what was given up front, then EOF,
// and output goes by postMessage ({type: "out", stream, bytes}).

export const STDOUT = 1;
export const STDERR = 2;

const STDIN_STATE = 0; // Int32 slots
const STDIN_LEN = 1;
const STOP = 2;
const OUT_LOCK = 3;
const OUT_USED = 4;

const IDLE = 0;
const WAITING = 1;
const DATA = 2;
const EOF = 3;
const CANCEL = 4;

const CTRL_BYTES = 32;
const INTERRUPT_OFFSET = 32; // 4 bytes; Pyodide reads byte 0
const STDIN_OFFSET = 64;
const STDIN_CAP = 64 * 1024;
const OUT_OFFSET = STDIN_OFFSET + STDIN_CAP;
const OUT_CAP = 512 * 1024;
const SAB_BYTES = OUT_OFFSET + OUT_CAP;

export function sharedMemoryAvailable() {
  return typeof SharedArrayBuffer === "function" && globalThis.crossOriginIsolated === true;
}

export function newSharedBuffer() {
  return sharedMemoryAvailable() ? new SharedArrayBuffer(SAB_BYTES) : null;
}

/** Page side. */
export class PageChannel {
  /**
   * @param {SharedArrayBuffer|null} sab
   * @param {(stream: number, text: string) => void} onOutput
   * @param {() => void} onInputWanted
   */
  constructor(sab, onOutput, onInputWanted) {
    this.sab = sab;
    this.onOutput = onOutput;
    this.onInputWanted = onInputWanted;
    this.queue = new Uint8Array(0);
    this.eofSent = false;
    this.stopped = false;
    this.wantedSignalled = false;
    this.decoders = { [STDOUT]: new TextDecoder(), [STDERR]: new TextDecoder() };
    if (sab) {
      this.ctrl = new Int32Array(sab, 0, CTRL_BYTES / 4);
      this.interrupt = new Uint8Array(sab, INTERRUPT_OFFSET, 4);
      this.stdinArea = new Uint8Array(sab, STDIN_OFFSET, STDIN_CAP);
      this.outArea = new Uint8Array(sab, OUT_OFFSET, OUT_CAP);
    }
  }

  get interactive() {
    return this.sab !== null;
  }

  /** Queue stdin (the page's write()). */
  write(text) {
    if (this.eofSent || !text) return;
    const bytes = new TextEncoder().encode(text);
    const q = new Uint8Array(this.queue.length + bytes.length);
    q.set(this.queue);
    q.set(bytes, this.queue.length);
    this.queue = q;
    this.pump();
  }

  eof() {
    this.eofSent = true;
    this.pump();
  }

  /** Answer a waiting worker if we can. Called on every event that may change the answer. */
  pump() {
    if (!this.sab) return;
    if (Atomics.load(this.ctrl, STDIN_STATE) !== WAITING) return;
    if (this.stopped) {
      Atomics.store(this.ctrl, STDIN_STATE, CANCEL);
    } else if (this.queue.length > 0) {
      const n = Math.min(this.queue.length, STDIN_CAP);
      this.stdinArea.set(this.queue.subarray(0, n));
      this.queue = this.queue.slice(n);
      Atomics.store(this.ctrl, STDIN_LEN, n);
      Atomics.store(this.ctrl, STDIN_STATE, DATA);
      this.wantedSignalled = false;
    } else if (this.eofSent) {
      Atomics.store(this.ctrl, STDIN_STATE, EOF);
    } else {
      if (!this.wantedSignalled) {
        this.wantedSignalled = true;
        this.drain(); // the prompt first, then "input wanted"
        this.onInputWanted();
      }
      return;
    }
    Atomics.notify(this.ctrl, STDIN_STATE);
  }

  /** Stop: the worker drops output, a blocked stdin read returns, Pyodide gets SIGINT. */
  stop() {
    this.stopped = true;
    if (!this.sab) return;
    Atomics.store(this.ctrl, STOP, 1);
    Atomics.notify(this.ctrl, STOP);
    this.interrupt[0] = 2;
    this.pump();
  }

  /** Move the worker's output to onOutput. force: the worker is gone, ignore its lock. */
  drain(force = false) {
    if (!this.sab) return;
    if (Atomics.compareExchange(this.ctrl, OUT_LOCK, 0, 1) !== 0 && !force) return;
    const used = Atomics.load(this.ctrl, OUT_USED);
    const chunk = this.outArea.slice(0, used);
    Atomics.store(this.ctrl, OUT_USED, 0);
    Atomics.store(this.ctrl, OUT_LOCK, 0);
    Atomics.notify(this.ctrl, OUT_USED);
    Atomics.notify(this.ctrl, OUT_LOCK);
    // Consecutive records of one stream go to the page as one piece of text.
    const view = new DataView(chunk.buffer);
    let run = null; // [stream, parts]
    const flush = () => {
      if (!run) return;
      const [stream, parts] = run;
      const n = parts.reduce((a, p) => a + p.length, 0);
      const bytes = new Uint8Array(n);
      let o = 0;
      for (const p of parts) {
        bytes.set(p, o);
        o += p.length;
      }
      this.emit(stream, bytes);
      run = null;
    };
    for (let i = 0; i + 5 <= used; ) {
      const stream = chunk[i];
      const len = view.getUint32(i + 1, true);
      if (run && run[0] !== stream) flush();
      if (!run) run = [stream, []];
      run[1].push(chunk.subarray(i + 5, i + 5 + len));
      i += 5 + len;
    }
    flush();
  }

  /** Output that came by postMessage (no shared memory). */
  emit(stream, bytes) {
    const text = this.decoders[stream].decode(bytes, { stream: true });
    if (text) this.onOutput(stream, text);
  }

  /** The end: flush the decoders' partial characters. */
  finish() {
    for (const s of [STDOUT, STDERR]) {
      const text = this.decoders[s].decode();
      if (text) this.onOutput(s, text);
    }
  }
}

/** Worker side. */
export class WorkerChannel {
  /**
   * @param {SharedArrayBuffer|null} sab
   * @param {string} stdinText  stdin given up front (only used without shared memory)
   * @param {(msg: object, transfer?: Transferable[]) => void} post  the worker's postMessage
   */
  constructor(sab, stdinText, post) {
    this.sab = sab;
    this.post = post;
    this.pending = new Uint8Array(0);
    if (sab) {
      this.ctrl = new Int32Array(sab, 0, CTRL_BYTES / 4);
      this.interrupt = new Uint8Array(sab, INTERRUPT_OFFSET, 4);
      this.stdinArea = new Uint8Array(sab, STDIN_OFFSET, STDIN_CAP);
      this.outArea = new Uint8Array(sab, OUT_OFFSET, OUT_CAP);
      this.outView = new DataView(sab, OUT_OFFSET, OUT_CAP);
    } else {
      this.pending = new TextEncoder().encode(stdinText || "");
      this.upfrontOnly = true;
    }
  }

  get stopRequested() {
    return this.sab ? Atomics.load(this.ctrl, STOP) !== 0 : false;
  }

  /** Append output (Uint8Array). Blocks while the page has not drained a full buffer. */
  write(stream, bytes) {
    if (!bytes.length) return;
    if (!this.sab) {
      const copy = bytes.slice();
      this.post({ type: "out", stream, bytes: copy }, [copy.buffer]);
      return;
    }
    const max = OUT_CAP - 5;
    for (let off = 0; off < bytes.length; ) {
      if (this.stopRequested) return;
      const n = Math.min(bytes.length - off, max);
      this.lock();
      const used = Atomics.load(this.ctrl, OUT_USED);
      if (used + 5 + n <= OUT_CAP) {
        this.outArea[used] = stream;
        this.outView.setUint32(used + 1, n, true);
        this.outArea.set(bytes.subarray(off, off + n), used + 5);
        Atomics.store(this.ctrl, OUT_USED, used + 5 + n);
        this.unlock();
        off += n;
      } else {
        this.unlock();
        Atomics.wait(this.ctrl, OUT_USED, used, 100);
      }
    }
  }

  lock() {
    while (Atomics.compareExchange(this.ctrl, OUT_LOCK, 0, 1) !== 0) {
      Atomics.wait(this.ctrl, OUT_LOCK, 1, 1);
    }
  }

  unlock() {
    Atomics.store(this.ctrl, OUT_LOCK, 0);
    Atomics.notify(this.ctrl, OUT_LOCK);
  }

  /**
   * Read up to max bytes of stdin, blocking until the page sends some.
   * @returns {Uint8Array|null} bytes (empty at EOF), or null when the run is being stopped
   */
  read(max) {
    if (this.pending.length > 0) {
      const n = Math.min(max, this.pending.length);
      const out = this.pending.slice(0, n);
      this.pending = this.pending.slice(n);
      return out;
    }
    if (!this.sab) return new Uint8Array(0);
    if (this.stopRequested) return null;
    Atomics.store(this.ctrl, STDIN_STATE, WAITING);
    this.post({ type: "stdin" });
    for (;;) {
      Atomics.wait(this.ctrl, STDIN_STATE, WAITING, 1000);
      const st = Atomics.load(this.ctrl, STDIN_STATE);
      if (st === WAITING) {
        if (this.stopRequested) return null;
        continue;
      }
      Atomics.store(this.ctrl, STDIN_STATE, IDLE);
      if (st === DATA) {
        const len = Atomics.load(this.ctrl, STDIN_LEN);
        this.pending = this.stdinArea.slice(0, len);
        return this.read(max);
      }
      if (st === EOF) return new Uint8Array(0);
      return null; // CANCEL
    }
  }

  /** Sleep without spinning (WASI poll_oneoff); wakes early on Stop. */
  sleep(ms) {
    if (!this.sab) {
      const end = performance.now() + ms;
      while (performance.now() < end) {
        /* no shared memory: spin */
      }
      return;
    }
    const end = performance.now() + ms;
    for (;;) {
      const left = end - performance.now();
      if (left <= 0 || this.stopRequested) return;
      Atomics.wait(this.ctrl, STOP, 0, Math.min(left, 100));
    }
  }
}
