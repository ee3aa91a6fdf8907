// The page: wires the API client, the editor, runs, output, courses, history, auth and theme.
import { createApi } from "./api.js";
import { createEditor } from "./editor.js";
import { createOutput, statusText } from "./output.js";
import { chooseWhere } from "./run.js";
import { createRunner } from "./runner.js";
import { createTerminal, isStopKey } from "./terminal.js";
import { wireFileButtons, runFiles, argsLine } from "./files.js";
import { createPreloader } from "./preload.js";
import { createCourses } from "./course.js";
import { createHistory } from "./history.js";
import { createAuth } from "./auth.js";
import { initTheme } from "./theme.js";
import { starterFiles } from "./starters.js";
import { createDrafts } from "./drafts.js";
import { createPicker, languageLabel } from "./picker.js";

const $ = (id) => document.getElementById(id);
const body = document.body;

const api = createApi();
const output = createOutput();
const drafts = createDrafts();

let languages = [];
let language = null; // the language entry in use
let lastRunId = null;
let readonly = false;
let booted = false;

const langByName = (n) => languages.find((l) => l.name === n || (l.aliases || []).includes(n));

function setState(s) {
  if (s === "running") output.startClock();
  else output.stopClock();
  body.dataset.runState = s;
  const running = s === "running";
  $("run").disabled = running || !language;
  $("stop").disabled = !running;
  $("run-tests").disabled = running;
  $("input-form").hidden = !running || !$("terminal-box").hidden; // a terminal run types there
  $("share").disabled = running || lastRunId == null;
}

function fail(message) {
  output.setStatus(message, "error");
}

// --- the editor and drafts ---

let saveTimer = 0;
let dirtyKey = null; // the draft the pending save belongs to
const editor = createEditor({
  mount: $("editor"),
  tabs: $("tabs"),
  plainToggle: $("plain-toggle"),
  onRun: () => runner.run(),
  onChange() {
    if (readonly) return;
    dirtyKey = draftKey();
    clearTimeout(saveTimer);
    saveTimer = setTimeout(flushDraft, 300);
  },
});

// Save the pending draft now (before the editor shows other files).
function flushDraft() {
  clearTimeout(saveTimer);
  if (dirtyKey == null) return;
  const files = editor.getFiles();
  drafts.save(dirtyKey, files, editor.activeName());
  dirtyKey = null;
  courses.codeChanged(files);
}

function draftKey() {
  const ex = courses.current();
  if (ex) return `ex:${ex.course.id}/${ex.exercise.slug}`;
  return `lang:${language ? language.name : ""}`;
}

function loadFiles(starter) {
  flushDraft();
  const d = drafts.load(draftKey());
  if (d && d.files && d.files.length) editor.setFiles(d.files, d.active);
  else editor.setFiles(starter);
}

// --- languages ---

// #language: the picker (src/picker.js); its data-value is the chosen language's name.
const picker = createPicker({
  input: $("language"),
  list: $("language-list"),
  onPick(name) {
    flushDraft();
    useLanguage(name);
  },
});

async function loadLanguages() {
  const r = await api.get("/api/v1/code/languages");
  languages = (r.languages || []).filter((l) => l.installed !== false);
  picker.setLanguages(languages);
  if (!languages.length) {
    $("language").value = "No language installed on this server";
    $("language").disabled = true;
    fail("This server has no language installed: nothing can run.");
    return;
  }
  $("language").disabled = false;
}

function useLanguage(name, { keepFiles = false } = {}) {
  language = langByName(name) || languages[0] || null;
  if (!language) return;
  picker.set(language.name);
  localStorage.setItem("runbox.language", language.name);
  editor.setLanguage(language);
  const lim = language.limits && language.limits.wall_time;
  $("limit-wall").placeholder = lim ? `${lim} (default)` : "default";
  if (!keepFiles) loadFiles(starterFiles(language));
  maybePreload();
  setState(body.dataset.runState === "running" ? "running" : body.dataset.runState);
}

// --- in the browser: Pyodide preloads when Python may run there ---

const preloader = createPreloader();
function maybePreload() {
  if (!language) return;
  const ex = courses.current();
  preloader(chooseWhere({ where: $("where").value, language, exerciseRunner: ex && ex.runner }), language);
}
$("where").addEventListener("change", () => {
  localStorage.setItem("runbox.where", $("where").value);
  maybePreload();
});

// --- courses ---

