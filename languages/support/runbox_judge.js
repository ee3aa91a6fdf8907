// runbox judge mode, the judge box's side (docs/judge.md), for node:test.
//
// The student's code is not in this box. Each of the student's files is replaced here by a
// one-line module whose exports are a proxy: reading an export, calling it, constructing with it,
// reading or writing a property of what came back travel as JSON lines to the student's box (fd 4
// out, fd 3 in, through runbox). Answers are plain data, or references (proxies) to the student's
// objects. Calls are synchronous (blocking reads on fd 3); a promise the student's code returns is
// awaited on the student's side. Exceptions come back as the built-in Error class of that name, or
// a local class of that name (the same one each time, so assert.throws(fn, MyError) works).
'use strict';

const fs = require('node:fs');
const wire = require('./runbox_wire.js');

const IN = 3;
const OUT = 4;
const LINE_MAX = 16 << 20;
let buf = Buffer.alloc(0);
let current = null;

function sendLine(line) {
  const data = Buffer.from(line + '\n', 'utf8');
  let off = 0;
  while (off < data.length) {
    try {
      off += fs.writeSync(OUT, data, off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
    }
  }
}

function recvLine() {
  const chunk = Buffer.alloc(65536);
  for (;;) {
    const i = buf.indexOf(10);
    if (i >= 0) {
      const line = buf.subarray(0, i).toString('utf8');
      buf = buf.subarray(i + 1);
      return line;
    }
    if (buf.length > LINE_MAX) throw new Error("the student's side sent an answer over 16 MiB");
    let n;
    try {
      n = fs.readSync(IN, chunk, 0, chunk.length, null);
    } catch (e) {
      if (e.code === 'EAGAIN') continue;
      throw e;
    }
    if (n === 0) throw new Error("the connection to the student's code ended");
    buf = Buffer.concat([buf, chunk.subarray(0, n)]);
  }
}

function announce(name) {
  if (name !== current) {
    current = name;
    sendLine('!test ' + String(name).replace(/\n/g, ' '));
  }
}

const excClasses = new Map();
function excClass(name) {
  const builtin = globalThis[name];
  if (typeof builtin === 'function' && (builtin === Error || builtin.prototype instanceof Error))
    return builtin;
  if (!excClasses.has(name)) {
    const cls = class extends Error {};
    Object.defineProperty(cls, 'name', { value: name });
    cls.prototype.name = name;
    excClasses.set(name, cls);
  }
  return excClasses.get(name);
}

const REF = Symbol('runbox.ref');

function enc(v) {
  return wire.encode(v, (x) => {
    if ((typeof x === 'object' || typeof x === 'function') && x !== null && x[REF] !== undefined)
      return { $ref: x[REF] };
    throw new TypeError(
      "judge mode: only data (and the student's own objects) can be passed to the student's code, not " +
        (typeof x === 'function' ? 'a function' : Object.prototype.toString.call(x)),
    );
  });
}

function dec(v, self) {
  return wire.decode(v, (k, x) => {
    if (k === '$ref') return remote(x, self);
    if (k === '$exc') return excClass(x.name);
    throw new TypeError(`unknown tag ${k}`);
  });
}

// Timeouts and crashes are thrown as this, which runbox also records: a test during which the
// student's code timed out or crashed never passes, whatever the test catches.
class StudentProgramError extends Error {}
class Gone extends Error {}
StudentProgramError.prototype.name = 'StudentProgramError';

function request(msg, self) {
  sendLine(JSON.stringify(msg));
  const answer = JSON.parse(recvLine());
  if ('ok' in answer) return dec(answer.ok, self);
  if ('err' in answer) {
    const e = answer.err;
    const err = new (excClass(e.type || 'Error'))(e.message || '');
    if (e.trace) err.stack = `${err.name}: ${err.message}\n    in the student's code:\n${e.trace}`;
    throw err;
  }
  if ('timeout' in answer)
    throw new StudentProgramError(`timed out: the student's code did not answer within ${answer.timeout} s`);
  if ('crash' in answer) throw new StudentProgramError(`the student's program ended: ${answer.crash}`);
  if ('gone' in answer) throw new Gone(answer.gone);
  throw new StudentProgramError("the student's side answered something that is not an answer");
}

const inspectSym = Symbol.for('nodejs.util.inspect.custom');

// A proxy for the student's object @ref; @self: the object it was read from (a method's this).
// One read by name from the student's module (@origin: [module, name]) is read again when the
// student's box was replaced (after a timeout or a crash in an earlier test).
function remote(ref, self, origin) {
  const target = function () {};
  const rq = (msg, me) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return request({ ...msg, ref }, me);
      } catch (e) {
        if (!(e instanceof Gone)) throw e;
        if (attempt || !origin) throw new StudentProgramError(`the student's object is gone: ${e.message}`);
        const fresh = request({ op: 'get', mod: origin[0], name: origin[1] });
        if (fresh === null || fresh[REF] === undefined) throw new StudentProgramError(`${origin[1]} is no longer an object`);
        ref = fresh[REF];
      }
    }
  };
  return new Proxy(target, {
    get(t, name) {
      if (name === REF) return ref;
      if (name === inspectSym) return () => `[the student's object #${ref}]`;
      if (name === Symbol.toPrimitive) return (hint) => rq({ op: 'primitive', hint });
      if (name === Symbol.iterator)
        return function* iterate() {
          yield* rq({ op: 'toarray' });
        };
      if (typeof name === 'symbol' || name === 'then') return undefined;
      if (name === 'toString' || name === 'toJSON' || name === 'valueOf')
        return () => rq({ op: 'method', name, args: [] });
      return rq({ op: 'getattr', name }, ref);
    },
    set(t, name, value) {
      if (typeof name === 'symbol') return false;
      rq({ op: 'setattr', name, value: enc(value) });
      return true;
    },
    has(t, name) {
      if (typeof name === 'symbol') return false;
      return rq({ op: 'has', name });
    },
    ownKeys() {
      return [...rq({ op: 'keys' }), 'prototype'];
    },
    getOwnPropertyDescriptor(t, name) {
      if (name === 'prototype') return Reflect.getOwnPropertyDescriptor(t, name);
      if (typeof name === 'symbol') return undefined;
      if (!rq({ op: 'has', name })) return undefined;
      return { value: rq({ op: 'getattr', name }, ref), enumerable: true, configurable: true, writable: true };
    },
    apply(t, thisArg, args) {
      const me = thisArg && thisArg[REF] !== undefined ? thisArg[REF] : self;
      return rq({ op: 'call', self: me === undefined ? null : me, args: args.map((a) => enc(a)) });
    },
    construct(t, args) {
      return rq({ op: 'new', args: args.map((a) => enc(a)) });
    },
  });
}

// The exports of the student's module @mod.
function module_(mod) {
  return new Proxy(
    {},
    {
      get(t, name) {
        if (typeof name === 'symbol' || name === 'then' || name === '__esModule') return undefined;
        if (name === inspectSym) return () => `[the student's module ${mod}]`;
        const v = request({ op: 'get', mod, name });
        return v !== null && (typeof v === 'object' || typeof v === 'function') && v[REF] !== undefined
          ? remote(v[REF], undefined, [mod, name])
          : v;
      },
      has(t, name) {
        return typeof name === 'string' && request({ op: 'hasexport', mod, name });
      },
      ownKeys() {
        return request({ op: 'dir', mod });
      },
      getOwnPropertyDescriptor(t, name) {
        if (typeof name === 'symbol') return undefined;
        return { value: request({ op: 'get', mod, name }), enumerable: true, configurable: true, writable: true };
      },
    },
  );
}

module.exports = { module: module_, announce, StudentProgramError };
