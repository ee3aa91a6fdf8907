export const twoFer = (name = 'you') => `One for ${name}, one for me!`;

export const add = (a, b) => {
  throw new TypeError(`cannot add ${a} and ${b}`);
};
