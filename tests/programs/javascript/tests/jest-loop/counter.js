export const f = (n) => { if (n === 2) { for (;;) {} } return n; };
