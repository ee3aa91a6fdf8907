// runbox's progress reporter for node:test (see runbox_node.js): writes a runbox-jsonl "end"
// event for each test as soon as the test runner reports it, synchronously, to
// the report fd runbox_node.js opened. Suites (describe) are left out: their tests are reported. It yields
// nothing itself, so its --test-reporter-destination gets no output.
import fs from 'node:fs';

const TEXT_MAX = 16 * 1024; // what runbox keeps of one string (REPORT_TEXT_MAX)

function cut(s) {
  s = String(s);
  return s.length > TEXT_MAX ? `${s.slice(0, TEXT_MAX)}\n[... cut ...]` : s;
}

function message(details) {
  const err = details && details.error;
  if (!err) return '';
  const cause = err.cause !== undefined ? err.cause : err;
  if (cause && typeof cause === 'object' && 'message' in cause) {
    const name = cause.name && cause.name !== 'Error' ? `${cause.name}: ` : '';
    return name + cause.message;
  }
  return String(cause);
}

export default async function* reporter(source) {
  let failed = 0;
  const started = globalThis[Symbol.for('runbox.started')] || new Map();
  const write = (event) => {
    const fd = globalThis[Symbol.for('runbox.fd')] ?? -1;
    if (fd >= 0) fs.writeSync(fd, JSON.stringify(event) + '\n');
  };
  for await (const { type, data } of source) {
    if (type !== 'test:pass' && type !== 'test:fail') continue;
    const details = data.details || {};
    if (details.type === 'suite') continue;
    const event = { event: 'end', name: data.name, status: type === 'test:pass' ? 'pass' : 'fail' };
    const n = started.get(data.name) || 0;
    if (n > 0) started.set(data.name, n - 1);
    else write({ event: 'start', name: data.name }); // its hooks did not run (a skipped test)
    if (data.skip !== undefined || data.todo !== undefined) {
      event.status = 'skip';
      if (typeof data.skip === 'string') event.message = data.skip;
    } else if (event.status === 'fail') {
      event.message = cut(message(details));
      failed++;
    }
    write(event);
  }
  write({ event: 'done', code: failed ? 1 : 0 }); // every test ran and reported
}
