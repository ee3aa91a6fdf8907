// The language picker: an editable combobox (#language, ARIA 1.2 combobox pattern) over a listbox
// (#language-list) of the server's languages, for 45 and more of them. Typing filters by name,
// display name, alias, extension and version ("rb" finds Ruby, "3.13" Python 3.13); the versions
// of a language (files named BASE@VARIANT: python@3.13, c@clang; or "base"/"variant" in the
// listing) are grouped under it, the default (the plain BASE) first. Keys: ArrowDown/ArrowUp open
// the list and move through it, Enter picks, Escape closes it (a second Escape clears the
// text), Tab leaves it; Alt+ArrowDown opens it without moving. @github/combobox-nav does the moving
// and aria-activedescendant; this module does the filtering, grouping, opening and closing.
//
// createPicker({input, list, onPick}): onPick(name) when the user picks another language (not
// the chosen one again, nor when set() is called). Returns {setLanguages(list), set(name), value(), labelOf(entry)}.
import Combobox from "@github/combobox-nav";
import { languageBase } from "./editor.js";

/** The variant of a language entry: its "variant", else its name after '@' (or ""). */
export function languageVariant(l) {
  if (!l) return "";
  if (l.variant != null) return String(l.variant);
  const at = String(l.name || "").indexOf("@");
  return at < 0 ? "" : l.name.slice(at + 1);
}

/** How the page names a language: its display name, with its variant when that does not say it. */
export function languageLabel(l) {
  if (!l) return "";
  const name = l.display_name || l.name;
  const v = languageVariant(l);
  return v && !name.toLowerCase().includes(v.toLowerCase()) ? `${name} (${v})` : name;
}

/** What the picker shows for a language: its label and version ("Python 3.13 — 3.13.5"). */
export function pickerText(l) {
  return l.version ? `${languageLabel(l)} — ${l.version}` : languageLabel(l);
}

// How well @l matches the query @q (lower case, trimmed): 0 = not at all, higher = better.
// Exact name, alias or extension first (typing "c" puts C above C++), then prefixes of those or
// of the display name's words, then any substring.
function score(l, q) {
  if (!q) return 1;
  const dq = q.startsWith(".") ? q : `.${q}`;
  const names = [l.name, languageBase(l), ...(l.aliases || [])].map((s) => String(s).toLowerCase());
  const exts = (l.extensions || []).map((e) => String(e).toLowerCase());
  const display = String(l.display_name || "").toLowerCase();
  const variant = languageVariant(l).toLowerCase();
  if (names.includes(q) || exts.includes(dq) || display === q) return 5;
  if (variant && variant === q) return 4;
  if (names.some((n) => n.startsWith(q)) || exts.some((e) => e.startsWith(dq)) || display.split(/[\s()—-]+/).some((w) => w && w.startsWith(q))) return 3;
  if (display.startsWith(q) || (variant && variant.startsWith(q))) return 3;
  const all = [...names, ...exts, display, variant, String(l.version || "").toLowerCase()];
  return all.some((s) => s.includes(q)) ? 2 : 0;
}

