// runbox's test runner for node:test, run as
//   node --test-reporter=tap --test-reporter-destination=FILE \
//        --test-reporter=/box/.runbox/runbox_node_reporter.mjs --test-reporter-destination=stderr \
//        /box/.runbox/runbox_node.js TEST_FILE...
//
// It imports the test files into this one process instead of letting `node --test` start a
// process per file: `node --test` reports a file's results only once the whole file is done, so
// a test that never ends (a timeout) would leave no result at all. Here every test's results
// reach the reporters as it ends, and a hook writes a runbox-jsonl "start" event (flushed) to
// $RUNBOX_DIR/progress.jsonl right before each test body runs; runbox_node_reporter.mjs writes
// the matching "end" events. A test file that cannot be loaded (a syntax error, an exception in
// the student's module) becomes one failing test named after the file. Works with Node.js 18.19+.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { beforeEach, test } = require('node:test');

const progress = path.join(process.env.RUNBOX_DIR || '/box/.runbox', 'progress.jsonl');
let fd = -1;
try {
  fd = fs.openSync(progress, 'a');
} catch {
  // No progress then; the TAP report still has everything that finished.
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
