// Pyodide loads ahead (body[data-pyodide], and a visible note) when Python may run in the browser.
// Beside Run (#run-versions): which Python the next run gets, the server's (the language's
// version, from GET /api/v1/code/languages) or the browser's (Pyodide's), both when they differ.
import { languageBase } from "./editor.js";
import { preload, browserPython } from "./browser/index.js";

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

  const versions = document.getElementById("run-versions");
  let last = null; // [choice, language]

  // "3.11" from "Python 3.11.2" or "3.11.3"; "" when there is none.
  const minor = (v) => ((v || "").match(/(\d+\.\d+)/) || [])[1] || "";

  function showVersions(choice, language) {
    last = [choice, language];
    if (!versions) return;
    const python = language && (languageBase(language) === "python" || (language.browser && language.browser.runtime === "pyodide"));
    versions.hidden = !python;
    if (!python) return;
    const server = minor(language.version);
    const browser = minor(browserPython().python);
    const where = choice.where === "browser" ? "browser" : "server";
    versions.dataset.server = server;
    versions.dataset.browser = browser;
    versions.dataset.where = where;
    if (server && browser && server !== browser) {
      versions.textContent = `Python ${server} · server, Python ${browser} · browser`;
      versions.title = "The server and your browser run different Pythons: the same code may behave differently";
    } else {
      const v = where === "browser" ? browser || server : server || browser;
      versions.textContent = v ? `Python ${v} · ${where}` : `Python · ${where}`;
      versions.title = `Runs in Python ${v || ""} ${where === "browser" ? "in your browser (Pyodide)" : "on the server"}`;
    }
  }

  // @choice: what chooseWhere() said about the next run; @language: the page's language.
  return function maybePreload(choice, language) {
    showVersions(choice, language);
    if (started || choice.where !== "browser" || choice.runtime !== "pyodide") return;
    started = true;
    show("loading");
    try {
      Promise.resolve(preload("pyodide")).then(
        () => {
          show("ready");
          if (last) showVersions(...last); // Pyodide's own sys.version_info now
        },
        () => show("failed"),
      );
    } catch {
      show("failed");
    }
  };
}
