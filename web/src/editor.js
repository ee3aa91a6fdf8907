// The code editor: CodeMirror 6 with one state per file (each keeps its own undo history), file
// tabs, and a plain <textarea> fallback (#plain-toggle) for screen readers and tests.
// Tab indents in CodeMirror; Esc then Tab moves focus on (CodeMirror's tab focus mode).
import { EditorState, Compartment } from "@codemirror/state";
import {
  EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter,
  drawSelection, highlightSpecialChars, dropCursor,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  indentOnInput, bracketMatching, syntaxHighlighting, defaultHighlightStyle, StreamLanguage,
  foldGutter, foldKeymap, indentUnit,
} from "@codemirror/language";
import { closeBrackets, closeBracketsKeymap } from "@codemirror/autocomplete";
import { oneDark } from "@codemirror/theme-one-dark";
import { classHighlighter } from "@lezer/highlight";
import legacyModes from "runbox:legacy-modes";

// Syntax: a language file's "highlight" ("FILE:EXPORT": the StreamParser EXPORT of
// @codemirror/legacy-modes/mode/FILE) for files with the language's extensions (or none), else
// the page's own modes (MODES) by file extension, else by the language's base name. Every mode is
// loaded on first use (import(): chunks of their own, not in the page's first load); until then
// the file shows without colours, and the editor is reconfigured when its mode arrives. A
// "highlight" this page does not have (an unknown FILE or EXPORT, or a chunk that fails to load)
// is plain text. #editor[data-highlight] names the mode of the file on screen ("python",
// "legacy:clike:kotlin", "" for none), data-highlight-state says "loading", "loaded", "plain".
const MODES = {
  python: () => import("@codemirror/lang-python").then((m) => m.python()),
  javascript: () => import("@codemirror/lang-javascript").then((m) => m.javascript()),
  typescript: () => import("@codemirror/lang-javascript").then((m) => m.javascript({ typescript: true })),
  java: () => import("@codemirror/lang-java").then((m) => m.java()),
  cpp: () => import("@codemirror/lang-cpp").then((m) => m.cpp()),
  rust: () => import("@codemirror/lang-rust").then((m) => m.rust()),
  go: () => import("@codemirror/legacy-modes/mode/go").then((m) => StreamLanguage.define(m.go)),
  bash: () => import("@codemirror/legacy-modes/mode/shell").then((m) => StreamLanguage.define(m.shell)),
};
const HIGHLIGHT = /^([a-z][a-z0-9-]*):([A-Za-z_][A-Za-z0-9_]*)$/;

/** The extension of a "legacy:FILE:EXPORT" kind; rejects when the page has no such mode. */
async function legacyMode(kind) {
  const [, file, name] = kind.slice("legacy:".length).match(HIGHLIGHT) || [];
  if (!file || !Object.hasOwn(legacyModes, file)) throw new Error(`no legacy mode ${file}`);
  const m = await legacyModes[file]();
  const parser = Object.hasOwn(m, name) ? m[name] : null;
  if (!parser || typeof parser !== "object" || typeof parser.token !== "function") throw new Error(`no ${name} in ${file}`);
  return StreamLanguage.define(parser);
}

const modes = new Map(); // kind -> extension ([] for one that failed), once loaded
const pending = new Map(); // kind -> Promise

/** The base of a language entry: its "base", else its name up to '@' (python@3.13 -> python). */
export function languageBase(language) {
  if (!language) return "";
  return language.base || String(language.name || "").split("@")[0];
}

function syntaxKind(name, language) {
  const ext = (name.match(/\.([^.]+)$/) || [])[1] || "";
  const own = !ext || ((language && language.extensions) || []).includes(`.${ext}`);
  if (own && language && typeof language.highlight === "string" && HIGHLIGHT.test(language.highlight)) {
    return `legacy:${language.highlight}`;
  }
  const byExt = {
    py: "python", js: "javascript", mjs: "javascript", cjs: "javascript", ts: "typescript",
    java: "java", c: "cpp", h: "cpp", cc: "cpp", cpp: "cpp", cxx: "cpp", hpp: "cpp", rs: "rust",
    go: "go", sh: "bash", bash: "bash",
  };
  const base = languageBase(language);
  const kind = byExt[ext] || (ext ? "" : base === "c" ? "cpp" : base);
  return Object.hasOwn(MODES, kind) ? kind : "";
}

