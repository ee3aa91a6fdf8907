// The Roman numeral of n (1..3999); a RangeError otherwise.
const DIGITS = [
  [1000, 'M'], [900, 'CM'], [500, 'D'], [400, 'CD'], [100, 'C'], [90, 'XC'],
  [50, 'L'], [40, 'XL'], [10, 'X'], [9, 'IX'], [5, 'V'], [4, 'IV'], [1, 'I'],
];

function toRoman(n) {
  if (!Number.isInteger(n) || n < 1 || n > 3999) {
    throw new RangeError(`${n} has no Roman numeral`);
  }
  let out = '';
  for (const [value, digits] of DIGITS) {
    while (n >= value) {
      out += digits;
      n -= value;
    }
  }
  return out;
}

module.exports = { toRoman };
