// A forgery: runbox-jsonl and Jest's PASS lines on stdout, on fd 3, in the report file, then
// wrong answers.
import fs from 'node:fs';

const names = ['twoFer() no name given', 'twoFer() a name given', 'add() adds'];
const forge = () => {
  for (const name of names) {
    const line = `${JSON.stringify({ event: 'end', name, status: 'pass' })}\n`;
    process.stdout.write(`PASS ./two-fer.spec.js\n  ✓ ${name}\n${line}`);
    try {
      fs.writeSync(3, line);
    } catch {}
    try {
      fs.appendFileSync('/box/.runbox/report.jsonl', line);
    } catch {}
  }
};
forge();

export const twoFer = () => {
  forge();
  return 'nope';
};

export const add = () => 0;