/** The syntax extension for @kind if loaded; else [] and its load started (then @loaded()). */
function syntaxFor(kind, loaded) {
  if (!kind) return [];
  if (modes.has(kind)) return modes.get(kind);
  if (!pending.has(kind)) {
    const load = kind.startsWith("legacy:") ? () => legacyMode(kind) : MODES[kind];
    pending.set(
      kind,
      load().then(
        (ext) => modes.set(kind, ext),
        () => modes.set(kind, []), // not this page's, offline, or the chunk is gone: plain text
      ),
    );
  }
  pending.get(kind).then(loaded);
  return [];
}

const lightTheme = EditorView.theme({
  "&": { backgroundColor: "var(--code-bg)", color: "var(--fg)" },
  ".cm-gutters": { backgroundColor: "var(--code-gutter)", color: "var(--muted)", borderRight: "1px solid var(--border)" },
  ".cm-activeLine": { backgroundColor: "var(--code-active)" },
  ".cm-activeLineGutter": { backgroundColor: "var(--code-active)" },
}, { dark: false });

// One Dark brings its own highlight style; the light theme uses CodeMirror's default one.
const lightExt = [lightTheme, syntaxHighlighting(defaultHighlightStyle)];
const themeExt = (dark) => (dark ? oneDark : lightExt);

