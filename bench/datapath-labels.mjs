/** What each `bench datapath` contender is called in its output, `bench/table.mjs` and the chart. */
export const DATAPATH_LABELS = {
  client: 'dropgate/client',
  nohash: 'client, hashPart: false',
  single: 'client, one PUT',
  curl: 'curl -T',
  blob: 'client, fs.openAsBlob',
  worker: 'client, MD5 in 2 threads',
  prehashed: 'client, MD5s precomputed',
  baseline: 'client, --baseline build',
};
