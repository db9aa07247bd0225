const [bundle, eventJson] = process.argv.slice(2);
let t = performance.now();
const { handler } = await import(bundle);
console.log('load', (performance.now() - t).toFixed(0));
for (let i = 0; i < 3; i++) {
  t = performance.now();
  const r = await handler(JSON.parse(eventJson));
  console.log('invoke', i, (performance.now() - t).toFixed(0), r.outcomes[0].status);
}
