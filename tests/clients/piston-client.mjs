// piston-client (npm, pinned in web/package.json), unmodified, against `runbox serve`: what its
// README shows (runtimes(), execute(language, code, config)) for each language runbox has.
// tests/integration/77b-piston-clients.sh runs it and turns its lines into TAP:
//   PASS<TAB>name   FAIL<TAB>name<TAB>detail   SKIP<TAB>name<TAB>why
// Environment: PISTON_URL (the server's base URL), required.
//
// What the client does, read from its source (index.js, lib/post.js): runtimes() GETs
// /api/v2/runtimes once and caches it; execute() picks the version of the runtime whose
// `language` equals the name given (aliases are not looked at), then POSTs
// {language, version, files: [{content}], stdin: "", args: ["1", "2", "3"], compile_timeout:
// 10000, run_timeout: 3000, compile_memory_limit: -1, run_memory_limit: -1} with node-fetch,
// which types a string body text/plain, and returns the parsed JSON whatever the status.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const require = createRequire(join(ROOT, "web/package.json"));
const { piston } = await import(pathToFileURL(require.resolve("piston-client")).href);

const client = piston({ server: process.env.PISTON_URL });
const out = (kind, name, detail = "") =>
  console.log([kind, name, String(detail).replace(/\s+/g, " ").slice(0, 600)].join("\t"));
const check = (name, cond, got) => out(cond ? "PASS" : "FAIL", name, cond ? "" : JSON.stringify(got));

// The languages runbox has, by Piston's names, with a program printing OK (as Piston's package
// tests do), some without a trailing newline as Piston's test.c has.
const programs = {
  "c++": "#include <cstdio>\nint main() { std::printf(\"OK\"); return 0; }\n",
  c: "#include <stdio.h>\nint main(void) { printf(\"OK\"); return 0; }\n",
  python: "print('OK')\n",
  javascript: "console.log('OK');\n",
  typescript: "const s: string = 'OK';\nconsole.log(s);\n",
  java: "public class HelloWorld {\n    public static void main(String[] args) {\n        System.out.println(\"OK\");\n    }\n}\n",
  rust: "fn main() {\n    println!(\"OK\");\n}\n",
  go: "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"OK\")\n}\n",
  bash: "echo OK\n",
};

const runtimes = await client.runtimes();
check("runtimes(): an array of {language, version X.Y.Z, aliases}",
  Array.isArray(runtimes) && runtimes.length > 0 &&
  runtimes.every((r) => typeof r.language === "string" && /^\d+\.\d+\.\d+$/.test(r.version) && Array.isArray(r.aliases)),
  runtimes);
const rt = (name) => (Array.isArray(runtimes) ? runtimes.find((r) => r.language === name) : undefined);
// The version execute() sends without one: the client's own rule, the greatest version string
// among the runtimes of that name (python 3.13 over 3.11 when both are installed).
const latest = (name) => runtimes.filter((r) => r.language === name).map((r) => r.version).sort().reverse()[0];
const cpp = rt("c++");
check("runtimes(): C++ is listed as Piston names it, c++ (aliases cpp, g++; runtime gcc)",
  cpp && cpp.aliases.includes("cpp") && cpp.aliases.includes("g++") && cpp.runtime === "gcc", cpp);
check("runtimes(): Piston's aliases py3, node-js, node-javascript, node-ts",
  rt("python")?.aliases.includes("py3") && rt("javascript")?.aliases.includes("node-js") &&
  rt("javascript")?.aliases.includes("node-javascript") && rt("typescript")?.aliases.includes("node-ts"),
  runtimes);

for (const [lang, code] of Object.entries(programs)) {
  if (!rt(lang)) {
    out("SKIP", `execute('${lang}', code): prints OK`, `${lang} is not installed here`);
    continue;
  }
  const r = await client.execute(lang, code);
  check(`execute('${lang}', code): prints OK, code 0, as ${lang} ${latest(lang)}`,
    r.language === lang && r.version === latest(lang) && r.run?.stdout?.includes("OK") &&
    r.run.code === 0 && r.run.signal === null && r.run.output.includes("OK"),
    r);
}

let r = await client.execute("py3", "print('alias')", { version: "*" });
check("execute('py3', code, {version: '*'}): Piston's alias", r.language === "python" && r.run?.stdout === "alias\n", r);
r = await client.execute("node-js", "console.log('alias')", { version: "*" });
check("execute('node-js', ...): Piston's alias", r.language === "javascript" && r.run?.stdout === "alias\n", r);

r = await client.execute("python", "import sys\nprint(sys.argv[1:])\n");
check("execute: the client's default args [\"1\", \"2\", \"3\"] reach the program", r.run?.stdout === "['1', '2', '3']\n", r);
r = await client.execute("python", "import sys\nprint(sys.argv[1:])\n", { args: [1, 2.5, "x y", true] });
check("execute: numeric and boolean args are run as their text", r.run?.stdout === "['1', '2.5', 'x y', 'true']\n", r);

r = await client.execute("python", "import sys\nprint(repr(sys.stdin.read()))\n", { stdin: "a\nb" });
check("execute: stdin without a trailing newline gets one, as Piston feeds it", r.run?.stdout === "'a\\nb\\n'\n", r);
if (rt("bash")) {
  r = await client.execute("bash", 'while read -r l; do echo "[$l]"; done\n', { stdin: "a\nb" });
  check("execute: a read loop sees stdin's last line", r.run?.stdout === "[a]\n[b]\n", r);
}

r = await client.execute("python",
  "import sys, time\nprint('1', flush=True)\ntime.sleep(0.3)\nprint('2', file=sys.stderr, flush=True)\ntime.sleep(0.3)\nprint('3')\n");
check("execute: output is stdout and stderr in write order", r.run?.output === "1\n2\n3\n" && r.run.stderr === "2\n", r);

r = await client.execute("python", "import sys\nsys.exit(3)\n");
check("execute: an exit code (status RE, Piston's message)",
  r.run?.code === 3 && r.run.signal === null && r.run.status === "RE" && r.run.message === "Exited with error status 3", r);
r = await client.execute("python", "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n");
check("execute: a signal (code null, SIGSEGV, status SG)", r.run?.code === null && r.run.signal === "SIGSEGV" && r.run.status === "SG", r);

if (rt("c++")) {
  r = await client.execute("c++", "int main() { return }\n");
  check("execute('c++', broken): compile stage fails and run is the compile result",
    r.compile?.code !== 0 && r.compile?.status === "RE" && /error/.test(r.compile?.stderr) &&
    JSON.stringify(r.run) === JSON.stringify(r.compile), r);
}
if (rt("java")) {
  r = await client.execute("java", "class Hello {\n    public static void main(String[] a) {\n        System.out.println(\"hi \" + a.length);\n    }\n}\n");
  check("execute('java'): a class of any name runs", r.run?.stdout === "hi 3\n", r);
}

r = await client.execute("nosuchlang", "x");
check("execute('nosuchlang'): the client finds no version; Piston's message comes back",
  r.message === "version is required as a string", r);
r = await client.execute("nosuchlang", "x", { version: "*" });
check("execute('nosuchlang', {version: '*'}): \"nosuchlang-* runtime is unknown\"", r.message === "nosuchlang-* runtime is unknown", r);
r = await client.execute("python", "x", { runTimeout: 999999999 });
check("execute: a run_timeout over the server's: Piston's message",
  typeof r.message === "string" && /^run_timeout cannot exceed the configured limit of \d+$/.test(r.message), r);
