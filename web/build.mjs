// Bundles the page (src/main.js) and its workers (src/browser/*-worker.js) with esbuild into
// dist/assets/, copies the static files (public/) and Pyodide's runtime files into dist/, and
// precompresses what compresses (NAME.br, NAME.gz: the server picks one by Accept-Encoding).
// Usage: node build.mjs [--dev]   (--dev: no minification, inline source maps)
//
// Names: every bundle and chunk is named with a hash of its content (assets/main-7KQ2XBQA.js),
// so that the server can let browsers cache it for good (immutable); index.html, the only
// page, is rewritten to name them. The workers are built first: src/browser/index.js finds
// them by `new URL("./<name>-worker.js", import.meta.url)`, rewritten here to their hashed
// names. Pyodide's files go to dist/pyodide/<version>/ (immutable too: a new release is a new
// directory); the Pyodide worker is told where by the RUNBOX_PYODIDE_URL define.
//
// Splitting: what the first paint does not need (the editor's language modes, ...) is loaded
// by import() on first use, into chunks of its own; index.html preloads main's static chunks.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import zlib from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
const assets = join(dist, "assets");
const dev = process.argv.includes("--dev");

rmSync(dist, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

const pyPkg = join(here, "node_modules/pyodide");
const pyVersion = JSON.parse(readFileSync(join(pyPkg, "package.json"), "utf8")).version;
const pyUrl = `/pyodide/${pyVersion}/`;
// The Python inside that Pyodide ("3.11.3"), shown on the page before Pyodide is loaded.
const pyPython = (JSON.parse(readFileSync(join(pyPkg, "pyodide-lock.json"), "utf8")).info || {}).python || "";

const common = {
  absWorkingDir: here,
  outdir: assets,
  entryNames: "[name]-[hash]",
  chunkNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  bundle: true,
  format: "esm",
  target: ["chrome110", "firefox110", "safari16"],
  minify: !dev,
  sourcemap: dev ? "inline" : "linked",
  logLevel: "warning",
  metafile: true,
  // Pyodide is not bundled: the worker imports it at run time from /pyodide/<version>/.
  external: ["/pyodide/*"],
  define: {
    RUNBOX_PYODIDE_URL: JSON.stringify(pyUrl),
    RUNBOX_PYODIDE_VERSION: JSON.stringify(pyVersion),
    RUNBOX_PYODIDE_PYTHON: JSON.stringify(pyPython),
  },
};

/** The output file (relative to dist/assets) of each entry point of an esbuild metafile. */
function outputsByEntry(meta) {
  const m = new Map();
  for (const [out, o] of Object.entries(meta.outputs)) {
    if (o.entryPoint) m.set(basename(o.entryPoint), { file: relative(assets, join(here, out)), out: o, path: out });
  }
  return m;
}

// 1. The workers.
const workerFiles = readdirSync(join(here, "src/browser")).filter((f) => f.endsWith("-worker.js"));
const workersBuilt = await build({ ...common, entryPoints: workerFiles.map((f) => join(here, "src/browser", f)) });
const workerNames = new Map([...outputsByEntry(workersBuilt.metafile)].map(([src, o]) => [src, o.file]));

// The editor's syntax modes from @codemirror/legacy-modes (a language file's "highlight":
// "FILE:EXPORT"): `import modes from "runbox:legacy-modes"` is a table FILE -> () => import() of
// every module of mode/, so each is a chunk of its own, fetched when a language using it is
// picked; the table itself (a line per module) is all the first load gets of them.
const legacyDir = join(here, "node_modules/@codemirror/legacy-modes/mode");
const legacyFiles = readdirSync(legacyDir).filter((f) => /^[a-z][a-z0-9-]*\.js$/.test(f)).map((f) => f.slice(0, -3)).sort();
const legacyModes = {
  name: "runbox-legacy-modes",
  setup(b) {
    b.onResolve({ filter: /^runbox:legacy-modes$/ }, () => ({ path: "legacy-modes", namespace: "runbox" }));
    b.onLoad({ filter: /.*/, namespace: "runbox" }, () => ({
      contents: `export default {\n${legacyFiles
        .map((f) => `  ${JSON.stringify(f)}: () => import(${JSON.stringify(`@codemirror/legacy-modes/mode/${f}`)}),`)
        .join("\n")}\n};\n`,
      loader: "js",
      resolveDir: here,
    }));
  },
};

// 2. The page, with the workers' hashed names put in their `new URL(...)`.
const workerUrls = {
  name: "runbox-worker-urls",
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]browser[\\/][^\\/]+\.js$/ }, (args) => {
      let text = readFileSync(args.path, "utf8");
      text = text.replace(/new URL\(\s*"\.\/([\w.-]+-worker\.js)"\s*,\s*import\.meta\.url\s*\)/g, (all, name) => {
        const hashed = workerNames.get(name);
        if (!hashed) throw new Error(`${args.path}: no worker ${name} was built`);
        return `new URL(${JSON.stringify("./" + hashed)}, import.meta.url)`;
      });
      return { contents: text, loader: "js" };
    });
  },
};
const page = await build({
  ...common,
  entryPoints: [join(here, "src/main.js"), join(here, "src/style.css")],
  splitting: true,
  plugins: [workerUrls, legacyModes],
});
const first = []; // what the first load fetches (before language modes, workers, Pyodide)
const pageOut = outputsByEntry(page.metafile);
const mainOut = pageOut.get("main.js");
const styleOut = pageOut.get("style.css");

