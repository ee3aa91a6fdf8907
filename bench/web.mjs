// The browser page, measured: how long a student waits from Run to output, on the server and in
// the browser, side by side in one run (medians of N), with ratios. Also the page's load and
// Pyodide's cold start. Driven through web/README.md's hooks with playwright-core and Debian's
// Chromium against a real `runbox serve` (bench/web.sh starts it). A benchmark, not a test.
//
// Environment: BENCH_URL (required), BENCH_N (runs per contender, default 15).
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const { chromium } = createRequire(join(ROOT, "web/package.json"))("playwright-core");
const URL0 = process.env.BENCH_URL.replace(/\/+$/, "");
const N = Number(process.env.BENCH_N || 15);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (ms) => `${ms.toFixed(1).padStart(8)} ms`;

const profile = mkdtempSync(join(tmpdir(), "runbox-bench-web-"));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
const page = ctx.pages()[0] || (await ctx.newPage());
const results = {};

try {
  // Page load: navigation to a usable page (languages listed, editor mounted).
  const loads = [];
  for (let i = 0; i < Math.min(N, 5); i++) {
    const t0 = performance.now();
    await page.goto(URL0 + "/", { waitUntil: "domcontentloaded" });
    await page.waitForSelector('body[data-ready="1"]', { timeout: 60000 });
    loads.push(performance.now() - t0);
  }
  results["page load to ready"] = loads;

  const plain = async () => {
    const box = page.locator("#plain-toggle");
    if (!(await box.isChecked())) await box.setChecked(true);
    await page.waitForSelector("textarea#plain-code", { state: "visible" });
  };
  // The language picker (#language, a combobox): type the name, click its option. A page from
  // before the picker (a <select>) is driven as it was, for the figures' "before".
  const pickLanguage = async (lang) => {
    if ((await page.$eval("#language", (e) => e.tagName)) === "SELECT") return page.selectOption("#language", lang);
    await page.fill("#language", lang);
    await page.click(`#language-list [role="option"][data-value="${lang}"]`);
  };
  // Time from the click on Run to the program's output on the page (what the student sees).
  const clickToOutput = async (lang, where, code, want) => {
    await pickLanguage(lang);
    await page.selectOption("#where", where);
    await plain();
    await page.fill("#plain-code", code);
    const times = [];
    for (let i = 0; i < N + 1; i++) {
      await page.waitForFunction(() => document.body.dataset.runState !== "running");
      const t = await page.evaluate(
        async ([wantText]) => {
          const out = document.querySelector("#output");
          const t0 = performance.now();
          document.querySelector("#run").click();
          return await new Promise((resolve, reject) => {
            // A server run with stdin empty goes to the terminal (xterm.js), others to #output.
            // The terminal still shows the last run's output until this run clears it and
            // marks itself running (web/README.md: #terminal[data-state]), which happens before
            // the request goes out, so before any output of this run can come.
            const term = window.__runbox && window.__runbox.terminalText;
            const mount = document.querySelector("#terminal");
            let started = false;
            const check = () => {
              if (mount && mount.dataset.state === "running" && !document.querySelector("#terminal-box").hidden)
                started = true;
              const text =
                Array.from(out.querySelectorAll("span.stdout"), (s) => s.textContent).join("") +
                (term && started ? term() : "");
              if (text.includes(wantText)) {
                obs.disconnect();
                resolve(performance.now() - t0);
              }
            };
            const obs = new MutationObserver(check);
            obs.observe(document.body, { childList: true, subtree: true, characterData: true, attributes: true });
            setTimeout(() => reject(new Error("no output in 60 s")), 60000);
          });
        },
        [want],
      );
      if (i > 0) times.push(t); // the first is a warm-up (a compile, a module fetch)
      await page.waitForFunction(() => document.body.dataset.runState === "done", null, { timeout: 60000 });
    }
    return times;
  };

  results["Python, on the server"] = await clickToOutput("python", "server", 'print("hi there")\n', "hi there");
  const tPy = performance.now();
  await pickLanguage("python");
  await page.selectOption("#where", "browser");
  await page.waitForSelector('body[data-pyodide="ready"]', { timeout: 120000 });
  results["Pyodide load (this page)"] = [performance.now() - tPy];
  results["Python, in the browser"] = await clickToOutput("python", "browser", 'print("hi there")\n', "hi there");
  const c = '#include <stdio.h>\nint main(void) { puts("hi there"); return 0; }\n';
  results["C, on the server (compile cached)"] = await clickToOutput("c", "server", c, "hi there");
  results["C, in the browser (module cached)"] = await clickToOutput("c", "browser", c, "hi there");

  // The compile to wasm itself, through the API (a fresh source each time: no cache hit).
  const comp = [];
  for (let i = 0; i < Math.min(N, 8); i++) {
    const code = `#include <stdio.h>\nint main(void) { printf("%d\\n", ${i + Date.now() % 100000}); }\n`;
    const t0 = performance.now();
    const r = await fetch(URL0 + "/api/v1/code/compile?target=wasm", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ language: "c", code }),
    });
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`compile: HTTP ${r.status}`);
    comp.push(performance.now() - t0);
  }
  results["C to wasm, uncached compile (API)"] = comp;
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}

console.log(`== the page, medians of ${N} (first run of each not counted) ==`);
for (const [k, v] of Object.entries(results)) console.log(`  ${k.padEnd(36)} ${fmt(median(v))}  (n=${v.length}, min ${median([Math.min(...v)]).toFixed(1)}, max ${Math.max(...v).toFixed(1)})`);
const r = (a, b) => median(results[a]) / median(results[b]);
console.log("== ratios ==");
console.log(`  Python: browser / server         ${r("Python, in the browser", "Python, on the server").toFixed(2)}x`);
console.log(`  C:      browser / server         ${r("C, in the browser (module cached)", "C, on the server (compile cached)").toFixed(2)}x`);
console.log(`  Pyodide load / server Python run ${r("Pyodide load (this page)", "Python, on the server").toFixed(1)}x (the browser pays it once per page)`);
