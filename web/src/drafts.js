// Drafts in localStorage: one per language (playground) and one per exercise, of each user
// (a lab machine's next student must not find the last one's code).
const PREFIX = "runbox.draft.";

export function createDrafts() {
  let owner = "";
  const k = (key) => `${PREFIX}${owner ? `u${owner}.` : ""}${key}`;
  return {
    // The user whose drafts these are (their id), "" for none (no login).
    setOwner(id) {
      owner = id == null ? "" : String(id);
    },
    load(key) {
      try {
        return JSON.parse(localStorage.getItem(k(key)) || "null");
      } catch {
        return null;
      }
    },
    has: (key) => localStorage.getItem(k(key)) != null,
    save(key, files, active) {
      try {
        localStorage.setItem(k(key), JSON.stringify({ files, active, saved: Date.now() }));
      } catch {
        /* storage full or blocked: the draft is only in the page */
      }
    },
    remove: (key) => localStorage.removeItem(k(key)),
  };
}
