// Files: the + File and Rename buttons, and the files of a stored run.
const $ = (id) => document.getElementById(id);
const NAME = /^[\w.-][\w./-]*$/;

function checkName(name, editor) {
  return NAME.test(name) && !name.includes("..") && !editor.hasFile(name);
}

// Ask for a file name in the page's <dialog> (Enter confirms, Escape cancels): resolves to the
// name, or null. @check(name) returns an error message, or "" when the name will do.
export function askName({ title, label = "File name", value = "", ok = "OK", check }) {
  const dlg = $("name-dialog");
  const input = $("name-dialog-input");
  const err = $("name-dialog-error");
  $("name-dialog-title").textContent = title;
  dlg.querySelector('label[for="name-dialog-input"]').textContent = label;
  $("name-dialog-ok").textContent = ok;
  input.value = value;
  err.hidden = true;
  const back = document.activeElement;
  return new Promise((resolve) => {
    const form = $("name-dialog-form");
    const finish = (result) => {
      form.removeEventListener("submit", onSubmit);
      $("name-dialog-cancel").removeEventListener("click", onCancel);
      dlg.removeEventListener("cancel", onCancel);
      if (dlg.open) dlg.close();
      if (back && back.focus) back.focus();
      resolve(result);
    };
    const onSubmit = (e) => {
      e.preventDefault();
      const name = input.value.trim();
      const why = name ? check(name) : "Give a name.";
      if (why) {
        err.textContent = why;
        err.hidden = false;
        input.focus();
        return;
      }
      finish(name);
    };
    const onCancel = (e) => {
      e.preventDefault();
      finish(null);
    };
    form.addEventListener("submit", onSubmit);
    $("name-dialog-cancel").addEventListener("click", onCancel);
    dlg.addEventListener("cancel", onCancel); // Escape
    dlg.showModal();
    input.focus();
    input.select();
  });
}

const BAD_NAME = "Use letters, digits, . - _ and /, and a name not already open.";

export function wireFileButtons({ editor }) {
  $("add-file").addEventListener("click", async () => {
    const name = await askName({ title: "New file", ok: "Add", check: (n) => (checkName(n, editor) ? "" : `Cannot add "${n}": ${BAD_NAME}`) });
    if (name) editor.addFile(name);
  });
  $("rename-file").addEventListener("click", async () => {
    const old = editor.activeName();
    const name = await askName({
      title: `Rename ${old}`, label: "New name", value: old, ok: "Rename",
      check: (n) => (n === old || checkName(n, editor) ? "" : `Cannot rename to "${n}": ${BAD_NAME}`),
    });
    if (name && name !== old) editor.renameActive(name);
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
