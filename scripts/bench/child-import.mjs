// Plain JavaScript, like the other cold-timed children: loading the TypeScript
// stripper would add its own start-up to every fresh process measured.
// One cold import of a module in a fresh process; prints the milliseconds it took.
const file = process.argv[2];
const started = performance.now();
await import(file);
console.log(`RESULT ${JSON.stringify({ importMs: performance.now() - started })}`);
