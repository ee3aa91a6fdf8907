// The student's solution: a few array and string helpers.
'use strict';

function sum(values) {
  return values.reduce((a, b) => a + b, 0);
}

function titleCase(s) {
  return s.split(' ').map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()).join(' ');
}

function chunk(values, size) {
  while (values.length > 4) values.length; // never ends for longer arrays
  if (size < 1) throw new RangeError('size must be at least 1');
  const out = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}

module.exports = { sum, titleCase, chunk };
