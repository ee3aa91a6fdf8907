// The history panel (GET /api/v1/code/history), reopening a run, share links
// (PUT /api/v1/code/history/{id}/share answers the run's unguessable share_id) and a shared run
// opened at /r/{share_id} (GET /api/v1/code/shared/{share_id}).

const $ = (id) => document.getElementById(id);

const STATUS_WORDS = {
  success: "Finished",
  compile_error: "Compilation failed",
  runtime_error: "Runtime error",
  timeout: "Time limit exceeded",
  memory_limit: "Memory limit exceeded",
  output_limit: "Output limit exceeded",
  internal_error: "Server error",
  cancelled: "Stopped",
  test_failure: "Tests failed",
  rejected: "Refused",
};

export function statusWords(status, state) {
  if (!status) return state === "done" || !state ? "No result" : state === "queued" ? "Queued" : "Running";
  return STATUS_WORDS[status] || status;
}

function when(ms) {
  const d = new Date(ms);
  const ago = (Date.now() - ms) / 1000;
  if (ago < 60) return "just now";
  if (ago < 3600) return `${Math.round(ago / 60)} min ago`;
  if (ago < 86400) return `${Math.round(ago / 3600)} h ago`;
  return d.toLocaleString();
}

// The line that tells a run from the others: not blank, a comment, an import, an #include, a
// shebang nor the usual boilerplate (int main(void) {, public class Main {, fn main() {, ...).
const BOILERPLATE = [
  /^\s*$/, /^\s*(#|\/\/|\/\*|\*|--|;)/, /^\s*(import|from\s+\S+\s+import|package|using|use|require|extern crate)\b/,
  /^\s*#\s*include\b/, /^\s*(const|let|var)\s+\w+\s*=\s*require\(/, /^\s*["']use strict["']/,
  /^\s*(public\s+)?(static\s+)?(int|void)\s+main\s*\(/, /^\s*(public\s+)?(final\s+)?class\s+Main\b/,
  /^\s*(pub\s+)?fn\s+main\s*\(/, /^\s*func\s+main\s*\(/, /^\s*def\s+main\s*\(/, /^\s*[{}()]*\s*$/,
  /^\s*if\s+__name__\s*==/, /^\s*(public\s+static\s+void\s+main)\b/,
];
export function meaningfulLine(code) {
  const lines = code.split("\n");
  const line = lines.find((l) => !BOILERPLATE.some((re) => re.test(l))) ?? lines.find((l) => l.trim()) ?? "";
  return line.trim().slice(0, 120);
}

// The share link of a run shared under @shareId.
export const shareUrl = (shareId) => `${location.origin}/r/${encodeURIComponent(shareId)}`;

export function createHistory({ api, languageName, currentLanguage, onOpen, onError }) {
  const panel = $("history");
  const toggle = $("history-toggle");
  const list = $("history-list");
  const note = $("history-note");
  const more = $("history-more");
  let nextBefore = null;

  function item(run) {
    const li = document.createElement("li");
    li.className = "history-item";
    li.dataset.id = run.id;
    li.dataset.status = run.status || run.state || "";
    const top = document.createElement("div");
    top.className = "history-top";
    const lang = document.createElement("span");
    lang.className = "history-lang";
    lang.textContent = languageName(run.language);
    const st = document.createElement("span");
    st.className = "history-status";
    st.dataset.status = run.status || "";
    st.textContent = statusWords(run.status, run.state);
    const t = document.createElement("time");
    t.dateTime = new Date(run.created_at).toISOString();
    t.textContent = when(run.created_at);
    top.append(lang, st, t);
    const code = document.createElement("pre");
    code.className = "history-code";
    code.textContent = meaningfulLine(run.code_preview || "") || "(no code)";
    code.title = run.code_preview || "";
    const open = document.createElement("button");
    open.type = "button";
    open.className = "history-open ghost small";
    open.textContent = "Open";
    open.setAttribute("aria-label", `Open run ${run.id} (${lang.textContent}, ${st.textContent})`);
    open.addEventListener("click", () => openRun(run.id));
    const bits = [top, code, open];
    if (run.shared) {
      const s = document.createElement("span");
      s.className = "history-shared";
      s.textContent = "shared";
      bits.splice(1, 0, s);
    }
    li.append(...bits);
    return li;
  }

  async function refresh(append = false) {
    note.textContent = "Loading…";
    try {
      const only = $("history-this-language").checked ? currentLanguage() : undefined;
      $("history-lang-label").textContent = `Only ${languageName(currentLanguage()) || "this language"}`;
      const page = await api.get("/api/v1/code/history", {
        query: { limit: 25, before: append ? nextBefore : undefined, language: only },
      });
      const runs = page.runs || [];
      if (!append) list.replaceChildren();
      list.append(...runs.map(item));
      nextBefore = page.next_before ?? null;
      more.hidden = nextBefore == null;
      note.textContent = list.children.length ? "" : "No runs yet: what you run appears here.";
    } catch (e) {
      note.textContent = `Cannot load the history: ${e.describe ? e.describe() : e}`;
    }
  }

  function setOpen(on) {
    panel.hidden = !on;
    toggle.setAttribute("aria-expanded", String(on));
    document.body.classList.toggle("history-open", on);
    if (on) {
      refresh();
      $("history-close").focus();
    }
  }

  async function fetchRun(id) {
    return api.get(`/api/v1/code/history/${id}`);
  }

  // Another user's run, by the share id of its link (never by its sequential id).
  async function fetchShared(shareId) {
    return api.get(`/api/v1/code/shared/${encodeURIComponent(shareId)}`);
  }

  async function openRun(id) {
    try {
      onOpen(await fetchRun(id), { readonly: false });
      // On a phone the panel covers the page: close it to show the run.
      if (matchMedia("(max-width: 820px)").matches) setOpen(false);
    } catch (e) {
      onError(`Cannot open run ${id}: ${e.describe ? e.describe() : e}`);
    }
  }

  async function share(id) {
    const r = await api.put(`/api/v1/code/history/${id}/share`, { json: { shared: true } });
    if (!r || !r.share_id) throw new Error("the server gave no share id");
    const link = $("share-link");
    link.value = shareUrl(r.share_id);
    link.hidden = false;
    $("share-copy").hidden = false;
    $("share-note").hidden = false;
    link.focus();
    link.select();
    return link.value;
  }

  toggle.addEventListener("click", () => setOpen(panel.hidden));
  $("history-close").addEventListener("click", () => {
    setOpen(false);
    toggle.focus();
  });
  $("history-refresh").addEventListener("click", () => refresh());
  $("history-this-language").addEventListener("change", () => refresh());
  more.addEventListener("click", () => refresh(true));
  $("share-copy").addEventListener("click", async () => {
    const link = $("share-link");
    try {
      await navigator.clipboard.writeText(link.value);
      $("share-copy").textContent = "Copied";
    } catch {
      link.select();
      $("share-copy").textContent = "Press Ctrl+C";
    }
    setTimeout(() => ($("share-copy").textContent = "Copy"), 2000);
  });

  return {
    refresh: () => !panel.hidden && refresh(),
    fetchRun,
    fetchShared,
    share,
    isOpen: () => !panel.hidden,
  };
}
