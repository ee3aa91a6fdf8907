// Courses: the course and exercise pickers, the exercise's README (Markdown, sanitised), its
// starter files, Run Tests (a queued test run followed over SSE) and stale results.
import { marked } from "marked";
import DOMPurify from "dompurify";
import { createEventDecoder } from "./decode.js";

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

// What a course README may use: text, lists, tables, code, links and images. Nothing that runs,
// styles or places itself (no <style>, style=, class= or id= that would borrow the page's own
// classes or ids), and no form controls: a README cannot draw a fake log-in box over the page nor
// post anywhere (the CSP's form-action 'self' is the second lock).
const README_TAGS = [
  "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "a", "em", "strong", "b", "i", "u", "s",
  "del", "ins", "code", "pre", "kbd", "samp", "var", "sub", "sup", "mark", "small", "abbr", "q",
  "cite", "blockquote", "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot",
  "tr", "th", "td", "caption", "img", "figure", "figcaption", "details", "summary", "span", "div",
];
const README_ATTRS = ["href", "title", "alt", "src", "width", "height", "colspan", "rowspan", "start", "reversed", "open", "lang", "dir", "scope", "align"];
export const README_PURIFY = {
  ALLOWED_TAGS: README_TAGS,
  ALLOWED_ATTR: README_ATTRS,
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
  ALLOW_UNKNOWN_PROTOCOLS: false,
};

export function renderMarkdown(el, md) {
  el.innerHTML = DOMPurify.sanitize(marked.parse(md || "", { async: false }), README_PURIFY);
  // Links to other sites open in a new tab that cannot reach back to this one.
  for (const a of el.querySelectorAll("a[href]")) {
    let u;
    try {
      u = new URL(a.getAttribute("href"), location.href);
    } catch {
      a.removeAttribute("href");
      continue;
    }
    if (u.origin !== location.origin) {
      a.target = "_blank";
      a.rel = "noopener noreferrer";
    }
  }
}

// A short hash of files, to tell whether results belong to the code on screen.
export function filesKey(files) {
  let h = 5381;
  for (const f of files) {
    const s = `${f.name}\0${f.content}\0`;
    for (let i = 0; i < s.length; i++) h = ((h * 33) ^ s.charCodeAt(i)) >>> 0;
  }
  return h.toString(36);
}

// What went wrong in a test, without the traceback (which would show the hidden test's source):
// pytest's "E ..." lines and where the error was raised, else the message's first paragraph.
export function shortMessage(message) {
  const text = (message || "").trim();
  const lines = text.split("\n");
  const e = lines.filter((l) => /^E(\s|$)/.test(l)).map((l) => l.replace(/^E\s?\s*/, ""));
  if (e.length) {
    const at = lines.filter((l) => /^[\w./-]+:\d+: \S/.test(l)).pop();
    return e.join("\n") + (at ? `\n(at ${at.replace(/: \S.*$/, "")})` : "");
  }
  return text.split(/\n\s*\n/)[0].trim();
}

