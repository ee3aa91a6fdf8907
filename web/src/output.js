// The results pane: output chunks (stdout, stderr, compiler) in order, the status line in plain
// words, the run's numbers, and the files the program left in /box/out.

const $ = (id) => document.getElementById(id);

function fmtSeconds(s) {
  if (s == null || Number.isNaN(s)) return "";
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  return `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
}

function fmtBytes(n) {
  if (n == null) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1 << 20)).toFixed(1)} MB`;
}

function sigName(r) {
  const n = r.signal_name || { 9: "KILL", 11: "SEGV", 6: "ABRT", 8: "FPE", 15: "TERM", 13: "PIPE", 7: "BUS" }[r.signal];
  return n ? `SIG${n.replace(/^SIG/, "")}` : "";
}

// A result's status in plain words ("Time limit exceeded after 2 s"), never a bare code.
export function statusText(r) {
  if (!r) return "";
  const msg = r.message || "";
  const num = (re) => (msg.match(re) || [])[1];
  switch (r.status) {
    case "success":
      if (r.tests) return msg || "All tests passed";
      return r.exit_code != null ? `Finished: exit code ${r.exit_code}` : "Finished";
    case "compile_error": {
      if (r.compile && r.compile.status === "timeout") return "Compilation failed: the compiler ran out of time";
      const c = r.compile ? `${r.compile.error || ""}\n${r.compile.output || ""}` : "";
      const first = c.split("\n").find((l) => /\berror\b/i.test(l));
      return first ? `Compilation failed: ${first.trim().slice(0, 160)}` : "Compilation failed";
    }
    case "runtime_error":
      if (r.signal) return `Killed by signal ${r.signal} (${sigName(r) || "unknown"})`;
      if (r.reason === "signaled") return msg ? `Runtime error: ${msg}` : "Runtime error: the program crashed";
      if (r.tests) return msg || "The tests could not run";
      return r.exit_code != null ? `Runtime error: exit code ${r.exit_code}` : `Runtime error${msg ? `: ${msg}` : ""}`;
    case "timeout": {
      const lim = num(/([\d.]+) ?s\)/);
      const cpu = r.reason === "cpu_time" || /CPU/.test(msg);
      const after = lim ? `${lim} s` : fmtSeconds(r.execution_time);
      return `Time limit exceeded after ${after}${cpu ? " of CPU time" : ""}`;
    }
    case "memory_limit": {
      const mb = num(/\((\d+) ?MB\)/);
      return `Memory limit exceeded${mb ? ` (${mb} MB)` : ""}`;
    }
    case "output_limit": {
      const b = num(/\((\d+) bytes\)/);
      return `Output limit exceeded${b ? ` (${fmtBytes(Number(b))})` : ""}`;
    }
    case "cancelled":
      return "Stopped";
    case "test_failure":
      return msg || "Some tests did not pass";
    case "rejected":
      return `Refused by the server: ${msg}`;
    case "internal_error":
      return `The server failed to run it: ${msg || "internal error"}`;
    default:
      return msg || String(r.status || "Done");
  }
}

// The live view of a run's output. Chunks come in faster than a page can lay out text (a loop's
// print() every few microseconds), so:
// - append() only records: the chunk goes into the kept text (for "download all") and into the
//   segments of the live view, in JavaScript; one requestAnimationFrame callback then writes
//   what changed since the last frame into the DOM (one DOM update per frame, however many chunks);
// - the live view is capped (MAX_LINES lines, MAX_CHARS characters, MAX_SEGS spans): the earliest
//   part is dropped and a note at the top says "N earlier lines hidden — download all";
// - following the output is decided without reading layout: an IntersectionObserver watches a
//   1-px sentinel at the bottom of the pane; while it is in view (or after the user scrolled back
//   down to it) each frame scrolls to the end, whatever the height of what came in; the user
//   scrolling up (wheel, keys, scroll bar: a scroll event that goes up) stops following at once;
// - stdout, stderr, compiler output, notes and echoed input stay in the order they came;
// - NUL shows as "␀" (U+2400), terminal colour codes are dropped: the same for a live run and a
//   run reopened from the history, which goes through the same append().
export const OUTPUT_CAPS = { MAX_LINES: 5000, MAX_CHARS: 1 << 16, MAX_SEGS: 1500, SEG_CHARS: 8192, KEEP_CHARS: 1 << 25 };