export function createPicker({ input, list, onPick }) {
  let languages = [];
  let current = ""; // the chosen language's name
  let open = false;
  const combo = new Combobox(input, list, { tabInsertsSuggestions: false, firstOptionSelectionMode: "active" });
  const byName = (n) => languages.find((l) => l.name === n);
  const optionId = (name) => `language-opt-${name.replace(/[^A-Za-z0-9_-]/g, (c) => `_${c.charCodeAt(0).toString(16)}`)}`;

  function render() {
    // Groups by base, in the listing's order; in a group, the default (no variant) first.
    const groups = new Map();
    for (const l of languages) {
      const b = languageBase(l);
      if (!groups.has(b)) groups.set(b, []);
      groups.get(b).push(l);
    }
    const items = [];
    for (const [base, ls] of groups) {
      ls.sort((a, b) => (languageVariant(a) ? 1 : 0) - (languageVariant(b) ? 1 : 0));
      const opts = ls.map((l) => option(l, ls.length > 1));
      if (ls.length === 1) {
        items.push(opts[0]);
        continue;
      }
      const li = document.createElement("li");
      li.setAttribute("role", "presentation");
      li.className = "lang-group";
      li.dataset.base = base;
      const head = document.createElement("div");
      head.className = "lang-group-label";
      head.id = `language-group-${optionId(base).slice("language-opt-".length)}`;
      // "Python 3" -> "Python", "C (GCC)" -> "C": the language, not its default's version.
      head.textContent = (ls[0].display_name || "").replace(/\s*\(.*\)\s*$/, "").replace(/\s+[\d.]+$/, "") || base;
      head.setAttribute("aria-hidden", "true");
      const ul = document.createElement("ul");
      ul.setAttribute("role", "group");
      ul.setAttribute("aria-labelledby", head.id);
      ul.append(...opts);
      li.append(head, ul);
      items.push(li);
    }
    items.forEach((el, i) => (el.dataset.order = String(i)));
    list.replaceChildren(...items);
  }

  function option(l, inGroup) {
    const li = document.createElement("li");
    li.setAttribute("role", "option");
    li.id = optionId(l.name);
    li.className = "lang-option" + (inGroup ? " in-group" : "");
    li.dataset.value = l.name;
    li.dataset.base = languageBase(l);
    const v = languageVariant(l);
    if (v) li.dataset.variant = v;
    const name = document.createElement("span");
    name.className = "lang-name";
    name.textContent = languageLabel(l);
    li.append(name);
    if (l.version) {
      const ver = document.createElement("span");
      ver.className = "lang-version";
      ver.textContent = ` — ${l.version}`;
      li.append(ver);
    }
    if (inGroup && !v) {
      const d = document.createElement("span");
      d.className = "lang-default";
      d.textContent = " (default)";
      li.append(d);
    }
    const hint = [...(l.aliases || []), ...(l.extensions || [])].slice(0, 4).join(" ");
    if (hint) {
      const h = document.createElement("span");
      h.className = "lang-hint";
      h.textContent = hint;
      h.setAttribute("aria-hidden", "true");
      li.append(h);
    }
    return li;
  }

  function markCurrent() {
    for (const o of list.querySelectorAll('[role="option"]')) {
      const on = o.dataset.value === current;
      o.classList.toggle("current", on);
      if (on) o.setAttribute("aria-current", "true");
      else o.removeAttribute("aria-current");
    }
  }

  // Show the options matching @query (all for ""), the best group first; "" when none match.
  function filter(query) {
    const q = query.trim().toLowerCase();
    const ranked = [];
    let shown = 0;
    for (const el of list.children) {
      const opts = el.matches('[role="option"]') ? [el] : [...el.querySelectorAll('[role="option"]')];
      let best = 0;
      for (const o of opts) {
        const s = score(byName(o.dataset.value), q);
        o.hidden = s === 0;
        best = Math.max(best, s);
        if (s) shown++;
      }
      el.hidden = best === 0;
      ranked.push([best, Number(el.dataset.order), el]);
    }
    if (q) ranked.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    else ranked.sort((a, b) => a[1] - b[1]);
    list.append(...ranked.map((r) => r[2]));
    list.dataset.count = String(shown);
    empty.hidden = shown > 0;
    combo.resetSelection();
  }

  const empty = document.createElement("p");
  empty.id = "language-empty";
  empty.className = "lang-empty hint";
  empty.textContent = "No language matches.";
  empty.hidden = true;
  list.after(empty);

  function openList() {
    if (open || input.disabled) return;
    open = true;
    list.hidden = false;
    combo.start();
    filter("");
    // On a narrow screen the list is wider than what is right of the input: move it left.
    list.style.left = "";
    const over = list.getBoundingClientRect().right - (document.documentElement.clientWidth - 8);
    if (over > 0) list.style.left = `${-Math.ceil(over)}px`;
    // Start from the chosen language: ArrowDown moves on from it.
    const cur = list.querySelector(`[role="option"][data-value="${CSS.escape(current)}"]`);
    if (cur) {
      combo.clearSelection();
      cur.setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", cur.id);
      cur.scrollIntoView({ block: "nearest" });
    }
  }

  function closeList({ restore = true } = {}) {
    if (open) {
      open = false;
      combo.stop();
      list.hidden = true;
      empty.hidden = true;
    }
    if (restore) showCurrent();
  }

  function showCurrent() {
    const l = byName(current);
    input.value = l ? pickerText(l) : "";
    input.dataset.value = current;
  }

  input.addEventListener("focus", () => input.select());
  input.addEventListener("click", () => openList());
  // On the parent: after combobox-nav's own "input" listener (which clears the active option),
  // so that the first match stays active and Enter picks it.
  input.parentElement.addEventListener("input", (e) => {
    if (e.target !== input) return;
    if (!open) openList();
    filter(input.value);
  });
  input.addEventListener(
    "keydown",
    (e) => {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        if (!open) {
          // Opens on the chosen language; the next arrow moves from there (combobox-nav, whose
          // listener, added by openList(), must not take this one too).
          openList();
          e.preventDefault();
          e.stopImmediatePropagation();
        }
      } else if (e.key === "Escape") {
        if (open) {
          e.preventDefault();
          e.stopImmediatePropagation();
          closeList();
          input.select();
        } else if (input.value) {
          input.value = "";
        }
      } else if (e.key === "Enter" && !open && !(e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        e.stopImmediatePropagation();
        openList();
      }
    },
    true, // before combobox-nav's own handler, so that it acts on the list this opens
  );
  input.addEventListener("blur", () => {
    // A click on an option blurs the input first: the list stays until the click is handled.
    setTimeout(() => {
      if (document.activeElement !== input) closeList();
    }, 150);
  });
  list.addEventListener("mousedown", (e) => e.preventDefault()); // keeps the focus in the input
  list.addEventListener("combobox-commit", (e) => {
    const o = e.target.closest('[role="option"]');
    if (!o) return;
    const name = o.dataset.value;
    const changed = name !== current;
    current = name;
    markCurrent();
    closeList();
    input.select();
    if (changed) onPick(name); // as a <select>: the chosen one again changes nothing
  });

  return {
    setLanguages(ls) {
      languages = ls.slice();
      render();
      markCurrent();
      list.hidden = true;
      open = false;
      showCurrent();
    },
    set(name) {
      current = name || "";
      markCurrent();
      if (!open) showCurrent();
      else input.dataset.value = current;
    },
    value: () => current,
    close: () => closeList(),
  };
}
