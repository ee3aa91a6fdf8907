const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { toRoman } = require('./roman.js');

describe('toRoman', () => {
  it('writes single digits', () => {
    assert.equal(toRoman(1), 'I');
    assert.equal(toRoman(5), 'V');
    assert.equal(toRoman(10), 'X');
  });

  it('uses the subtractive forms', () => {
    assert.equal(toRoman(4), 'IV');
    assert.equal(toRoman(90), 'XC');
    assert.equal(toRoman(1994), 'MCMXCIV');
  });

  it('writes the largest number', () => {
    assert.equal(toRoman(3999), 'MMMCMXCIX');
  });

  it('refuses numbers without a numeral', () => {
    assert.throws(() => toRoman(0), RangeError);
    assert.throws(() => toRoman(4000), RangeError);
    assert.throws(() => toRoman(2.5), RangeError);
  });
});
