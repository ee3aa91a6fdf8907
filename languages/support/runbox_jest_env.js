// runbox's Jest test environment (see runbox_jest.js): Node's environment, plus jest-circus's
// events turned into runbox-jsonl as they happen, written synchronously (a test that then blocks
// the event loop forever is still named by its "start"):
//   test_start   "start" (the test's full name: its describe titles and its own, joined by
//                spaces, as Jest's fullName); a name runbox already has (RUNBOX_SKIP_TESTS, after
//                a hung test) is skipped
//   test_done    "end": pass; fail (an expect() assertion); error (anything else thrown, or
//                Jest's own timeout, reported "timed out after N s")
//   test_skip, test_todo   "end" skip
// With --include-ignored, at "setup" xtest, xit and xdescribe become test, it and describe (in
// Jest's globals and in what '@jest/globals' gives), as exercism's runner turns its xtest()s into
// test()s; test.skip stays a skip (exercism's "runs too long online" tests use it).
'use strict';

const path = require('node:path');

const JEST = process.env.RUNBOX_JEST_DIR || '/usr/local/lib/runbox/jest';
const NodeEnvironment = require(path.join(JEST, 'node_modules', 'jest-environment-node')).TestEnvironment;

const ROOT = 'ROOT_DESCRIBE_BLOCK';
const ANSI = /\u001b\[[0-9;]*m/g;

function fullName(test) {
  const titles = [];
  for (let t = test; t && t.name !== ROOT; t = t.parent) titles.unshift(t.name);
  return titles.join(' ');
}

function describe(err) {
  if (Array.isArray(err)) err = err[0]; // [error, asyncError]
  if (err && typeof err === 'object' && 'message' in err) {
    const text = String(err.message).replace(ANSI, '');
    const timeout = /^Exceeded timeout of ([0-9]+) ms for a test/.exec(text);
    if (timeout) return { status: 'error', message: `timed out after ${Number(timeout[1]) / 1000} s` };
    if (err.matcherResult || /^expect[.(]/.test(text)) return { status: 'fail', message: text };
    const stack = String(err.stack || '').replace(ANSI, '').split('\n');
    const frames = stack.filter((l) => /^\s+at /.test(l) && !l.includes('/node_modules/')).slice(0, 6);
    const name = err.name && err.name !== 'Error' ? `${err.name}: ` : 'Error: ';
    return { status: 'error', message: [name + text, ...frames.map((l) => l.trim())].join('\n') };
  }
  return { status: 'error', message: `thrown: ${String(err)}` };
}

class RunboxEnvironment extends NodeEnvironment {
  handleTestEvent(event) {
    const rb = globalThis[Symbol.for('runbox.jest')];
    if (!rb) return;
    switch (event.name) {
      case 'setup':
        if (!rb.includeIgnored) break;
        for (const [x, real] of [['xtest', 'test'], ['xit', 'it'], ['xdescribe', 'describe']]) {
          if (event.runtimeGlobals && event.runtimeGlobals[real]) event.runtimeGlobals[x] = event.runtimeGlobals[real];
          if (this.global[real]) this.global[x] = this.global[real];
        }
        break;
      case 'test_start': {
        const name = fullName(event.test);
        if (rb.skip.has(name)) {
          event.test.mode = 'skip';
          event.test.runboxReported = true;
          break;
        }
        rb.write({ event: 'start', name });
        break;
      }
      case 'test_done': {
        const name = fullName(event.test);
        const errors = event.test.errors || [];
        const end = { event: 'end', name, status: 'pass' };
        if (event.test.failing) {
          // test.failing: passes when its body throws; jest-circus has already decided.
          if (errors.length) Object.assign(end, describe(errors[0]), { status: 'fail' });
        } else if (errors.length) {
          Object.assign(end, describe(errors[0]));
        }
        if (end.status !== 'pass') rb.failed++;
        rb.write(end);
        break;
      }
      case 'test_skip':
      case 'test_todo':
        if (event.test.runboxReported) break;
        rb.write({ event: 'start', name: fullName(event.test) });
        rb.write({ event: 'end', name: fullName(event.test), status: 'skip', message: event.name === 'test_todo' ? 'todo' : 'skipped' });
        break;
      default:
        break;
    }
  }
}

module.exports = RunboxEnvironment;
