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

// Syntax by file extension, else by the language's name. The language modes are loaded on first
// use (import(): chunks of their own, not in the page's first load); until then the file shows
// without colours, and the editor is reconfigured when its mode arrives.
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
const modes = new Map(); // kind -> extension, once loaded
const pending = new Map(); // kind -> Promise

function syntaxKind(name, language) {
  const ext = (name.match(/\.([^.]+)$/) || [])[1] || "";
  const byExt = {
    py: "python", js: "javascript", mjs: "javascript", cjs: "javascript", ts: "typescript",
    java: "java", c: "cpp", h: "cpp", cc: "cpp", cpp: "cpp", cxx: "cpp", hpp: "cpp", rs: "rust",
    go: "go", sh: "bash", bash: "bash",
  };
  const kind = byExt[ext] || (ext ? "" : language === "c" ? "cpp" : language);
  return MODES[kind] ? kind : "";
}

/** The syntax extension for @kind if loaded; else [] and its load started (then @loaded()). */
function syntaxFor(kind, loaded) {
  if (!kind) return [];
  if (modes.has(kind)) return modes.get(kind);
  if (!pending.has(kind)) {
    pending.set(
      kind,
      MODES[kind]().then(
        (ext) => modes.set(kind, ext),
        () => modes.set(kind, []), // offline, or the chunk is gone: plain text
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

export function createEditor({ mount, tabs, plainToggle, onChange, onRun }) {
  const syntax = new Compartment();
  const theme = new Compartment();
  const ro = new Compartment();
  let files = []; // {name, state}
  let active = 0;
  let language = "";
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
      indentUnit.of(/\.go$/.test(name) || (!/\.\w+$/.test(name) && language === "go") ? "\t" : "    "),
      syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
      keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...foldKeymap, indentWithTab]),
      syntax.of(syntaxFor(syntaxKind(name, language), modeLoaded)),
      theme.of(dark ? oneDark : lightTheme),
      ro.of([EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)]),
      EditorView.contentAttributes.of({ "aria-label": `Code: ${name}` }),
      changed,
    ];
  }

  const view = new EditorView({ parent: mount });

  // A language mode arrived: the file on screen gets its colours (others get them when shown).
  function modeLoaded() {
    const f = files[active];
    if (f && modes.has(syntaxKind(f.name, language))) {
      view.dispatch({ effects: syntax.reconfigure(modes.get(syntaxKind(f.name, language))) });
    }
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
    view.dispatch({
      effects: [
        syntax.reconfigure(syntaxFor(syntaxKind(f.name, language), modeLoaded)),
        theme.reconfigure(dark ? oneDark : lightTheme),
        ro.reconfigure([EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)]),
      ],
    });
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
    setLanguage(name) {
      language = name;
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
