const test = require('node:test');
const assert = require('node:assert/strict');
const { add } = require('./solution.js');

test('add small', () => {
  assert.equal(add(2, 3), 5);
});

test('add ok', () => {
  assert.ok(add(0, 0) === 0);
});
