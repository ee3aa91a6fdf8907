// Whether year is a leap year in the Gregorian calendar.
function isLeap(year) {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

module.exports = { isLeap };