// 3. The static files, and index.html naming the hashed bundles.
cpSync(join(here, "public"), dist, { recursive: true });
{
  let html = readFileSync(join(here, "public/index.html"), "utf8");
  const swap = (from, to) => {
    if (!html.includes(from)) throw new Error(`public/index.html does not name ${from}`);
    html = html.replace(from, to);
  };
  const head = [];
  first.push("index.html", `assets/${mainOut.file}`, `assets/${styleOut.file}`);
  // main's static imports (shared chunks, and theirs): fetched with main, not after it.
  const seen = new Set([mainOut.path]);
  for (const q = [mainOut.path]; q.length; ) {
    for (const imp of page.metafile.outputs[q.shift()].imports || []) {
      if (imp.kind !== "import-statement" || imp.external || seen.has(imp.path)) continue;
      seen.add(imp.path);
      q.push(imp.path);
      const chunk = relative(assets, join(here, imp.path));
      head.push(`<link rel="modulepreload" href="/assets/${chunk}">`);
      first.push(`assets/${chunk}`);
    }
  }
  // CSS imported by JavaScript (a package's stylesheet) comes out beside main.
  if (mainOut.out.cssBundle) head.push(`<link rel="stylesheet" href="/assets/${relative(assets, join(here, mainOut.out.cssBundle))}">`);
  swap('"/assets/style.css"', `"/assets/${styleOut.file}"`);
  swap('<script type="module" src="/assets/main.js"></script>', [
    `<script type="module" src="/assets/${mainOut.file}"></script>`, ...head].join("\n  "));
  writeFileSync(join(dist, "index.html"), html);
}

// The first load must not carry the editor's language modes (a guard, not a measurement: it
// fails the build when a static import pulls one in), and each mode's chunk is listed for the
// tests (which chunk picking a language must fetch, and the first load must not).
{
  const MODE_INPUT = /node_modules\/@codemirror\/(legacy-modes\/mode\/|lang-)/;
  for (const f of first.filter((f) => f.endsWith(".js"))) {
    const out = page.metafile.outputs[relative(here, join(dist, f))];
    const modeIn = Object.keys((out && out.inputs) || {}).filter((i) => MODE_INPUT.test(i));
    if (modeIn.length) throw new Error(`web: the first load (${f}) holds language modes: ${modeIn.join(", ")}; load them with import()`);
  }
  const chunks = {};
  for (const [out, o] of Object.entries(page.metafile.outputs)) {
    const m = (o.entryPoint || "").match(/@codemirror\/legacy-modes\/mode\/([a-z0-9-]+)\.js$/);
    if (m) chunks[m[1]] = relative(dist, join(here, out));
  }
  const missing = legacyFiles.filter((f) => !chunks[f]);
  if (missing.length) throw new Error(`web: no chunk of its own for the modes ${missing.join(", ")}`);
  mkdirSync(join(here, "node_modules/.cache"), { recursive: true });
  writeFileSync(join(here, "node_modules/.cache/runbox-web-modes.json"), JSON.stringify({ first, legacy: chunks }, null, 1));
}

// 4. Pyodide's runtime (no wheels: the npm package has none; stdlib-only Python in the browser).
const pyDir = join(dist, "pyodide", pyVersion);
mkdirSync(pyDir, { recursive: true });
for (const f of ["pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"]) {
  if (!existsSync(join(pyPkg, f))) throw new Error(`pyodide: ${f} is missing from node_modules/pyodide`);
  cpSync(join(pyPkg, f), join(pyDir, f));
}

// 5. A language's browser.support file (Go's wasm_exec.js) goes to dist/runtime/<runtime>/: it
// must come from the same toolchain as the server's compile, so it is taken from this machine.
// When it is missing, the page runs that language on the server instead.
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

// 6. Precompressed siblings: brotli at its best quality, gzip -9, kept only where smaller than
// the file. Compressing Pyodide's 9 MB of wasm takes long, so each result is kept in
// node_modules/.cache/ under the hash of what it compresses.
const COMPRESS = new Set([".js", ".mjs", ".css", ".html", ".json", ".map", ".svg", ".wasm", ".txt", ".zip", ".xml", ".webmanifest"]);
const cache = join(here, "node_modules/.cache/runbox-web-compress");
mkdirSync(cache, { recursive: true });
const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [],
  );
}

async function compress(file) {
  const data = readFileSync(file);
  const key = createHash("sha256").update(data).digest("hex");
  const made = {};
  for (const [suffix, fn] of [
    [".br", () => brotli(data, { params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
      [zlib.constants.BROTLI_PARAM_MODE]: extname(file) === ".wasm" ? zlib.constants.BROTLI_MODE_GENERIC : zlib.constants.BROTLI_MODE_TEXT,
    } })],
    [".gz", () => gzip(data, { level: 9 })],
  ]) {
    const cached = join(cache, key + suffix);
    let z;
    if (existsSync(cached)) z = readFileSync(cached);
    else {
      z = await fn();
      writeFileSync(cached, z);
    }
    if (z.length < data.length) {
      writeFileSync(file + suffix, z);
      made[suffix] = z.length;
    }
  }
  return { file: relative(dist, file), raw: data.length, br: made[".br"], gz: made[".gz"] };
}

const sizes = await Promise.all(walk(dist).filter((f) => COMPRESS.has(extname(f))).map(compress));
writeFileSync(
  join(here, "node_modules/.cache/runbox-web-sizes.json"),
  JSON.stringify(sizes.sort((a, b) => a.file.localeCompare(b.file)), null, 1),
);
const kb = (n) => (n / 1024).toFixed(1);
const firstBr = sizes.filter((s) => first.includes(s.file)).reduce((t, s) => t + (s.br || s.raw), 0);
console.log(`web: built ${dist} (first load: ${kb(firstBr)} KB brotli; sizes in node_modules/.cache/runbox-web-sizes.json)`);
