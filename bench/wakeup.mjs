/**
 * `node bench/wakeup.mjs`: what one loopback TCP message costs the sender on this machine when the
 * receiver sleeps between messages (one in flight, ping-pong: every write wakes the other process)
 * and when it does not (50 in flight). The endpoint bench's servers pay the first price for every
 * socket write that wakes a peer (the load generator, PostgreSQL, Redis); batching pays the second.
 */
import { fork } from 'node:child_process';
import { createConnection, createServer } from 'node:net';

if (process.argv[2] === 'echo') {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (data) => socket.write(data));
  });
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
} else {
  const child = fork(new URL(import.meta.url).pathname, ['echo']);
  const port = await new Promise((resolve) => child.once('message', resolve));
  const socket = createConnection(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise((resolve) => socket.once('connect', resolve));
  const message = Buffer.from('x');
  for (const inFlight of [1, 50]) {
    const total = inFlight === 1 ? 5_000 : 100_000;
    let received = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((resolve) => {
      socket.on('data', (data) => {
        const before = received;
        received += data.length;
        if (received >= total) {
          socket.removeAllListeners('data');
          resolve();
          return;
        }
        // Keep `inFlight` messages outstanding: send one for each one that came back.
        for (let i = before; i < received; i++) socket.write(message);
      });
      for (let i = 0; i < inFlight; i++) socket.write(message);
    });
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    console.log(
      `${String(inFlight).padStart(2)} in flight: ${Math.round((total / ms) * 1000).toLocaleString('en-US')} round trips/s, ` +
        `${((ms * 1000) / total).toFixed(1)} µs each, sender CPU ${((cpu.user + cpu.system) / total).toFixed(1)} µs per message ` +
        `(kernel ${(cpu.system / total).toFixed(1)} µs)`,
    );
  }
  socket.destroy();
  child.kill();
}