export function createCourses({ api, onOpen, onClose, onError }) {
  const courseSel = $("course-select");
  const exSel = $("exercise-select");
  const readmeBox = $("readme-box");
  const readme = $("readme");
  const tests = $("tests");
  const list = $("test-list");
  const summary = $("tests-summary");
  const staleNote = $("tests-stale");
  let courses = [];
  let exercises = [];
  let open = null; // {course, exercise: full JSON, runner}
  let testedKey = null;

  function option(value, text) {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    return o;
  }

  async function load() {
    try {
      const r = await api.get("/api/v1/courses");
      courses = r.courses || [];
    } catch (e) {
      courses = [];
      if (e.status !== 404) onError(`Cannot load the courses: ${e.describe ? e.describe() : e}`);
    }
    courseSel.replaceChildren(option("", courses.length ? "No course (playground)" : "No courses on this server"));
    for (const c of courses) courseSel.append(option(c.id, c.name || c.id));
    courseSel.disabled = !courses.length;
  }

  async function chooseCourse(id, exerciseSlug) {
    courseSel.value = id || "";
    exSel.replaceChildren(option("", id ? "Choose an exercise…" : "—"));
    exSel.disabled = true;
    exercises = [];
    if (!id) return closeExercise();
    try {
      const r = await api.get(`/api/v1/courses/${enc(id)}/exercises`);
      exercises = r.exercises || [];
    } catch (e) {
      onError(`Cannot load the exercises: ${e.describe ? e.describe() : e}`);
      return;
    }
    for (const x of exercises) exSel.append(option(x.slug, x.title || x.slug));
    exSel.disabled = false;
    const slug = exerciseSlug || (exercises[0] && exercises[0].slug);
    if (slug) await chooseExercise(slug);
  }

  async function chooseExercise(slug) {
    const c = courses.find((x) => x.id === courseSel.value);
    if (!slug || !c) return closeExercise();
    exSel.value = slug;
    let ex;
    try {
      ex = await api.get(`/api/v1/courses/${enc(c.id)}/exercises/${enc(slug)}`);
    } catch (e) {
      onError(`Cannot open the exercise: ${e.describe ? e.describe() : e}`);
      return;
    }
    const runner = (ex.runner && ex.runner.type) || (c.runner && c.runner.type) || "sandbox";
    open = { course: c, exercise: ex, runner };
    document.title = `${ex.title || slug} · runbox`;
    renderMarkdown(readme, ex.readme || `# ${ex.title || slug}`);
    readmeBox.hidden = false;
    $("run-tests").hidden = false;
    $("reset-starter").hidden = false;
    clearTests();
    const u = new URL(location.href);
    if (!u.pathname.startsWith("/r/")) {
      u.searchParams.set("course", c.id);
      u.searchParams.set("exercise", slug);
      history.replaceState(null, "", u);
    }
    onOpen(open);
  }

  function closeExercise() {
    const was = open;
    open = null;
    document.title = "runbox";
    readmeBox.hidden = true;
    readme.replaceChildren();
    $("run-tests").hidden = true;
    $("reset-starter").hidden = true;
    clearTests();
    const u = new URL(location.href);
    if (u.searchParams.has("course")) {
      u.searchParams.delete("course");
      u.searchParams.delete("exercise");
      history.replaceState(null, "", u);
    }
    if (was) onClose();
  }

  function clearTests() {
    tests.hidden = true;
    tests.classList.remove("stale");
    staleNote.hidden = true;
    list.replaceChildren();
    summary.textContent = "";
    testedKey = null;
  }

  function renderTests(t, running) {
    tests.hidden = false;
    list.replaceChildren();
    if (running) {
      const li = document.createElement("li");
      li.className = "test";
      li.dataset.status = "running";
      li.innerHTML = '<span class="test-icon" aria-hidden="true"></span><span class="test-name"></span>';
      li.querySelector(".test-name").textContent = `Running the tests (${running})…`;
      list.append(li);
      summary.textContent = "Running the tests…";
      return;
    }
    const all = (t && t.tests) || [];
    const label = { pass: "passed", fail: "failed", error: "error", skipped: "skipped", running: "running" };
    for (const x of all) {
      const li = document.createElement("li");
      li.className = "test";
      li.dataset.status = x.status;
      const icon = document.createElement("span");
      icon.className = "test-icon";
      icon.setAttribute("aria-hidden", "true");
      const st = document.createElement("span");
      st.className = "test-status";
      st.textContent = label[x.status] || x.status;
      const name = document.createElement("span");
      name.className = "test-name";
      name.textContent = x.name;
      li.append(icon, st, name);
      const msg = shortMessage(x.message);
      if (msg) {
        const m = document.createElement("pre");
        m.className = "test-message";
        m.textContent = msg;
        li.append(m);
      }
      if (x.output) {
        const d = document.createElement("details");
        const s = document.createElement("summary");
        s.textContent = "What the test printed";
        const p = document.createElement("pre");
        p.className = "test-output";
        p.textContent = x.output;
        d.append(s, p);
        li.append(d);
      }
      list.append(li);
    }
    const n = all.length;
    const passed = t ? t.passed ?? all.filter((x) => x.status === "pass").length : 0;
    if (!n) summary.textContent = (t && t.message) || "No test ran.";
    else {
      const failed = n - passed;
      summary.textContent = (failed ? `${passed} passed, ${failed} failed (${n} tests)` : `All ${n} test${n === 1 ? "" : "s"} passed`) +
        (t.running ? `; stopped while running ${t.running}` : "");
    }
    summary.dataset.allPass = String(n > 0 && passed === n);
  }

  // Run the exercise's tests over @files; on: the output callbacks. Resolves to the result.
  async function runTests(files, on, signal) {
    if (!open) throw new Error("no exercise is open");
    const key = filesKey(files);
    const path = `/api/v1/courses/${enc(open.course.id)}/exercises/${enc(open.exercise.slug)}/test`;
    tests.classList.remove("stale");
    staleNote.hidden = true;
    testedKey = null;
    renderTests(null, open.exercise.title || open.exercise.slug);
    const acc = await api.post(path, { json: { files }, query: { wait: "false" }, signal });
    on.queued?.(acc);
    let result = null;
    const decoder = createEventDecoder();
    try {
      await api.events(`/api/v1/code/runs/${acc.id}/events`, (type, data) => {
        if (type === "stage") on.stage?.(data.stage);
        else if (type === "stdout" || type === "stderr") {
          const text = decoder.text(data, `${data.stage === "compile" ? "compile" : "run"}:${type}`);
          if (data.stage === "compile") on.compile?.(text, type);
          else on[type]?.(text);
        } else if (type === "result") result = data;
        else if (type === "done") return false;
        return true;
      }, signal);
    } catch (e) {
      if (e.name === "AbortError") throw e;
      /* the stream broke: ask for the run below */
    }
    for (let i = 0; !result && i < 240; i++) {
      const run = await api.get(`/api/v1/code/runs/${acc.id}`, { signal });
      if (run.state === "done" && run.result) result = run.result;
      else await new Promise((r) => setTimeout(r, 500));
    }
    if (!result) throw new Error("The test run did not finish in time");
    if (result.id == null) result.id = acc.id;
    testedKey = key;
    tests.classList.remove("stale");
    staleNote.hidden = true;
    const t = result.tests;
    if (t && t.tests && t.tests.length) renderTests(t);
    else renderTests({ tests: [], message: result.status === "cancelled" ? "Stopped before any test finished." : (t && t.message) || result.message || "No test ran." });
    return result;
  }

  // The code changed: results shown for other code are stale.
  function codeChanged(files) {
    if (tests.hidden || testedKey == null) return;
    const stale = filesKey(files) !== testedKey;
    tests.classList.toggle("stale", stale);
    staleNote.hidden = !stale;
  }

  courseSel.addEventListener("change", () => chooseCourse(courseSel.value));
  exSel.addEventListener("change", () => chooseExercise(exSel.value));

  return {
    load,
    chooseCourse,
    chooseExercise,
    closeExercise,
    runTests,
    codeChanged,
    clearTests,
    current: () => open,
    renderTests,
    // Results of an earlier run over @files (reopened from the history).
    showTests(t, files) {
      renderTests(t);
      testedKey = filesKey(files);
      tests.classList.remove("stale");
      staleNote.hidden = true;
    },
  };
}
