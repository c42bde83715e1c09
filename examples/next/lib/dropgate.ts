// One gateway per server process, shared by the route handlers.
import { createPGliteLedger } from 'dropgate/ledger';
import { createDropgate } from 'dropgate/server';
import { createDiskStorage } from 'dropgate/storage';
import { auth } from './auth'; // your session lookup

const ledger = await createPGliteLedger({ dataDir: '.dropgate/ledger' });
await ledger.migrate();

export const gateway = createDropgate({
  storage: createDiskStorage({
    directory: '.dropgate/files',
    secret: process.env.DROPGATE_SECRET!,
    baseUrl: `${process.env.DROPGATE_PUBLIC_URL}/api/upload/_disk`,
  }),
  ledger,
  publicUrl: process.env.DROPGATE_PUBLIC_URL,
  routes: { default: { maxSize: '200MiB', allowedTypes: ['video/*', 'image/*'] } },
  authenticate: async (req) => {
    const session = await auth(req.header('cookie'));
    return session ? { userId: session.userId } : null;
  },
});
