// Pyodide loads ahead (body[data-pyodide], and a visible note) when Python may run in the browser.
import { preload } from "./browser/index.js";

const NOTES = {
  loading: "Loading Python for your browser…",
  ready: "Python ready in your browser",
  failed: "Python could not load in your browser: runs go to the server",
};

export function createPreloader() {
  let started = false;
  const note = document.getElementById("runtime-note");

  function show(state) {
    document.body.dataset.pyodide = state;
    note.hidden = false;
    note.dataset.state = state;
    note.textContent = NOTES[state];
  }

  // @choice: what chooseWhere() said about the next run.
  return function maybePreload(choice) {
    if (started || choice.where !== "browser" || choice.runtime !== "pyodide") return;
    started = true;
    show("loading");
    try {
      Promise.resolve(preload("pyodide")).then(() => show("ready"), () => show("failed"));
    } catch {
      show("failed");
    }
  };
}
