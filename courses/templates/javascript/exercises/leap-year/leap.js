// Whether year is a leap year in the Gregorian calendar.
function isLeap(year) {
  return false;
}

module.exports = { isLeap };