export function createOutput() {
  const out = $("output");
  const status = $("status");
  const meta = $("run-meta");
  const where = $("ran-where");
  const files = $("files");
  const { MAX_LINES, MAX_CHARS, MAX_SEGS, SEG_CHARS, KEEP_CHARS } = OUTPUT_CAPS;
  let blobUrls = [];

  // The whole output as it came (for the download), up to KEEP_CHARS characters.
  let kept = [];
  let keptChars = 0;
  let keptCut = false;
  // The live view: segments {kind, text, lines, span} in order; span is null until rendered.
  let segs = [];
  let liveChars = 0;
  let liveLines = 0;
  let hiddenLines = 0;
  let hiddenChars = 0;
  let removed = []; // rendered spans trimmed away since the last frame
  let dirty = new Set(); // rendered segments whose text changed since the last frame
  let frame = 0;
  let follow = true;
  let hiddenNote = null;
  let lastTop = 0; // where the last frame left the scroll
  out.addEventListener("wheel", (e) => e.deltaY < 0 && (follow = false), { passive: true });
  out.addEventListener("scroll", () => {
    const top = out.scrollTop;
    if (top < lastTop - 1) follow = false;
    lastTop = top;
  }, { passive: true });
  const sentinel = document.createElement("span");
  sentinel.className = "tail";
  sentinel.setAttribute("aria-hidden", "true");
  if (typeof IntersectionObserver === "function") {
    new IntersectionObserver(
      (entries) => {
        const e = entries[entries.length - 1];
        if (e.rootBounds && e.rootBounds.height > 0) follow = e.isIntersecting;
      },
      { root: out, rootMargin: "0px 0px 8px 0px" },
    ).observe(sentinel);
  }

  const countLines = (t) => {
    let n = 0;
    for (let i = t.indexOf("\n"); i !== -1; i = t.indexOf("\n", i + 1)) n++;
    return n;
  };

  function keep(text) {
    if (keptCut) return;
    if (keptChars + text.length > KEEP_CHARS) {
      text = text.slice(0, KEEP_CHARS - keptChars);
      keptCut = true;
    }
    kept.push(text);
    keptChars += text.length;
  }

  // Into the segments (no DOM): the last one grows while it is of this kind and small.
  function push(kind, text) {
    while (text) {
      let last = segs[segs.length - 1];
      if (!last || last.kind !== kind || last.text.length >= SEG_CHARS) {
        last = { kind, text: "", lines: 0, span: null, cont: !!last && last.kind === kind };
        segs.push(last);
      }
      const piece = text.slice(0, SEG_CHARS - last.text.length);
      text = text.slice(piece.length);
      const n = countLines(piece);
      last.text += piece;
      last.lines += n;
      liveChars += piece.length;
      liveLines += n;
      if (last.span) dirty.add(last);
    }
    trim();
  }

  // Drop the earliest output past the caps (whole segments, then the front of the first one).
  function trim() {
    while (segs.length > 1 && (liveChars > MAX_CHARS || liveLines > MAX_LINES || segs.length > MAX_SEGS)) {
      const s = segs[0];
      const overChars = liveChars - MAX_CHARS;
      const overLines = liveLines - MAX_LINES;
      if (segs.length > MAX_SEGS || s.text.length <= overChars || (overLines > 0 && s.lines <= overLines)) {
        segs.shift();
        liveChars -= s.text.length;
        liveLines -= s.lines;
        hiddenChars += s.text.length;
        hiddenLines += s.lines;
        if (s.span) removed.push(s.span);
        dirty.delete(s);
        continue;
      }
      // Part of the first segment: past overChars characters and overLines line ends.
      let cut = Math.max(0, overChars);
      if (overLines > 0) {
        let i = -1;
        for (let k = 0; k < overLines; k++) i = s.text.indexOf("\n", i + 1);
        cut = Math.max(cut, i + 1);
      }
      const gone = s.text.slice(0, cut);
      const n = countLines(gone);
      s.text = s.text.slice(cut);
      s.lines -= n;
      liveChars -= cut;
      liveLines -= n;
      hiddenChars += cut;
      hiddenLines += n;
      if (s.span) dirty.add(s);
    }
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(render);
  }

  // One DOM update: what changed since the last frame, then (when following) the scroll.
  function render() {
    frame = 0;
    for (const sp of removed) sp.remove();
    removed = [];
    for (const s of dirty) {
      const t = s.span && s.span.firstChild;
      if (t && t.nodeType === Node.TEXT_NODE && s.span.childNodes.length === 1) t.data = s.text;
      else if (s.span) s.span.textContent = s.text;
    }
    dirty.clear();
    const frag = document.createDocumentFragment();
    for (let i = segs.length - 1; i >= 0 && !segs[i].span; i--) {
      const s = segs[i];
      s.span = document.createElement("span");
      s.span.className = s.cont ? `${s.kind} cont` : s.kind;
      s.span.append(document.createTextNode(s.text));
    }
    for (const s of segs) if (s.span && !s.span.isConnected) frag.append(s.span);
    if (frag.firstChild) {
      if (!sentinel.isConnected) out.append(sentinel);
      out.insertBefore(frag, sentinel);
    }
    showHidden();
    if (follow && segs.length) {
      out.scrollTop = out.scrollHeight;
      lastTop = out.scrollTop;
    }
  }

  function showHidden() {
    if (!hiddenLines && !hiddenChars) {
      if (hiddenNote) hiddenNote.remove();
      return;
    }
    if (!hiddenNote) {
      hiddenNote = document.createElement("span");
      hiddenNote.id = "output-hidden";
      hiddenNote.className = "hidden-note";
      const words = document.createElement("span");
      const b = document.createElement("button");
      b.type = "button";
      b.id = "output-download";
      b.className = "link-button";
      b.textContent = "download all";
      b.addEventListener("click", download);
      hiddenNote.append(words, " — ", b, "\n");
    }
    const what = hiddenLines ? `${hiddenLines.toLocaleString("en")} earlier line${hiddenLines === 1 ? "" : "s"}` : `${hiddenChars.toLocaleString("en")} earlier characters`;
    hiddenNote.firstChild.textContent = `${what} hidden`;
    if (hiddenNote.parentNode !== out || out.firstChild !== hiddenNote) out.prepend(hiddenNote);
  }

  // The whole output as a text file.
  function download() {
    const parts = keptCut ? [...kept, `\n[runbox: the page kept the first ${KEEP_CHARS} characters]\n`] : kept;
    const url = URL.createObjectURL(new Blob(parts, { type: "text/plain;charset=utf-8" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = "output.txt";
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function append(kind, text) {
    if (!text) return;
    // Terminal colour codes mean nothing here; NUL is shown, not swallowed.
    text = text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
    keep(text);
    push(kind, text.includes("\0") ? text.replace(/\0/g, "\u2400") : text);
    schedule();
  }

  // Everything appended so far, in the DOM now (before reading or rewriting the spans).
  function flush() {
    if (frame) cancelAnimationFrame(frame);
    render();
  }

  function note(text) {
    push("note", text);
    schedule();
  }

  function echo(text) {
    keep(text);
    push("echo", text);
    follow = true;
    schedule();
  }

  function clear() {
    clearInterval(ticker);
    if (frame) cancelAnimationFrame(frame);
    frame = 0;
    out.replaceChildren();
    kept = [];
    keptChars = 0;
    keptCut = false;
    segs = [];
    liveChars = liveLines = hiddenLines = hiddenChars = 0;
    removed = [];
    dirty.clear();
    follow = true;
    lastTop = 0;
    meta.textContent = "";
    where.hidden = true;
    for (const u of blobUrls) URL.revokeObjectURL(u);
    blobUrls = [];
    files.replaceChildren();
  }

  function setStatus(text, kind = "") {
    status.textContent = text;
    status.dataset.kind = kind;
  }

  function setWhere(w) {
    where.hidden = !w;
    where.textContent = w === "browser" ? "ran in your browser" : w === "server" ? "ran on the server" : "";
    where.dataset.where = w || "";
  }

  function setMeta(r) {
    if (!r) return (meta.textContent = "");
    const parts = [];
    if (r.exit_code != null) parts.push(`exit code ${r.exit_code}`);
    else if (r.signal) parts.push(`signal ${r.signal} (${sigName(r)})`);
    if (r.execution_time != null && !(r.status === "compile_error" && !r.execution_time))
      parts.push(`time ${fmtSeconds(r.execution_time)}`);
    if (r.cpu_time) parts.push(`CPU ${fmtSeconds(r.cpu_time)}`);
    if (r.memory_bytes) parts.push(`memory ${fmtBytes(r.memory_bytes)}`);
    if (r.compile && r.compile.execution_time != null)
      parts.push(`compile ${fmtSeconds(r.compile.execution_time)}${r.compile.cached ? " (cached)" : ""}`);
    if (r.where === "browser") parts.push(r.runtime === "pyodide" ? "Pyodide" : "WebAssembly");
    else if (r.version) parts.push(r.version);
    if (r.output_truncated) parts.push("output cut at the limit");
    meta.textContent = parts.join(" · ");
  }

  function b64bytes(b64) {
    const bin = atob(b64);
    const a = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) a[i] = bin.charCodeAt(i);
    return a;
  }

  // The raster image type @bytes start with (PNG, JPEG, GIF, WebP), or null: the file's name and
  // its "mime" are the program's claims, its bytes are what a browser would decode.
  function rasterType(bytes) {
    const at = (i, ...v) => v.every((b, k) => bytes[i + k] === b);
    if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "image/png";
    if (at(0, 0xff, 0xd8, 0xff)) return "image/jpeg";
    if (at(0, 0x47, 0x49, 0x46, 0x38)) return "image/gif";
    if (at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return "image/webp";
    return null;
  }

  function showFiles(list) {
    files.replaceChildren();
    if (!list || !list.length) return;
    const h = document.createElement("h2");
    h.className = "small-h";
    h.textContent = "Files the program wrote";
    files.append(h);
    for (const f of list) {
      const label = `${f.name} (${fmtBytes(f.size)})`;
      if (f.content == null) {
        const p = document.createElement("p");
        p.className = "file-omitted";
        p.textContent = `${label}: not returned${f.omitted ? ` (${f.omitted})` : ""}`;
        files.append(p);
        continue;
      }
      const bytes = f.encoding === "utf8" ? new TextEncoder().encode(f.content) : b64bytes(f.content);
      // A program's file is never shown as a document of this origin, where the viewer's token
      // lives: report.html or an SVG would run its script here. Every download is an opaque
      // application/octet-stream blob; only a raster image whose bytes are one is shown, as an
      // <img> (which runs no script).
      const raster = rasterType(bytes);
      const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
      blobUrls.push(url);
      const a = document.createElement("a");
      a.href = url;
      a.download = f.name.split("/").pop() || "file";
      a.textContent = `Download ${label}`;
      if (raster) {
        const imgUrl = URL.createObjectURL(new Blob([bytes], { type: raster }));
        blobUrls.push(imgUrl);
        const fig = document.createElement("figure");
        const img = document.createElement("img");
        img.src = imgUrl;
        img.alt = `Image the program wrote: ${f.name}`;
        const cap = document.createElement("figcaption");
        cap.append(`${f.name} · `, a);
        a.textContent = "download";
        fig.append(img, cap);
        files.append(fig);
      } else {
        const p = document.createElement("p");
        p.append(a);
        files.append(p);
      }
    }
  }

  // Everything of a finished result that streaming did not already show.
  function showResult(r, { streamed = true } = {}) {
    clearInterval(ticker);
    if (!streamed) {
      if (r.compile) {
        append("compile", r.compile.output || "");
        append("compile", r.compile.error || "");
      }
      append("stdout", r.output || "");
      append("stderr", r.error || "");
    }
    flush();
    setMeta(r);
    showFiles(r.files);
  }

  // While a run goes: the seconds so far (in #run-meta, which is not a live region).
  let ticker = 0;
  function startClock() {
    const t0 = performance.now();
    clearInterval(ticker);
    meta.textContent = "";
    ticker = setInterval(() => {
      const s = (performance.now() - t0) / 1000;
      if (s >= 1) meta.textContent = `running for ${Math.floor(s)} s`;
    }, 500);
  }
  function stopClock() {
    clearInterval(ticker);
  }

  // Make "file:line" places in stderr and compiler output into buttons that go there
  // (gcc's "main.c:3:5:", Python's 'File "/box/main.py", line 6', rustc's "--> src/main.rs:2:5").
  function linkPlaces(known, go) {
    flush();
    // The look-behind starts a name only where a run of name characters starts: without it a
    // long word ("yyyy…" of a 1 MB line) is tried from each of its characters, O(n²).
    const re = /(?:File "(?:\/box\/)?([^"\n]+)", line (\d+))|(?:(?<![\w./-])(?:\/box\/)?([\w./-]+\.\w+):(\d+)(?::(\d+))?)/g;
    for (const seg of segs) {
      const span = seg.span;
      if (!span || !/^(stderr|compile|stdout)$/.test(seg.kind)) continue;
      const text = span.textContent;
      if (!re.test(text)) continue;
      re.lastIndex = 0;
      const frag = document.createDocumentFragment();
      let last = 0;
      let any = false;
      for (let m; (m = re.exec(text)); ) {
        const file = m[1] || m[3];
        const line = Number(m[2] || m[4]);
        const col = Number(m[5] || 1);
        if (!known(file)) continue;
        any = true;
        frag.append(text.slice(last, m.index));
        const b = document.createElement("button");
        b.type = "button";
        b.className = "place";
        b.textContent = m[0];
        b.title = `Go to ${file}, line ${line}`;
        b.addEventListener("click", () => go(file, line, col));
        frag.append(b);
        last = m.index + m[0].length;
      }
      if (!any) continue;
      frag.append(text.slice(last));
      span.replaceChildren(frag);
    }
  }

  return { linkPlaces, startClock, stopClock, append, note, echo, clear, flush, download, setStatus, setWhere, setMeta, showFiles, showResult, statusText };
}

export { fmtSeconds, fmtBytes };
