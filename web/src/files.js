// Files: the + File and Rename buttons, and the files of a stored run.
const $ = (id) => document.getElementById(id);
const NAME = /^[\w.-][\w./-]*$/;

function checkName(name, editor) {
  return NAME.test(name) && !name.includes("..") && !editor.hasFile(name);
}

export function wireFileButtons({ editor, fail }) {
  $("add-file").addEventListener("click", () => {
    const name = (prompt("New file name (e.g. util.py):") || "").trim();
    if (!name) return;
    if (!checkName(name, editor)) return fail(`Cannot add "${name}": use letters, digits, . - _ and /, and a name not already open.`);
    editor.addFile(name);
  });
  $("rename-file").addEventListener("click", () => {
    const old = editor.activeName();
    const name = (prompt(`Rename ${old} to:`, old) || "").trim();
    if (!name || name === old) return;
    if (!checkName(name, editor)) return fail(`Cannot rename to "${name}": use letters, digits, . - _ and /, and a name not already open.`);
    editor.renameActive(name);
  });
}

function b64text(b64) {
  return new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
}

// The files of a stored run's request (base64 ones decoded); @language: its language entry.
export function runFiles(run, language) {
  const q = run.request || {};
  let files = q.files;
  if (!files || !files.length) files = [{ name: (language && language.source_file) || "main.txt", content: run.code || q.code || "" }];
  return files.map((f) => ({ name: f.name, content: f.encoding === "base64" ? b64text(f.content) : f.content }));
}

// Program arguments back into one line that splitArgs() reads the same.
export function argsLine(args) {
  return (args || []).map((a) => (/[\s"'\\]/.test(a) || !a ? `"${a.replace(/(["\\])/g, "\\$1")}"` : a)).join(" ");
}