export function createEditor({ mount, tabs, plainToggle, onChange, onRun }) {
  const syntax = new Compartment();
  const theme = new Compartment();
  const ro = new Compartment();
  let files = []; // {name, state}
  let active = 0;
  let language = null; // the language entry ({name, base, extensions, highlight}) in use
  let dark = false;
  let readOnly = false;
  let plain = null; // the textarea while in plain mode

  const runKeys = keymap.of([
    { key: "Mod-Enter", run: () => (onRun(), true) },
  ]);

  const changed = EditorView.updateListener.of((u) => {
    if (u.docChanged) onChange();
  });

  function extensions(name) {
    return [
      runKeys,
      lineNumbers(), highlightActiveLineGutter(), highlightSpecialChars(), history(), foldGutter(),
      drawSelection(), dropCursor(), indentOnInput(), bracketMatching(), closeBrackets(),
      highlightActiveLine(), EditorState.tabSize.of(4),
      // Go is indented with tabs (gofmt), the others with four spaces.
      indentUnit.of(/\.go$/.test(name) || (!/\.\w+$/.test(name) && languageBase(language) === "go") ? "\t" : "    "),
      // Stable class names on the tokens (tok-keyword, tok-string, ...): the tests' hook. The
      // colours come with the theme (themeExt: not a fallback style, which this one would void).
      syntaxHighlighting(classHighlighter),
      keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...foldKeymap, indentWithTab]),
      syntax.of(syntaxFor(syntaxKind(name, language), modeLoaded)),
      theme.of(themeExt(dark)),
      ro.of([EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)]),
      EditorView.contentAttributes.of({ "aria-label": `Code: ${name}` }),
      changed,
    ];
  }

  const view = new EditorView({ parent: mount });

  // A language mode arrived: the file on screen gets its colours (others get them when shown).
  function modeLoaded() {
    const f = files[active];
    const kind = f ? syntaxKind(f.name, language) : "";
    if (f && modes.has(kind)) {
      view.dispatch({ effects: syntax.reconfigure(modes.get(kind)) });
      markMode(kind);
    }
  }

  // #editor[data-highlight], [data-highlight-state] (above).
  function markMode(kind) {
    mount.dataset.highlight = kind;
    const ext = modes.get(kind);
    mount.dataset.highlightState = !kind ? "plain" : !modes.has(kind) ? "loading" : Array.isArray(ext) && !ext.length ? "plain" : "loaded";
  }

  function newState(name, content) {
    return EditorState.create({ doc: content, extensions: extensions(name) });
  }

  function saveActive() {
    if (!files[active]) return;
    if (plain) {
      files[active].state = newState(files[active].name, plain.value);
    } else {
      files[active].state = view.state;
    }
  }

  function show(i) {
    active = Math.max(0, Math.min(i, files.length - 1));
    const f = files[active];
    if (!f) return;
    // Settings may have changed since this state was made.
    const st = f.state;
    view.setState(st);
    const kind = syntaxKind(f.name, language);
    view.dispatch({
      effects: [
        syntax.reconfigure(syntaxFor(kind, modeLoaded)),
        theme.reconfigure(themeExt(dark)),
        ro.reconfigure([EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)]),
      ],
    });
    markMode(kind);
    if (plain) plain.value = view.state.doc.toString();
    renderTabs();
  }

  function renderTabs() {
    tabs.replaceChildren(
      ...files.map((f, i) => {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "tab";
        b.dataset.file = f.name;
        b.setAttribute("role", "tab");
        b.setAttribute("aria-selected", String(i === active));
        b.tabIndex = i === active ? 0 : -1;
        b.textContent = f.name;
        b.addEventListener("click", () => select(i));
        b.addEventListener("keydown", (e) => {
          if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
            const n = (i + (e.key === "ArrowRight" ? 1 : files.length - 1)) % files.length;
            select(n);
            tabs.children[n]?.focus();
            e.preventDefault();
          }
        });
        return b;
      }),
    );
  }

  function select(i) {
    if (i === active) return;
    saveActive();
    show(i);
  }

  function setPlain(on) {
    saveActive();
    if (on && !plain) {
      plain = document.createElement("textarea");
      plain.id = "plain-code";
      plain.className = "plain-code";
      plain.spellcheck = false;
      plain.setAttribute("aria-label", "Code (plain text)");
      plain.addEventListener("input", () => onChange());
      plain.addEventListener("keydown", (e) => {
        if ((e.ctrlKey || e.metaKey) && e.key === "Enter") {
          e.preventDefault();
          onRun();
        }
      });
      view.dom.hidden = true;
      mount.append(plain);
    } else if (!on && plain) {
      plain.remove();
      plain = null;
      view.dom.hidden = false;
    }
    show(active);
    if (plain) plain.readOnly = readOnly;
  }

  plainToggle.addEventListener("change", () => setPlain(plainToggle.checked));

  return {
    setFiles(list, activeName) {
      files = list.map((f) => ({ name: f.name, state: newState(f.name, f.content) }));
      if (!files.length) files = [{ name: "main.txt", state: newState("main.txt", "") }];
      const i = Math.max(0, files.findIndex((f) => f.name === activeName));
      active = -1;
      show(i);
    },
    getFiles() {
      saveActive();
      return files.map((f) => ({ name: f.name, content: f.state.doc.toString() }));
    },
    activeName: () => files[active]?.name,
    // @entry: a language of GET /api/v1/code/languages (its name, base, extensions, highlight).
    setLanguage(entry) {
      language = typeof entry === "string" ? { name: entry } : entry || null;
      saveActive();
      show(active);
    },
    setDark(on) {
      dark = on;
      saveActive();
      show(active);
    },
    setReadOnly(on) {
      readOnly = on;
      saveActive();
      show(active);
      if (plain) plain.readOnly = on;
    },
    addFile(name, content = "") {
      saveActive();
      files.push({ name, state: newState(name, content) });
      show(files.length - 1);
      onChange();
    },
    renameActive(name) {
      saveActive();
      files[active].name = name;
      files[active].state = newState(name, files[active].state.doc.toString());
      show(active);
      onChange();
    },
    hasFile: (name) => files.some((f) => f.name === name),
    // Put the cursor on @line (1-based), @col of file @name; false when there is no such file.
    goto(name, line, col = 1) {
      const i = files.findIndex((f) => f.name === name);
      if (i < 0) return false;
      if (i !== active) select(i);
      if (plain) {
        const lines = plain.value.split("\n");
        const n = Math.min(Math.max(line, 1), lines.length);
        let pos = 0;
        for (let k = 0; k < n - 1; k++) pos += lines[k].length + 1;
        pos += Math.min(Math.max(col - 1, 0), lines[n - 1].length);
        plain.focus();
        plain.setSelectionRange(pos, pos);
        return true;
      }
      const doc = view.state.doc;
      const l = doc.line(Math.min(Math.max(line, 1), doc.lines));
      const pos = l.from + Math.min(Math.max(col - 1, 0), l.length);
      view.dispatch({ selection: { anchor: pos }, effects: EditorView.scrollIntoView(pos, { y: "center" }) });
      view.focus();
      return true;
    },
    focus() {
      (plain || view).focus();
    },
  };
}
