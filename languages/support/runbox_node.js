// runbox's test runner for node:test, run as
//   node --test-reporter=/box/.runbox/runbox_node_reporter.mjs --test-reporter-destination=stderr \
//        /box/.runbox/runbox_node.js TEST_FILE...
//
// It imports the test files into this one process instead of letting `node --test` start a
// process per file, so every test's result reaches the reporter as it ends. The report is
// runbox-jsonl on the fd RUNBOX_REPORT_FD names (a pipe runbox reads; src/job/inproc.c), else
// $RUNBOX_DIR/report.jsonl: a hook here writes "start" right before each test body runs,
// runbox_node_reporter.mjs writes "end" per test and "done" when the run is over (a
// process.exit() in the student's code leaves no "done": not a success). Node.js cannot move
// an fd, so the student's code could write to the same fd: in-process mode is not the grade.
// A test file that cannot be loaded becomes one failing test named after the file. Works with
// Node.js 18.19+.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { beforeEach, test } = require('node:test');

let fd = -1;
if (process.env.RUNBOX_REPORT_FD) {
  fd = Number(process.env.RUNBOX_REPORT_FD);
} else {
  try {
    fd = fs.openSync(path.join(process.env.RUNBOX_DIR || '/box/.runbox', 'report.jsonl'), 'w');
  } catch {
    // No report then.
  }
}
globalThis[Symbol.for('runbox.fd')] = fd;

// Tests runbox runs again after one hung: those already reported (RUNBOX_SKIP_TESTS, one name a
// line) are registered as skipped, through the node:test that require() gives the test files.
const skip = new Set((process.env.RUNBOX_SKIP_TESTS || '').split('\n').filter(Boolean));
if (skip.size) {
  const Module = require('node:module');
  const real = require('node:test');
  const wrap = (fn) => {
    const w = function (name, ...rest) {
      if (typeof name === 'string' && skip.has(name)) return fn.call(this, name, { skip: 'reported earlier' }, () => {});
      return fn.call(this, name, ...rest);
    };
    return Object.assign(w, fn);
  };
  const wrapped = Object.assign(wrap(real), { test: wrap(real.test), it: wrap(real.it) });
  const load = Module.prototype.require;
  Module.prototype.require = function (id) {
    return id === 'node:test' || id === 'test' ? wrapped : load.apply(this, arguments);
  };
}

// Tests whose "start" was written and not yet ended (name -> count), shared with the reporter.
const started = new Map();
globalThis[Symbol.for('runbox.started')] = started;

beforeEach(async (t) => {
  // One turn of the event loop first, so the reporters write the previous test's result even if
  // this test's body then blocks the loop forever.
  await new Promise((resolve) => setImmediate(resolve));
  if (fd >= 0) fs.writeSync(fd, JSON.stringify({ event: 'start', name: t.name }) + '\n');
  if (process.env.RUNBOX_JUDGE === 'judge') require('/box/.runbox/runbox_judge.js').announce(t.name);
  started.set(t.name, (started.get(t.name) || 0) + 1);
});

(async () => {
  for (const file of process.argv.slice(2)) {
    try {
      await import(pathToFileURL(path.resolve(file)).href);
    } catch (err) {
      test(`loading ${file}`, () => {
        throw err;
      });
    }
  }
})();
