// Bundles the page (src/main.js) and its workers (src/browser/*-worker.js) with esbuild into
// dist/assets/, copies the static files (public/) and Pyodide's runtime files into dist/.
// Usage: node build.mjs [--dev]   (--dev: no minification, inline source maps)
import { build } from "esbuild";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
const dev = process.argv.includes("--dev");

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, "assets"), { recursive: true });

const workers = readdirSync(join(here, "src/browser"))
  .filter((f) => f.endsWith("-worker.js"))
  .map((f) => join(here, "src/browser", f));

await build({
  entryPoints: [join(here, "src/main.js"), join(here, "src/style.css"), ...workers],
  outdir: join(dist, "assets"),
  // Flat: dist/assets/main.js, style.css, pyodide-worker.js, wasi-worker.js (src/browser/index.js
  // finds its workers next to the page's bundle: new URL("./<name>-worker.js", import.meta.url)).
  entryNames: "[name]",
  bundle: true,
  format: "esm",
  target: ["chrome110", "firefox110", "safari16"],
  minify: !dev,
  sourcemap: dev ? "inline" : "linked",
  logLevel: "warning",
  // Pyodide is not bundled: the worker imports it at run time from /pyodide/.
  external: ["/pyodide/*"],
});

cpSync(join(here, "public"), dist, { recursive: true });

// Pyodide's runtime (no wheels: the npm package has none; stdlib-only Python in the browser).
const py = join(here, "node_modules/pyodide");
mkdirSync(join(dist, "pyodide"));
for (const f of ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"]) {
  if (!existsSync(join(py, f))) throw new Error(`pyodide: ${f} is missing from node_modules/pyodide`);
  cpSync(join(py, f), join(dist, "pyodide", f));
}
// A language's browser.support file (Go's wasm_exec.js) goes to dist/runtime/<runtime>/: it must
// come from the same toolchain as the server's compile, so it is taken from this machine. When
// it is missing, the page runs that language on the server instead.
const langDir = join(here, "../languages");
if (existsSync(langDir)) {
  for (const f of readdirSync(langDir).filter((n) => n.endsWith(".json"))) {
    let lang;
    try {
      lang = JSON.parse(readFileSync(join(langDir, f), "utf8"));
    } catch {
      continue;
    }
    const b = lang && lang.browser;
    if (!b || !b.support || !b.runtime) continue;
    if (!existsSync(b.support)) {
      console.warn(`web: ${b.support} (${lang.name}'s browser support file) is missing: ${lang.name} runs on the server`);
      continue;
    }
    mkdirSync(join(dist, "runtime", b.runtime), { recursive: true });
    cpSync(b.support, join(dist, "runtime", b.runtime, basename(b.support)));
  }
}
console.log(`web: built ${dist}`);
