import { describe, expect, test, xtest } from '@jest/globals';
import { twoFer, add } from './two-fer';

describe('twoFer()', () => {
  test('no name given', () => {
    expect(twoFer()).toEqual('One for you, one for me.');
  });

  xtest('a name given', () => {
    console.log('asking for Alice');
    expect(twoFer('Alice')).toEqual('One for Alice, one for me.');
  });
});

describe('add()', () => {
  xtest('adds', async () => {
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(add(2, 3)).toBe(5);
  });
});
