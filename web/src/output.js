// The results pane: output chunks (stdout, stderr, compiler) in order, the status line in plain
// words, the run's numbers, and the files the program left in /box/out.

const MAX_SHOWN = 1 << 21; // characters kept on the page; the rest is cut with a note

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

export function createOutput() {
  const out = $("output");
  const status = $("status");
  const meta = $("run-meta");
  const where = $("ran-where");
  const files = $("files");
  let shown = 0;
  let cut = false;
  let blobUrls = [];

  function append(kind, text) {
    if (!text) return;
    // Terminal colour codes mean nothing here.
    text = text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
    if (cut) return;
    if (shown + text.length > MAX_SHOWN) {
      text = text.slice(0, Math.max(0, MAX_SHOWN - shown));
      cut = true;
    }
    shown += text.length;
    const last = out.lastElementChild;
    if (last && last.className === kind) {
      last.append(text);
    } else {
      const s = document.createElement("span");
      s.className = kind;
      s.textContent = text;
      out.append(s);
    }
    if (cut) {
      const n = document.createElement("span");
      n.className = "note";
      n.textContent = "\n[The page shows the first 2 MB of output; the rest is cut here.]\n";
      out.append(n);
    }
    // Follow the output unless the user scrolled up to read.
    if (out.scrollHeight - out.scrollTop - out.clientHeight < 80) out.scrollTop = out.scrollHeight;
  }

  function note(text) {
    const n = document.createElement("span");
    n.className = "note";
    n.textContent = text;
    out.append(n);
  }

  function echo(text) {
    const s = document.createElement("span");
    s.className = "echo";
    s.textContent = text;
    out.append(s);
    out.scrollTop = out.scrollHeight;
  }

  function clear() {
    clearInterval(ticker);
    out.replaceChildren();
    shown = 0;
    cut = false;
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
    const re = /(?:File "(?:\/box\/)?([^"\n]+)", line (\d+))|(?:(?:\/box\/)?([\w./-]+\.\w+):(\d+)(?::(\d+))?)/g;
    for (const span of out.querySelectorAll("span.stderr, span.compile, span.stdout")) {
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

  return { linkPlaces, startClock, stopClock, append, note, echo, clear, setStatus, setWhere, setMeta, showFiles, showResult, statusText };
}

export { fmtSeconds, fmtBytes };
