// runbox's runner for Jest, run as
//   node /box/.runbox/runbox_jest.js TEST_FILE... [--include-ignored]
//
// Theory of operation. Jest is not Debian's (its jest cannot be installed next to a current
// Node.js) but a pinned npm install: languages/support/jest/package.json and package-lock.json,
// installed by scripts/setup.sh (`npm ci`) into /usr/local/lib/runbox/jest (RUNBOX_JEST_DIR
// overrides it), which the box sees read-only under /usr. It brings babel-jest and
// @babel/preset-env, so specs written as ES modules (exercism's: `import { describe, expect,
// test, xtest } from '@jest/globals'`, `import { twoFer } from './two-fer'`) run as Jest runs
// them on exercism, without --experimental-vm-modules.
//
// The report channel comes first: before Jest loads any test file (and so any of the student's
// code), the pipe that RUNBOX_REPORT_FD names (src/job/inproc.c) is opened anew through
// /proc/self/fd (Node.js opens it close-on-exec, at some fd Node.js picks), fd 3 itself is closed
// and the variable deleted; without it the events go to $RUNBOX_DIR/report.jsonl. The test
// environment (runbox_jest_env.js, in this process: Jest runs in band) writes "start" and "end"
// per test synchronously as jest-circus runs them; the reporter (runbox_jest_reporter.js) turns
// a test file that does not load into one errored test "loading FILE"; this runner writes "done"
// with Jest's verdict when Jest returns. process.exit() in the student's code leaves no "done":
// runbox does not count that run as a success. Nothing is read from stdout, so fake result lines
// printed by the student are only text.
//
// In-process mode is not the grade: the student's code runs in this process (in Jest's vm
// context, with Node's fs) and could still find the channel through /proc/self/fd.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const JEST = process.env.RUNBOX_JEST_DIR || '/usr/local/lib/runbox/jest';
const NM = path.join(JEST, 'node_modules');
const HERE = __dirname;

let fd = -1;
const chan = process.env.RUNBOX_REPORT_FD;
if (chan && /^[0-9]+$/.test(chan)) {
  try {
    fd = fs.openSync(`/proc/self/fd/${chan}`, 'w');
    fs.closeSync(Number(chan));
  } catch {
    fd = -1;
  }
  delete process.env.RUNBOX_REPORT_FD;
}
if (fd < 0) {
  try {
    fd = fs.openSync(path.join(process.env.RUNBOX_DIR || '/box/.runbox', 'report.jsonl'), 'w');
  } catch {
    // No report then.
  }
}
const TEXT_MAX = 16 * 1024; // what runbox keeps of one string (REPORT_TEXT_MAX)
globalThis[Symbol.for('runbox.jest')] = {
  write(event) {
    for (const k of ['message', 'output']) {
      if (typeof event[k] === 'string' && event[k].length > TEXT_MAX) event[k] = `${event[k].slice(0, TEXT_MAX)}\n[... cut ...]`;
    }
    if (fd >= 0) fs.writeSync(fd, `${JSON.stringify(event)}\n`);
  },
  includeIgnored: process.argv.includes('--include-ignored'),
  skip: new Set((process.env.RUNBOX_SKIP_TESTS || '').split('\n').filter(Boolean)),
  failed: 0,
};

const files = process.argv.slice(2).filter((a) => !a.startsWith('--')).map((f) => path.resolve(f));
const budget = Number(process.env.RUNBOX_TEST_BUDGET_MS) || 0;
const config = {
  rootDir: '/box',
  roots: ['/box'],
  testMatch: ['**/*'],
  testPathIgnorePatterns: ['/node_modules/', '/\\.runbox/'],
  testEnvironment: path.join(HERE, 'runbox_jest_env.js'),
  reporters: ['default', path.join(HERE, 'runbox_jest_reporter.js')],
  transform: {
    '\\.[cm]?jsx?$': [
      path.join(NM, 'babel-jest'),
      {
        babelrc: false,
        configFile: false,
        presets: [[path.join(NM, '@babel/preset-env'), { targets: { node: 'current' } }]],
      },
    ],
  },
  moduleNameMapper: { '^(\\.\\.?\\/.+)\\.js$': '$1' }, // exercism's: './two-fer.js' is './two-fer'
  modulePaths: [NM], // '@jest/globals', 'expect'
  cache: false,
  cacheDirectory: '/tmp/runbox-jest',
  watchman: false,
  ...(budget > 0 ? { testTimeout: budget } : {}),
};

(async () => {
  let code = 1;
  try {
    const { runCLI } = require(path.join(NM, '@jest/core'));
    const { results } = await runCLI(
      {
        _: files,
        $0: 'jest',
        config: JSON.stringify(config),
        runInBand: true,
        runTestsByPath: true,
        ci: true,
        colors: false,
        watchman: false,
      },
      ['/box'],
    );
    code = results.success && !globalThis[Symbol.for('runbox.jest')].failed ? 0 : 1;
  } catch (err) {
    process.stderr.write(`runbox_jest: ${err && err.stack ? err.stack : err}\n`);
    code = 2;
  }
  globalThis[Symbol.for('runbox.jest')].write({ event: 'done', code });
  process.exit(code);
})();
