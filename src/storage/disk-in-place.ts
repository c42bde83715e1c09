/**
 * Writing a multipart part straight into its place in the upload's `data` file, so that complete
 * has nothing to copy: under a plan of part size P, part n's bytes go to (n-1)·P.. of the object.
 * P is signed into the part's URL (disk-token.ts), so no client picks where it writes.
 *
 * Writing in place is only safe when nothing else can be in that place: no landed copy of the part
 * (a re-upload cut midway would damage it) and no other upload of it in flight. So a writer first
 * creates `{n}.claim` exclusively (O_EXCL, which also holds between gateway processes sharing the
 * folder), and once its part has landed there keeps the claim for good. An upload that finds the
 * place claimed is received into a part file of its own instead (disk-receiver.ts), and complete
 * copies that one into place.
 *
 * Files, in the order they appear: `plan` (the first claimant's P, then fixed for the upload:
 * places sized by two different plans would overlap), `{n}.claim`, the record in `.tmp` (created
 * before the first byte, so a receive in progress shows there like any other), `{n}` (the record,
 * renamed in: the part is visible), `{n}.done` (its writer is finished with the place). A claim
 * without `.done` is a writer at work or one that crashed; complete then copies every part rather
 * than publish a `data` file someone may still write to (disk-assemble.ts).
 */
import { constants } from 'node:fs';
import { type FileHandle, link, open, unlink, writeFile } from 'node:fs/promises';
import { exists, HEADER_BYTES, isErrno, publish, removeQuietly, storageError } from './disk-file.js';
import type { DiskLayout } from './disk-paths.js';
import { encodeInPlaceRecord, noSuchUpload, readPlan } from './disk-records.js';
import type { PartClaims } from './disk-token.js';
import { type ExpectedBody, receiveInto, writeAll } from './disk-write.js';

/** A claimed place for one part in an upload's `data` file. */
export interface Region {
  layout: DiskLayout;
  multipartId: string;
  partNumber: number;
  /** Where the part starts in the object (in `data`, after its header). */
  offset: number;
  claim: string;
}

/** What a part written in place needs to land: its ETag and its record, waiting in `.tmp`. */
export interface ReceivedRegion {
  etag: string;
  record: string;
}

/**
 * Claims part n's place, or answers undefined when the part must go to a file of its own: its URL
 * carries no plan (S3-style free part sizes), the upload follows another plan, the place is taken
 * (landed or in flight), or a complete is assembling the upload.
 */
export async function claimRegion(layout: DiskLayout, claims: PartClaims): Promise<Region | undefined> {
  const { multipartId, partNumber, size, partSize } = claims;
  if (partSize === undefined || size > partSize) return undefined;
  try {
    if (!(await pinPlan(layout, multipartId, partSize))) return undefined;
    const claim = layout.uploadFile(multipartId, `${partNumber}.claim`);
    if (!(await createExclusive(claim))) return undefined;
    const region: Region = { layout, multipartId, partNumber, offset: (partNumber - 1) * partSize, claim };
    // Complete marks the upload before it looks for claims, and a writer claims before it looks
    // for the mark: so either complete sees this claim (and copies), or this sees complete.
    if (await exists(layout.uploadFile(multipartId, 'completing'))) {
      await releaseRegion(region);
      return undefined;
    }
    return region;
  } catch (error) {
    // The upload's folder is gone: completed or aborted meanwhile.
    if (isErrno(error, 'ENOENT')) throw noSuchUpload();
    throw storageError(error, "claiming a part's place");
  }
}

/**
 * Receives the part into its place, fsyncs it, and writes its record into a temp file. On failure
 * the place is released: it held no landed part (or it could not have been claimed), so a cut or
 * refused upload damages nothing, and a later upload of the part may write there again.
 */
export async function receiveIntoRegion(
  region: Region,
  body: AsyncIterator<Uint8Array>,
  expected: ExpectedBody,
  nowMs: number,
): Promise<ReceivedRegion> {
  const { layout, multipartId, offset } = region;
  const record = layout.tempPath('part');
  let recordFile: FileHandle | undefined;
  let data: FileHandle | undefined;
  try {
    recordFile = await open(record, 'wx', 0o644);
    // Created by whichever part comes first; no O_TRUNC, other parts may be in it already.
    data = await open(layout.uploadFile(multipartId, 'data'), constants.O_RDWR | constants.O_CREAT, 0o644);
    const meta = await receiveInto(body, data, HEADER_BYTES + offset, expected, nowMs);
    // Both flushed before the record is renamed in (landRegion), and side by side: the record
    // sits in .tmp until then, and one part's wait for the disk is one flush, not two in a row.
    const file = recordFile;
    await Promise.all([data.datasync(), writeAll(file, encodeInPlaceRecord(meta, offset), 0).then(() => file.sync())]);
    return { etag: meta.etag, record };
  } catch (error) {
    await Promise.all([removeQuietly(record), releaseRegion(region)]);
    if (isErrno(error, 'ENOENT')) throw noSuchUpload();
    throw storageError(error, 'receiving a part');
  } finally {
    await Promise.all([recordFile?.close().catch(() => undefined), data?.close().catch(() => undefined)]);
  }
}

/**
 * Makes the part visible: its record replaces `{n}`. The claim then stays for as long as the upload
 * does, and `.done` tells complete that this writer is finished with the place.
 */
export async function landRegion(region: Region, received: ReceivedRegion): Promise<void> {
  const { layout, multipartId, partNumber } = region;
  try {
    await publish(received.record, layout.partPath(multipartId, partNumber), { parents: false });
  } catch (error) {
    // The claim is kept: the rename may have happened before the failure, and a kept claim only
    // sends later uploads of this part to files of their own.
    await removeQuietly(received.record);
    throw error;
  }
  // Without it (a crash, a failed write) the place counts as still being written: safe, only slower.
  await writeFile(layout.uploadFile(multipartId, `${partNumber}.done`), '').catch(() => undefined);
}

/** Gives up a claim whose place holds no landed part. */
export async function releaseRegion(region: Region): Promise<void> {
  await unlink(region.claim).catch(() => undefined);
}

/**
 * Fixes the upload's part size at its first claim; false when it already has another. The plan is
 * written whole and flushed before it appears under its name (link), so no reader sees half of it.
 */
async function pinPlan(layout: DiskLayout, multipartId: string, partSize: number): Promise<boolean> {
  const pinned = await readPlan(layout, multipartId);
  if (pinned !== undefined) return pinned === partSize;
  const temp = layout.tempPath('plan');
  try {
    await writeFile(temp, String(partSize), { flag: 'wx', flush: true });
    await link(temp, layout.uploadFile(multipartId, 'plan'));
    return true;
  } catch (error) {
    if (!isErrno(error, 'EEXIST')) throw error;
  } finally {
    await removeQuietly(temp);
  }
  return (await readPlan(layout, multipartId)) === partSize;
}

async function createExclusive(file: string): Promise<boolean> {
  try {
    await writeFile(file, '', { flag: 'wx' });
    return true;
  } catch (error) {
    if (isErrno(error, 'EEXIST')) return false;
    throw error;
  }
}
