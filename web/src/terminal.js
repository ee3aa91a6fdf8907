// The terminal of a server run (xterm.js): the program's tty output is written into it, what the
// student types there goes to the program unchanged (the box's terminal echoes it, edits the line,
// turns Ctrl+C into SIGINT), and its size follows the pane (the program gets SIGWINCH).
//
// Theory of operation:
// - Output arrives in many small WebSocket messages. Each chunk is only pushed onto `pending`;
//   one requestAnimationFrame callback joins them and calls term.write() once per frame. xterm
//   parses the written data incrementally (in slices of a few ms, off the frame), and renders
//   only the rows on screen, so a program printing without end never blocks the page: the
//   main thread stays free for Stop, typing and scrolling.
// - The terminal keeps SCROLLBACK lines. Past that, the earliest lines fall off the top: the
//   count of lines received says when, and then #terminal-cut offers the whole output as a
//   download (kept here as the chunks received, up to KEEP_BYTES; the server's copy of the run
//   is the one fetched when that was exceeded).
// - The terminal is created on first use (xterm measures its cells in a visible element), and
//   xterm.js is imported then (a separate chunk where the build splits code: ~90 KB gzipped that
//   the first load does not need).

export const SCROLLBACK = 20000;
const KEEP_BYTES = 64 << 20;
const SR_KEY = "runbox.terminal.sr";

const $ = (id) => document.getElementById(id);

const LIGHT = {
  background: "#ffffff",
  foreground: "#1f2328",
  cursor: "#1f2328",
  cursorAccent: "#ffffff",
  selectionBackground: "#b6d3f5",
  black: "#1f2328",
  red: "#c4161c",
  green: "#116329",
  yellow: "#7d4e00",
  blue: "#0550ae",
  magenta: "#8250df",
  cyan: "#1b7c83",
  white: "#6e7781",
  brightBlack: "#57606a",
  brightRed: "#a40e26",
  brightGreen: "#1a7f37",
  brightYellow: "#633c01",
  brightBlue: "#218bff",
  brightMagenta: "#a475f9",
  brightCyan: "#3192aa",
  brightWhite: "#8c959f",
};
const DARK = {
  background: "#0d1117",
  foreground: "#e6edf3",
  cursor: "#e6edf3",
  cursorAccent: "#0d1117",
  selectionBackground: "#264f78",
};

// "main.c:3:5" (gcc), 'File "/box/main.py", line 6' (Python), "src/main.rs:2:5" (rustc): places in
// the program's files, which the terminal links to the editor (as #output does).
const PLACE = /(?:File "(?:\/box\/)?([^"\n]+)", line (\d+))|(?:(?:\/box\/)?([\w./-]+\.\w+):(\d+)(?::(\d+))?)/g;

