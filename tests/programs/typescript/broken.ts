let x: number = "s";
console.log(x);
