// A fresh process's first answer: import, secret fetch, one D3 call. Prints
// the time since the process started (performance.now()'s origin).
const { handler } = await import(process.argv[2]);
const event = JSON.parse(process.env.BENCH_EVENT);
const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 10_000 };
const response = await handler(event, context);
const cpu = process.cpuUsage();
console.log(
  `RESULT ${JSON.stringify({ answerMs: performance.now(), cpuMs: (cpu.user + cpu.system) / 1000, status: response.statusCode })}`,
);
