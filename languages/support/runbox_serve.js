// runbox judge mode, the student box's side (docs/judge.md), for JavaScript.
//
// Loads the student's files (named on the command line), says {"ready":true} on fd 4, then
// answers requests read from fd 3, one JSON line each: it reads exports, calls and constructs
// with the student's functions and classes, and answers with plain data or a reference
// ({"$ref": N}) to what is not plain data. A promise is awaited first. Nothing here decides a
// grade: the tests and their verdicts are in the judge's box.
'use strict';

const fs = require('node:fs');
const wire = require('./runbox_wire.js');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const IN = 3;
const OUT = 4;
const LINE_MAX = 16 << 20;
// Numbers differ from one student box to the next, so an old reference is "gone", never another
// object.
const BASE = (require('node:crypto').randomBytes(3).readUIntBE(0, 3) * 2 ** 24);
const objs = new Map();
const refs = new Map();
const modules = new Map();

class Gone extends Error {}

function ref(v) {
  let r = refs.get(v);
  if (r === undefined) {
    r = BASE + objs.size + 1;
    objs.set(r, v);
    refs.set(v, r);
  }
  return { $ref: r };
}

function isErrorClass(v) {
  return typeof v === 'function' && (v === Error || v.prototype instanceof Error);
}

function enc(v) {
  return wire.encode(v, (x) => (isErrorClass(x) ? { $exc: { name: x.name } } : ref(x)));
}

function dec(v) {
  return wire.decode(v, (k, x) => {
    if (k !== '$ref') throw new TypeError(`unknown tag ${k}`);
    if (!objs.has(x)) throw new Gone(`the object #${x} is gone (the program was restarted)`);
    return objs.get(x);
  });
}

async function load(file) {
  const full = path.resolve('/box', file);
  try {
    if (file.endsWith('.mjs')) return { exports: await import(pathToFileURL(full).href) };
    return { exports: require(full) };
  } catch (e) {
    return { error: e };
  }
}

async function moduleExports(mod) {
  if (!modules.has(mod)) {
    const file = fs.existsSync(path.join('/box', mod + '.js')) ? mod + '.js' : mod + '.mjs';
    modules.set(mod, await load(file));
  }
  const m = modules.get(mod);
  if (m.error) throw new Error(`loading ${mod} failed: ${m.error && m.error.stack ? m.error.stack.split('\n')[0] : m.error}`);
  return m.exports;
}

async function handle(req) {
  switch (req.op) {
    case 'get':
      return (await moduleExports(req.mod))[req.name];
    case 'hasexport':
      return req.name in Object(await moduleExports(req.mod));
    case 'dir':
      return Object.keys(await moduleExports(req.mod));
    default:
  }
  const obj = dec({ $ref: req.ref });
  switch (req.op) {
    case 'getattr':
      return obj[req.name];
    case 'setattr':
      obj[req.name] = dec(req.value);
      return null;
    case 'has':
      return req.name in Object(obj);
    case 'keys':
      return Object.keys(obj);
    case 'toarray':
      return [...obj].slice(0, 1e6);
    case 'primitive':
      return req.hint === 'number' ? Number(obj) : String(obj);
    case 'method':
      return obj[req.name](...(req.args || []).map(dec));
    case 'call': {
      const self = req.self === null || req.self === undefined ? undefined : dec({ $ref: req.self });
      return Reflect.apply(obj, self, (req.args || []).map(dec));
    }
    case 'new':
      return Reflect.construct(obj, (req.args || []).map(dec));
    default:
      throw new TypeError(`unknown request ${req.op}`);
  }
}

function send(obj) {
  const data = Buffer.from(JSON.stringify(obj) + '\n', 'utf8');
  let off = 0;
  while (off < data.length) {
    try {
      off += fs.writeSync(OUT, data, off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
    }
  }
}

function studentTrace(e) {
  if (!e || typeof e.stack !== 'string') return '';
  return e.stack
    .split('\n')
    .slice(1)
    .filter((l) => !l.includes('runbox_serve.js') && !l.includes('node:internal'))
    .join('\n');
}

async function answer(line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch {
    return { err: { type: 'SyntaxError', message: 'not a request' } };
  }
  try {
    let v = await handle(req);
    if (v && typeof v.then === 'function') v = await v;
    return { ok: enc(v) };
  } catch (e) {
    if (e instanceof Gone) return { gone: e.message };
    const type = e && e.constructor && e.constructor.name ? e.constructor.name : 'Error';
    return { err: { type: type !== 'Error' && type !== 'Object' ? type : e && e.name ? e.name : type, message: e && e.message !== undefined ? String(e.message) : String(e), trace: studentTrace(e) } };
  }
}

(async () => {
  for (const f of process.argv.slice(2)) {
    const mod = path.basename(f).replace(/\.(c|m)?js$/, '');
    if (!modules.has(mod)) modules.set(mod, await load(f));
  }
  send({ ready: true });
  let pending = Buffer.alloc(0);
  const input = fs.createReadStream(null, { fd: IN, highWaterMark: 1 << 16 });
  let chain = Promise.resolve();
  input.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    if (pending.length > LINE_MAX && pending.indexOf(10) < 0) process.exit(1);
    let i;
    while ((i = pending.indexOf(10)) >= 0) {
      const line = pending.subarray(0, i).toString('utf8');
      pending = pending.subarray(i + 1);
      chain = chain.then(async () => {
        let a = await answer(line);
        try {
          send(a);
        } catch (e) {
          a = { err: { type: 'TypeError', message: String(e && e.message) } };
          send(a);
        }
      });
    }
  });
  input.on('end', () => chain.then(() => process.exit(0)));
})();
