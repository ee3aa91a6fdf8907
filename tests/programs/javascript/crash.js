const o = null;
console.log(o.field);