// deps: onData(text) (keystrokes while a run goes), onEof() (Ctrl+D in line mode), api (the
// download of a run whose output was more than the page kept), places: { known(file),
// go(file, line, col) } (links to the editor). The stop shortcut (isStopKey) is the page's.
//
// Line mode (lineMode(true)): the run turned out to be on pipes after all (a server whose runner
// has no terminals answers a tty request so), so nothing echoes nor edits what is typed: the
// terminal does it here, like a tty's canonical mode: echo, backspace, Enter sends the line
// with "\n", Ctrl+D on an empty line ends the input, Ctrl+U clears the line.
export function createTerminal({ onData, onEof, api, places }) {
  const box = $("terminal-box");
  const mount = $("terminal");
  const cut = $("terminal-cut");
  const download = $("terminal-download");
  const sr = $("terminal-sr");
  let term = null;
  let fit = null;
  let active = false; // a run is attached: keystrokes go to it
  let pending = [];
  let frame = 0;
  let lines = 0; // "\n" received this run
  let received = 0; // characters received this run
  let parsed = 0; // characters xterm has parsed this run
  let chunks = 0; // write() calls this run (output events)
  let writes = 0; // term.write() calls this run (at most one per frame)
  let kept = [];
  let keptBytes = 0;
  let keptAll = true;
  let runId = null;
  let resultOutput = null;
  let dark = document.documentElement.dataset.theme === "dark";
  let onResize = null;
  let cooked = false; // line mode
  let line = "";

  sr.checked = localStorage.getItem(SR_KEY) === "1";
  sr.addEventListener("change", () => {
    localStorage.setItem(SR_KEY, sr.checked ? "1" : "");
    if (term) term.options.screenReaderMode = sr.checked;
  });

  async function create() {
    if (term) return;
    const [{ Terminal }, { FitAddon }] = await Promise.all([import("@xterm/xterm"), import("@xterm/addon-fit")]);
    if (term) return; // created meanwhile
    term = new Terminal({
      scrollback: SCROLLBACK,
      convertEol: true, // a server that ran it on pipes sends "\n" alone; "\r\n" stays as it is
      cursorBlink: false,
      disableStdin: true,
      fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace',
      fontSize: 14,
      screenReaderMode: sr.checked,
      theme: dark ? DARK : LIGHT,
    });
    fit = new FitAddon();
    term.loadAddon(fit);
    term.open(mount);
    // The textarea xterm types into is the terminal for assistive technology.
    term.textarea?.setAttribute("aria-label", "Terminal: type to the running program");
    // Keys the page keeps: the stop shortcut, and Tab / Shift+Tab move focus on (no keyboard
    // trap); every other key goes to the program, Ctrl+C included (SIGINT through the tty).
    term.attachCustomKeyEventHandler((e) => {
      if (isStopKey(e)) return false; // the document's handler stops the run
      if (e.key === "Tab") return false;
      return active;
    });
    term.onData((d) => {
      if (!active) return;
      if (cooked) edit(d);
      else onData(d);
    });
    term.onResize(({ rows, cols }) => onResize?.(rows, cols));
    if (places) term.registerLinkProvider({ provideLinks });
    new ResizeObserver(() => {
      if (!box.hidden) fitSoon();
    }).observe(mount);
  }

  // The places on buffer line y (1-based) as links (one row of a wrapped line: good enough).
  function provideLinks(y, callback) {
    const line = term.buffer.active.getLine(y - 1);
    const s = line ? line.translateToString(true) : "";
    const links = [];
    PLACE.lastIndex = 0;
    for (let m; (m = PLACE.exec(s)); ) {
      const file = m[1] || m[3];
      const ln = Number(m[2] || m[4]);
      const col = Number(m[5] || 1);
      if (!places.known(file)) continue;
      links.push({
        text: m[0],
        range: { start: { x: m.index + 1, y }, end: { x: m.index + m[0].length, y } },
        activate: () => places.go(file, ln, col),
        decorations: { underline: true, pointerCursor: true },
      });
    }
    callback(links.length ? links : undefined);
  }

  function edit(d) {
    for (const ch of d) {
      if (ch === "\r" || ch === "\n") {
        term.write("\r\n");
        onData(`${line}\n`);
        line = "";
      } else if (ch === "\x7f" || ch === "\b") {
        if (line) {
          line = [...line].slice(0, -1).join("");
          term.write("\b \b");
        }
      } else if (ch === "\x04") {
        if (!line) onEof();
      } else if (ch === "\x15") {
        term.write("\b \b".repeat([...line].length));
        line = "";
      } else if (ch >= " " || ch === "\t") {
        line += ch;
        term.write(ch);
      }
    }
  }

  let fitFrame = 0;
  function fitSoon() {
    if (fitFrame) return;
    fitFrame = requestAnimationFrame(() => {
      fitFrame = 0;
      try {
        fit.fit();
      } catch {
        /* not laid out */
      }
    });
  }

  function flush() {
    frame = 0;
    if (!pending.length) return;
    const data = pending.length === 1 ? pending[0] : pending.join("");
    pending = [];
    writes++;
    term.write(data, () => {
      parsed += data.length;
      mount.dataset.parsed = String(parsed);
    });
  }

  function show(on) {
    box.hidden = !on;
    box.closest(".out-card")?.classList.toggle("term-mode", on);
  }

  // A run starts in the terminal: cleared, shown, sized; resolves to its size for the request.
  async function start({ resize }) {
    show(true);
    await create();
    if (frame) cancelAnimationFrame(frame);
    frame = 0;
    pending = [];
    lines = received = parsed = keptBytes = chunks = writes = 0;
    kept = [];
    keptAll = true;
    runId = null;
    resultOutput = null;
    cut.hidden = true;
    term.reset();
    try {
      fit.fit();
    } catch {
      /* not laid out */
    }
    mount.dataset.parsed = "0";
    mount.dataset.lines = "0";
    mount.dataset.state = "running";
    active = true;
    term.options.disableStdin = false;
    term.options.cursorBlink = true;
    onResize = resize;
    cooked = false;
    line = "";
    term.focus();
    return { rows: term.rows, cols: term.cols };
  }

  function write(text) {
    if (!text || !term) return;
    chunks++;
    received += text.length;
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) lines++;
    mount.dataset.lines = String(lines);
    if (keptAll) {
      if (keptBytes + text.length <= KEEP_BYTES) {
        kept.push(text);
        keptBytes += text.length;
      } else {
        keptAll = false;
        kept = [];
      }
    }
    if (lines > SCROLLBACK && cut.hidden) cut.hidden = false;
    pending.push(text);
    if (!frame) frame = requestAnimationFrame(flush);
  }

  // The run ended: no more typing into it. Returns true when focus was in the terminal.
  function finish(result) {
    active = false;
    onResize = null;
    if (result) {
      runId = result.id ?? null;
      if (typeof result.output === "string") resultOutput = result.output;
    }
    if (!term) return false;
    term.options.disableStdin = true;
    term.options.cursorBlink = false;
    mount.dataset.state = "done";
    return hasFocus();
  }

  function hasFocus() {
    return !!term && mount.contains(document.activeElement);
  }

  async function fullOutput() {
    if (keptAll) return kept.join("");
    if (runId != null) {
      const run = await api.get(`/api/v1/code/runs/${runId}`);
      if (run && run.result && typeof run.result.output === "string") return run.result.output;
    }
    return resultOutput ?? "";
  }

  download.addEventListener("click", async () => {
    let text;
    try {
      text = await fullOutput();
    } catch (e) {
      text = `(the output could not be fetched: ${e.message || e})`;
    }
    const url = URL.createObjectURL(new Blob([text], { type: "application/octet-stream" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = runId != null ? `run-${runId}-output.txt` : "output.txt";
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  });

  // What the terminal holds, as text (its buffer, scrollback included; trailing blanks cut).
  function text() {
    if (!term) return "";
    const b = term.buffer.active;
    const out = [];
    for (let y = 0; y < b.length; y++) {
      const l = b.getLine(y);
      if (!l) continue;
      const s = l.translateToString(true);
      if (l.isWrapped && out.length) out[out.length - 1] += s;
      else out.push(s);
    }
    while (out.length && out[out.length - 1] === "") out.pop();
    return out.join("\n");
  }

  // The colour of the first cell of the first occurrence of `needle` on one line of the buffer:
  // { fg: palette index (0-15, 16-255) | "#rrggbb" | "default", bold }.
  function cellStyle(needle) {
    if (!term) return null;
    const b = term.buffer.active;
    for (let y = 0; y < b.length; y++) {
      const l = b.getLine(y);
      const x = l ? l.translateToString(false).indexOf(needle) : -1;
      if (x < 0) continue;
      const c = l.getCell(x);
      let fg = "default";
      if (c.isFgPalette()) fg = c.getFgColor();
      else if (c.isFgRGB()) fg = `#${c.getFgColor().toString(16).padStart(6, "0")}`;
      return { fg, bold: !!c.isBold() };
    }
    return null;
  }

  return {
    start,
    write,
    finish,
    hasFocus,
    show,
    text,
    cellStyle,
    focus: () => term?.focus(),
    size: () => (term ? { rows: term.rows, cols: term.cols } : null),
    lineMode(on) {
      cooked = on;
      line = "";
      mount.dataset.lineMode = on ? "1" : "";
    },
    stats: () => ({ lines, received, parsed, chunks, writes, pending: pending.length, scrollback: SCROLLBACK }),
    setDark(on) {
      dark = on;
      if (term) term.options.theme = on ? DARK : LIGHT;
    },
  };
}

// Ctrl+. (Cmd+. on a Mac): stop the run. Ctrl+C stays the program's (SIGINT).
export function isStopKey(e) {
  return e.type === "keydown" && (e.ctrlKey || e.metaKey) && !e.altKey && (e.key === "." || e.code === "Period");
}
