// Drafts in localStorage: one per language (playground) and one per exercise.
const PREFIX = "runbox.draft.";

export function createDrafts() {
  return {
    load(key) {
      try {
        return JSON.parse(localStorage.getItem(PREFIX + key) || "null");
      } catch {
        return null;
      }
    },
    has: (key) => localStorage.getItem(PREFIX + key) != null,
    save(key, files, active) {
      try {
        localStorage.setItem(PREFIX + key, JSON.stringify({ files, active, saved: Date.now() }));
      } catch {
        /* storage full or blocked: the draft is only in the page */
      }
    },
    remove: (key) => localStorage.removeItem(PREFIX + key),
  };
}