const courses = createCourses({
  api,
  onError: fail,
  onOpen(open) {
    const lang = langByName(open.course.language || open.exercise.language);
    if (lang) {
      language = lang;
      picker.set(lang.name);
      editor.setLanguage(lang);
    }
    $("language").disabled = true;
    $("language").title = "The course sets the language";
    loadFiles(open.exercise.files && open.exercise.files.length ? open.exercise.files : starterFiles(language));
    output.setStatus(`Opened "${open.exercise.title || open.exercise.slug}"${open.runner === "wasm" ? " (runs in your browser)" : ""}.`);
    maybePreload();
  },
  onClose() {
    $("language").disabled = !languages.length;
    $("language").title = "";
    useLanguage(localStorage.getItem("runbox.language") || (language && language.name));
  },
});

$("reset-starter").addEventListener("click", () => {
  const ex = courses.current();
  if (!ex || !confirm("Replace your code with the exercise's starter files?")) return;
  drafts.remove(draftKey());
  editor.setFiles(ex.exercise.files || []);
  courses.codeChanged(editor.getFiles());
});

// --- Run / Stop / Run Tests ---

const terminal = createTerminal({
  api,
  onData: (d) => runner.typed(d),
  onEof: () => runner.typedEof(),
  places: {
    known: (f) => !readonly && editor.hasFile(f),
    go: (f, line, col) => editor.goto(f, line, col),
  },
});

const runner = createRunner({
  api, editor, output, terminal,
  courses,
  language: () => language,
  where: () => $("where").value,
  setState,
  fail,
  finished(result, where) {
    linkPlaces();
    lastRunId = where === "server" && result.id != null ? result.id : null;
    hideShare();
    historyPanel.refresh();
  },
});

// "main.c:3:5" in the output goes to that place in the editor.
function linkPlaces() {
  if (readonly) return;
  output.linkPlaces((f) => editor.hasFile(f), (f, line, col) => editor.goto(f, line, col));
}

$("run").addEventListener("click", () => runner.run());
$("stop").addEventListener("click", () => runner.stop());
$("run-tests").addEventListener("click", () => runner.runTests());
$("clear-output").addEventListener("click", () => {
  if (body.dataset.runState === "running") return;
  output.clear();
  terminal.show(false);
});
// Ctrl/Cmd+Enter also runs from the run's fields.
document.addEventListener("keydown", (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === "Enter" && !e.defaultPrevented && ["stdin", "args", "limit-wall"].includes(e.target.id)) {
    e.preventDefault();
    runner.run();
  }
});

// Ctrl+. (Cmd+.) stops a run from anywhere on the page, the terminal included (where Ctrl+C is
// the program's: SIGINT).
document.addEventListener(
  "keydown",
  (e) => {
    if (!isStopKey(e) || !runner.busy()) return;
    e.preventDefault();
    e.stopPropagation();
    runner.stop();
  },
  true,
);

// #terminal-toggle: interactive server runs in the terminal (default) or on pipes (#output and
// #input-line: stdout and stderr apart, a line at a time).
$("terminal-toggle").checked = localStorage.getItem("runbox.terminal") !== "0";
$("terminal-toggle").addEventListener("change", () => localStorage.setItem("runbox.terminal", $("terminal-toggle").checked ? "1" : "0"));

// Hooks for the end-to-end tests (web/README.md).
window.__runbox = {
  terminalText: () => terminal.text(),
  terminalCell: (needle) => terminal.cellStyle(needle),
  terminalStats: () => terminal.stats(),
  terminalSize: () => terminal.size(),
};

wireFileButtons({ editor, fail });

// --- history, share, /r/{id} ---

const historyPanel = createHistory({
  api,
  languageName: (n) => (langByName(n) && languageLabel(langByName(n))) || n,
  currentLanguage: () => (language ? language.name : ""),
  onError: fail,
  onOpen: (run) => showRun(run, { readonly: false }),
});

function hideShare() {
  $("share-link").hidden = true;
  $("share-copy").hidden = true;
  $("share-note").hidden = true;
  $("share").disabled = lastRunId == null;
  $("share").title = lastRunId == null ? "Only a run on the server can be shared (runs in your browser are not stored)" : "Make a link anyone on this server can open";
}

$("share").addEventListener("click", async () => {
  if (lastRunId == null) return;
  try {
    await historyPanel.share(lastRunId);
  } catch (e) {
    fail(`Cannot share this run: ${e.describe ? e.describe() : e}`);
  }
});

