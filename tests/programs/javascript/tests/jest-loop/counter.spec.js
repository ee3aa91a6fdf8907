import { describe, expect, test } from '@jest/globals';
import { f } from './counter';
describe('f', () => {
  test('one', () => { expect(f(1)).toBe(1); });
  test('two', () => { expect(f(2)).toBe(2); });
  test('three', () => { expect(f(3)).toBe(3); });
});
