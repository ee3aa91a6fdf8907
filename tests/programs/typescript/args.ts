const args: string[] = process.argv.slice(2);
for (const arg of args) {
  console.log(arg);
}
