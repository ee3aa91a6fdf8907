// runbox's Jest reporter (see runbox_jest.js): a test file that Jest could not run (it does not
// load: a syntax error, a missing export, no test in it) has no test events; it becomes one
// errored test named "loading FILE" with Jest's message. Every test that ran is reported by
// runbox_jest_env.js as it ends.
'use strict';

const path = require('node:path');

const ANSI = /\u001b\[[0-9;]*m/g;

class RunboxReporter {
  onTestResult(test, result) {
    const rb = globalThis[Symbol.for('runbox.jest')];
    if (!rb || !result.testExecError) return;
    const name = `loading ${path.relative('/box', test.path)}`;
    const err = result.testExecError;
    const message = String(result.failureMessage || err.message || err).replace(ANSI, '').trim();
    rb.write({ event: 'start', name });
    rb.write({ event: 'end', name, status: 'error', message });
    rb.failed++;
  }

  getLastError() {
    return undefined;
  }
}

module.exports = RunboxReporter;
