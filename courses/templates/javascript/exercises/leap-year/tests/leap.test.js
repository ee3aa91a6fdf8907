const test = require('node:test');
const assert = require('node:assert/strict');
const { isLeap } = require('./leap.js');

test('a year divisible by 4 is a leap year', () => {
  assert.equal(isLeap(1996), true);
});

test('a year not divisible by 4 is not', () => {
  assert.equal(isLeap(2023), false);
});

test('a century is not a leap year', () => {
  assert.equal(isLeap(1900), false);
});

test('a year divisible by 400 is a leap year', () => {
  assert.equal(isLeap(2000), true);
});
