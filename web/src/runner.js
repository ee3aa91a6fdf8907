// Run, Stop and Run Tests as the page does them: read the run's fields, pick where it runs
// (falling back to the server when the browser cannot), stream into the output, type into
// the running program, and report the result.
//
// Which view a run uses: a server run with no stdin given up front is interactive, and runs on
// a terminal (the box gives the program a tty; src/terminal.js shows it, keystrokes go to it),
// unless #terminal-toggle is off or the server refused "tty" once (then: pipes, as below).
// Every other run (stdin given up front: a batch run; in the browser; Run Tests) is on pipes:
// #output shows stdout and stderr apart, #input-line types a line at a time.
import { statusText } from "./output.js";
import { runOnServer, runHere, chooseWhere, splitArgs } from "./run.js";

const $ = (id) => document.getElementById(id);
const phone = () => matchMedia("(max-width: 820px)").matches;

const STAGES = {
  load: "Loading Python in your browser…",
  compile: "Compiling…",
  run: "Running…",
  running: "Running…",
  test: "Running the tests…",
};

// deps: api, editor, output, courses, language() (the entry in use), where() (#where's value),
// setState(state), fail(message), finished(result, where) (after a result is shown).
export function createRunner({ api, editor, output, terminal, courses, language, where, setState, fail, finished }) {
  let current = null; // { write, eof, stop } of the run in progress
  let busy = false;
  let stopRequested = false;
  let serverTty = true; // false once the server answered that it has no terminals

  function fields() {
    const wallText = $("limit-wall").value.trim();
    let wall = null;
    if (wallText) {
      wall = Number(wallText);
      if (!(wall > 0)) throw new Error("Time limit: give a number of seconds above 0, or leave it empty for the default.");
    }
    return { files: editor.getFiles(), args: splitArgs($("args").value.trim()), wall, stdin: $("stdin").value };
  }

  function callbacks() {
    return {
      stdout: (t) => output.append("stdout", t),
      stderr: (t) => output.append("stderr", t),
      compile: (t) => output.append("compile", t),
      queued: (ev) => ev && ev.position > 1 && output.setStatus(`Queued (position ${ev.position})…`),
      stage: (s) => STAGES[s] && output.setStatus(STAGES[s]),
      status: (t) => t && output.setStatus(t),
      inputWanted: () => $("input-line").focus(),
    };
  }

  // On a phone the output is below the editor: bring it into view when a run starts.
  function showOutput() {
    if (!phone()) return;
    const card = $("output").closest(".card");
    const r = card.getBoundingClientRect();
    if (r.top > innerHeight * 0.6 || r.bottom < 0) card.scrollIntoView({ block: "start", behavior: "smooth" });
  }

  function begin(status) {
    busy = true;
    stopRequested = false;
    output.clear();
    terminal.show(false);
    setState("running");
    output.setStatus(status);
  }

  function end() {
    current = null;
    busy = false;
    stopRequested = false;
    setState("done");
  }

  function report(result, ranWhere) {
    output.showResult(result);
    output.setWhere(ranWhere);
    output.setStatus(statusText(result), result.status === "success" ? "ok" : "bad");
    finished(result, ranWhere);
  }

  // A run in the browser; null when the browser could not run it (the output says why).
  async function inBrowser(lang, req) {
    const closeStdin = req.stdin !== "";
    try {
      const wallS = req.wall || (lang.limits && lang.limits.wall_time) || undefined;
      current = runHere({
        api, language: lang, files: req.files, stdin: req.stdin, args: req.args,
        wallLimitMs: wallS ? wallS * 1000 : undefined, on: callbacks(), closeStdin,
      });
      if (current.interactive === false || closeStdin) $("input-form").hidden = true;
      const result = await current.done;
      const cant = result && result.status === "internal_error" &&
        (result.reason === "unsupported_in_browser" || result.reason === "setup_failed");
      if (!cant || stopRequested) return result;
      throw new Error(result.message || "the browser runtime failed");
    } catch (e) {
      if (stopRequested) throw e;
      output.clear();
      output.note(`Your browser could not run this (${e.message || e}); running it on the server instead.\n`);
      current = null;
      $("input-form").hidden = closeStdin;
      return null;
    }
  }

  function terminalCallbacks() {
    return {
      ...callbacks(),
      stdout: (t) => terminal.write(t),
      // Only from a server that ran it on pipes after all: in red, in order of arrival; what is
      // typed is then echoed and edited by the terminal (line mode).
      stderr: (t) => {
        onPipes();
        terminal.write(`\x1b[31m${t}\x1b[39m`);
      },
      tty: (on) => on === false && onPipes(),
      stage: (s) =>
        (s === "run" || s === "running"
          ? output.setStatus("Running… Type in the terminal; Ctrl+C interrupts the program, Ctrl+. stops it.")
          : STAGES[s] && output.setStatus(STAGES[s])),
      inputWanted: () => terminal.focus(),
    };
  }

  // The terminal run is on pipes after all: the terminal echoes and edits lines itself, and the
  // page's next interactive runs go on pipes (#output, #input-line).
  function onPipes() {
    if (!serverTty) return;
    serverTty = false;
    terminal.lineMode(true);
  }

  // A run on the terminal; null when the server has none (it then runs on pipes).
  async function onTerminal(request) {
    $("input-form").hidden = true;
    const tty = await terminal.start({ resize: (rows, cols) => current?.resize?.(rows, cols) });
    current = runOnServer({ api, request: { ...request, tty }, on: terminalCallbacks() });
    try {
      const result = await current.done;
      // A program that ran, not on a terminal: a runner without terminals (Docker).
      const ran = result && result.status !== "compile_error" && (result.exit_code != null || result.signal != null);
      if (ran && result.tty !== true) onPipes();
      return result;
    } catch (e) {
      if (e.field !== "tty" || stopRequested) throw e;
      serverTty = false;
      terminal.finish();
      terminal.show(false);
      output.note(`This server gives programs no terminal (${e.message}): running on pipes; type into the line below.\n`);
      $("input-form").hidden = false;
      $("input-line").focus();
      return null;
    }
  }

  async function onServer(lang, req) {
    const request = { language: lang.name, files: req.files, stdin: req.stdin, args: req.args };
    if (req.wall) request.limits = { wall_time: req.wall };
    if (req.stdin === "" && serverTty && $("terminal-toggle").checked) {
      const r = await onTerminal(request);
      if (r) return r;
    }
    current = runOnServer({ api, request, on: callbacks(), closeStdin: req.stdin !== "" });
    return current.done;
  }

  async function run() {
    const lang = language();
    if (busy || !lang) return;
    let req;
    try {
      req = fields();
    } catch (e) {
      return fail(e.message);
    }
    begin("Running…");
    if (req.stdin !== "") $("input-form").hidden = true;
    showOutput();
    const ex = courses.current();
    const choice = chooseWhere({ where: where(), language: lang, exerciseRunner: ex && ex.runner });
    if (choice.why) output.note(`Running on the server: ${choice.why}.\n`);
    let result = null;
    try {
      result = choice.where === "browser" ? await inBrowser(lang, req) : null;
      const ran = result ? "browser" : "server";
      if (!result) result = await onServer(lang, req);
      report(result, ran);
    } catch (e) {
      fail(e.describe ? e.describe() : `Run failed: ${e.message || e}`);
    } finally {
      // Focus went into the terminal when the run started; it goes back to the editor only if
      // the user left it there.
      if (terminal.finish(result)) editor.focus();
      if (result && result.status === "compile_error") terminal.show(false); // the errors are in #output
      end();
    }
  }

  async function runTests() {
    if (busy || !courses.current()) return;
    const files = editor.getFiles();
    begin("Running the tests…");
    $("input-form").hidden = true;
    if (phone()) $("tests").scrollIntoView({ block: "start", behavior: "smooth" });
    const ctl = new AbortController();
    let id = null;
    current = {
      write() {},
      eof() {},
      stop: () => (id != null ? api.del(`/api/v1/code/runs/${id}`).catch(() => {}) : ctl.abort()),
    };
    try {
      const result = await courses.runTests(files, { ...callbacks(), queued: (acc) => (id = acc.id) }, ctl.signal);
      courses.codeChanged(editor.getFiles()); // edited while the tests ran?
      report(result, "server");
    } catch (e) {
      if (e.name === "AbortError") output.setStatus("Stopped");
      else fail(e.describe ? e.describe() : `Run Tests failed: ${e.message || e}`);
      courses.renderTests({ tests: [], message: "The tests did not run." });
    } finally {
      end();
    }
  }

  function stop() {
    if (!current) return;
    stopRequested = true;
    output.setStatus("Stopping…");
    current.stop();
  }

  // Typing into the running program.
  $("input-form").addEventListener("submit", (e) => {
    e.preventDefault();
    if (!current) return;
    const line = $("input-line").value;
    current.write(`${line}\n`);
    output.echo(`${line}\n`);
    $("input-line").value = "";
  });
  $("input-eof").addEventListener("click", () => {
    if (!current) return;
    current.eof();
    output.note("[end of input]\n");
    $("input-line").focus();
  });
  $("input-line").addEventListener("keydown", (e) => {
    if (e.key === "d" && e.ctrlKey && !$("input-line").value && current) {
      e.preventDefault();
      $("input-eof").click();
    }
  });

  // Keystrokes in the terminal go to the running program as they are (the tty echoes them).
  function typed(data) {
    if (current) current.write(data);
  }
  function typedEof() {
    if (current) current.eof();
  }

  return { run, runTests, stop, typed, typedEof, busy: () => busy };
}
