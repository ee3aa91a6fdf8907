// The Roman numeral of n (1..3999); a RangeError otherwise.
function toRoman(n) {
  return '';
}

module.exports = { toRoman };
