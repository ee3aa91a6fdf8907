// runbox judge mode's values (docs/judge.md), shared by both boxes' JavaScript sides.
//
// encode() turns plain data into JSON-ready values with the tags JSON lacks ($undefined, $float,
// $bigint, $map, $set); anything else goes to the caller's other(v, depth) (a reference, or a
// refusal). decode() undoes it, handing tagged objects it does not know ($ref, $exc) to the
// caller's tagged(key, value).
'use strict';

function plainProto(v, proto) {
  return Object.getPrototypeOf(v) === proto;
}

function encode(v, other, depth = 0) {
  if (depth > 500) throw new RangeError('a value nested more than 500 deep');
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (v === undefined) return { $undefined: true };
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return { $float: 'nan' };
    if (!Number.isFinite(v)) return { $float: v > 0 ? 'inf' : '-inf' };
    return v;
  }
  if (typeof v === 'bigint') return { $bigint: v.toString() };
  const d = depth + 1;
  const enc = (x) => encode(x, other, d);
  if (typeof v === 'object') {
    if (Array.isArray(v) && plainProto(v, Array.prototype)) return v.map(enc);
    if (v instanceof Map && plainProto(v, Map.prototype)) return { $map: [...v].map(([k, x]) => [enc(k), enc(x)]) };
    if (v instanceof Set && plainProto(v, Set.prototype)) return { $set: [...v].map(enc) };
    if (plainProto(v, Object.prototype) || plainProto(v, null)) {
      const o = {};
      for (const [k, x] of Object.entries(v)) o[k] = enc(x);
      return o;
    }
  }
  return other(v, d);
}

function decode(v, tagged) {
  if (Array.isArray(v)) return v.map((x) => decode(x, tagged));
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0].startsWith('$')) {
      const x = v[keys[0]];
      switch (keys[0]) {
        case '$undefined':
          return undefined;
        case '$float':
          return x === 'nan' ? NaN : x === 'inf' ? Infinity : -Infinity;
        case '$bigint':
          return BigInt(x);
        case '$map':
          return new Map(x.map(([a, b]) => [decode(a, tagged), decode(b, tagged)]));
        case '$set':
          return new Set(x.map((a) => decode(a, tagged)));
        case '$tuple':
          return x.map((a) => decode(a, tagged));
        default:
          return tagged(keys[0], x);
      }
    }
    const o = {};
    for (const k of keys) o[k] = decode(v[k], tagged);
    return o;
  }
  return v;
}

module.exports = { encode, decode };
