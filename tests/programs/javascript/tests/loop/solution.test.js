'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { sum, titleCase, chunk } = require('./solution.js');

test('sum adds numbers', () => {
  assert.equal(sum([1, 2, 3, 4]), 10);
  assert.equal(sum([]), 0);
});

test('titleCase capitalizes each word', () => {
  console.log('title-casing');
  assert.equal(titleCase('hello big WORLD'), 'Hello Big World');
});

test('chunk splits into groups', () => {
  assert.deepEqual(chunk([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
  assert.throws(() => chunk([1], 0), RangeError);
});
