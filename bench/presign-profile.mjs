/**
 * `node --cpu-prof --cpu-prof-dir=DIR bench/presign-profile.mjs [seconds]`: dropgate's signer alone
 * in a loop (the presign bench's request), for a CPU profile; read it with bench/profile-top.mjs.
 */
import { contenders } from './presign.mjs';

const seconds = Number(process.argv[2] ?? 3);
const { list } = await contenders();
const ours = list.find((c) => c.name === 'dropgate');
const end = performance.now() + seconds * 1000;
let calls = 0;
while (performance.now() < end) {
  for (let i = 0; i < 256; i++) ours.fn();
  calls += 256;
}
console.log(`${calls} URLs in ${seconds} s`);
