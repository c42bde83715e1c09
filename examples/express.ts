// Express (or plain node:http): the gateway answers under /api/upload, everything else falls through.

import { createPGliteLedger } from 'dropgate/ledger';
import { toNodeHandler } from 'dropgate/node';
import { createDropgate } from 'dropgate/server';
import { createDiskStorage } from 'dropgate/storage';
import express from 'express';

const ledger = await createPGliteLedger({ dataDir: 'data/ledger' });
await ledger.migrate();

const gateway = createDropgate({
  storage: createDiskStorage({
    directory: 'data/files',
    secret: process.env.DROPGATE_SECRET!,
    baseUrl: 'http://localhost:3000/api/upload/_disk',
  }),
  ledger,
  publicUrl: 'http://localhost:3000',
  authenticate: (req) => ({ userId: String(req.header('x-user-id') ?? '') }),
});

const app = express();
app.use(toNodeHandler(gateway));
app.listen(3000);
