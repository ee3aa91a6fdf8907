// The student's solution: a few array and string helpers.
'use strict';

function sum(values) {
  return values.reduce((a, b) => a + b); // no initial value: throws on []
}

function titleCase(s) {
  return s.split(' ').map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()).join(' ');
}

function chunk(values, size) {
  if (size < 1) throw new RangeError('size must be at least 1');
  const out = [];
  for (let i = 0; i + size <= values.length; i += size) out.push(values.slice(i, i + size)); // drops the rest
  return out;
}

module.exports = { sum, titleCase, chunk };