async function showRun(run, { readonly: ro }) {
  flushDraft();
  const q = run.request || {};
  // A test run of an exercise reopens in that exercise (when this server still has it).
  const inCourse = !ro && q.course && q.exercise && (await courses.chooseCourse(q.course, q.exercise), courses.current());
  if (!inCourse && courses.current()) courses.closeExercise();
  const l = langByName(run.language);
  if (l) {
    language = l;
    picker.set(l.name);
    editor.setLanguage(l);
  }
  setReadonly(ro, run);
  editor.setFiles(runFiles(run, l));
  $("stdin").value = q.stdin || "";
  $("args").value = argsLine(q.args);
  $("limit-wall").value = q.limits && q.limits.wall_time ? q.limits.wall_time : "";
  output.clear();
  if (run.result) {
    output.showResult(run.result, { streamed: false });
    linkPlaces();
    output.setWhere("server");
    output.setStatus(`${ro ? "Shared run" : `Run ${run.id}`}: ${statusText(run.result)}`, run.result.status === "success" ? "ok" : "bad");
    if (run.result.tests) courses.showTests(run.result.tests, runFiles(run, l));
  } else {
    output.setStatus(`Run ${run.id} has no result (${run.state || "unknown"}).`);
  }
  lastRunId = ro ? null : run.id;
  hideShare();
  setState("done");
}

function setReadonly(on, run) {
  readonly = on;
  body.classList.toggle("readonly", on);
  $("readonly-banner").hidden = !on;
  editor.setReadOnly(on);
  for (const id of ["stdin", "args", "limit-wall"]) $(id).readOnly = on;
  $("language").disabled = on || !!courses.current() || !languages.length;
  for (const id of ["add-file", "rename-file", "course-select", "exercise-select"]) $(id).disabled = on || (id === "exercise-select" && !courses.current());
  if (on && run) {
    const l = langByName(run.language);
    const lang = (l && languageLabel(l)) || run.language;
    const at = run.created_at ? ` on ${new Date(run.created_at).toLocaleString()}` : "";
    $("readonly-what").textContent = run.shared_by
      ? `${run.shared_by} shared this ${lang} run (it ran${at}).`
      : `Someone shared this ${lang} run (it ran${at}).`;
  }
}

$("edit-copy").addEventListener("click", () => {
  const files = editor.getFiles();
  setReadonly(false);
  $("course-select").disabled = $("course-select").options.length < 2;
  history.replaceState(null, "", "/");
  drafts.save(draftKey(), files, editor.activeName());
  output.setStatus("This is your copy now: edit and run it.");
  editor.focus();
});

async function openShared(id) {
  try {
    const run = await historyPanel.fetchShared(id);
    await showRun(run, { readonly: true });
  } catch (e) {
    fail(e.status === 404 ? `There is no shared run ${id} (it may have been unshared or deleted).` : `Cannot open shared run ${id}: ${e.describe ? e.describe() : e}`);
  }
}

// --- start ---

initTheme((dark) => {
  editor.setDark(dark);
  terminal.setDark(dark);
});

// The plain text editor stays chosen (screen-reader users need it every time).
$("plain-toggle").addEventListener("change", () => localStorage.setItem("runbox.plain", $("plain-toggle").checked ? "1" : ""));
if (localStorage.getItem("runbox.plain") === "1") {
  $("plain-toggle").checked = true;
  $("plain-toggle").dispatchEvent(new Event("change"));
}

const auth = createAuth({
  api,
  onLoggedIn: () => boot(),
  onLoggedOut: () => {
    flushDraft(); // into the leaving user's drafts
    drafts.setOwner(null);
    editor.setFiles([{ name: editor.activeName() || "main", content: "" }]);
    clearTimeout(saveTimer); // the emptied editor is nobody's draft
    dirtyKey = null;
    body.dataset.ready = "0";
  },
});

async function boot() {
  output.setStatus("Loading…");
  let me;
  try {
    me = await auth.check();
  } catch (e) {
    return fail(`Cannot reach the server: ${e.describe ? e.describe() : e}`);
  }
  if (!me) {
    output.setStatus("Log in to run code.");
    return;
  }
  drafts.setOwner(me.id);
  try {
    await loadLanguages();
  } catch (e) {
    return fail(`Cannot load the languages: ${e.describe ? e.describe() : e}`);
  }
  if (!booted) {
    booted = true;
    const w = localStorage.getItem("runbox.where");
    if (w) $("where").value = w;
  }
  await courses.load();
  const params = new URL(location.href).searchParams;
  const shared = location.pathname.match(/^\/r\/([A-Za-z0-9_-]{1,64})\/?$/);
  useLanguage(params.get("language") || localStorage.getItem("runbox.language") || "python");
  if (shared) await openShared(shared[1]);
  else if (params.get("course")) await courses.chooseCourse(params.get("course"), params.get("exercise"));
  if (!shared && !params.get("course")) output.setStatus("Ready. Write code and press Run (Ctrl+Enter).");
  setState(body.dataset.runState);
  body.dataset.ready = "1";
}

setState("idle");
boot();
