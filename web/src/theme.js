// Light/dark: the system's preference until #theme-toggle picks one (kept in localStorage).
const KEY = "runbox.theme";

export function initTheme(onChange) {
  const btn = document.getElementById("theme-toggle");
  const media = matchMedia("(prefers-color-scheme: dark)");
  const current = () => localStorage.getItem(KEY) || (media.matches ? "dark" : "light");

  function apply() {
    const t = current();
    document.documentElement.dataset.theme = t;
    btn.setAttribute("aria-pressed", String(t === "dark"));
    btn.textContent = t === "dark" ? "Light theme" : "Dark theme";
    btn.title = `Switch to the ${t === "dark" ? "light" : "dark"} theme`;
    onChange(t === "dark");
  }
  btn.addEventListener("click", () => {
    localStorage.setItem(KEY, current() === "dark" ? "light" : "dark");
    apply();
  });
  media.addEventListener("change", apply);
  apply();
}
