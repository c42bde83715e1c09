/**
 * Complete's two ways of turning landed parts into the object (disk-in-place.ts has how parts land).
 *
 * In place, when the parts follow the upload's plan (every one but the last exactly the plan's part
 * size, numbered 1..N) and no writer is at work in `data`: only the parts that landed in files of
 * their own are copied into their places; then the header is written, `data` fsynced and renamed
 * into the object. The bytes of the parts written in place are never read or written again.
 *
 * By copy otherwise: every part, from its own file or from its place in `data`, into a new file.
 * That serves S3-style callers' free part sizes, a writer still at work (or one that crashed) in
 * `data`, and a complete racing another one.
 */
import { constants } from 'node:fs';
import { type FileHandle, open, readdir, unlink, writeFile } from 'node:fs/promises';
import { DropgateError } from '../shared/errors.js';
import { encodeHeader, exists, type FileMeta, HEADER_BYTES, isErrno, publish, removeQuietly } from './disk-file.js';
import type { DiskLayout } from './disk-paths.js';
import { type PartRecord, readPlan } from './disk-records.js';
import { writeAll } from './disk-write.js';

export interface LandedPart {
  partNumber: number;
  record: PartRecord;
}

/** A complete's exclusive hold on an upload's `data` file, with what it found there. */
export interface DataHold {
  /** The part size `data` is laid out by; undefined when no part ever claimed a place. */
  plan: number | undefined;
  /** Part numbers whose places are claimed, each by a finished writer. */
  claimed: Set<number>;
  /** Keeps the mark for good: `data` may have become the object, so nothing may write to it. */
  keep(): void;
  /** Lets writers claim places again; does nothing once kept. */
  release(): Promise<void>;
}

const COPY_CHUNK = 1024 * 1024;

/**
 * Marks the upload as completing (`completing`, created exclusively), then looks for writers at
 * work in `data`. Writers claim first and look for the mark second, so none can be at work unseen.
 * Undefined when another complete holds the mark, or a claim has no `.done` (a writer at work, or
 * one that crashed): that complete must copy.
 */
export async function holdData(layout: DiskLayout, multipartId: string): Promise<DataHold | undefined> {
  const mark = layout.uploadFile(multipartId, 'completing');
  try {
    await writeFile(mark, '', { flag: 'wx' });
  } catch (error) {
    // ENOENT: the upload is gone; reading its parts says so.
    if (isErrno(error, 'EEXIST', 'ENOENT')) return undefined;
    throw error;
  }
  let kept = false;
  const hold: DataHold = {
    plan: undefined,
    claimed: new Set(),
    keep: () => {
      kept = true;
    },
    release: async () => {
      if (!kept) await unlink(mark).catch(() => undefined);
    },
  };
  try {
    const names = await readdir(layout.multipartDir(multipartId));
    const done = new Set(names.filter((name) => name.endsWith('.done')).map((name) => Number.parseInt(name, 10)));
    for (const name of names) {
      if (!name.endsWith('.claim')) continue;
      const partNumber = Number.parseInt(name, 10);
      if (!done.has(partNumber)) {
        await hold.release();
        return undefined;
      }
      hold.claimed.add(partNumber);
    }
    hold.plan = await readPlan(layout, multipartId);
  } catch (error) {
    await hold.release();
    throw error;
  }
  return hold;
}

/**
 * Whether `parts` can be published as `data` itself: each in the place the plan gives it. A part
 * written in place is there by construction (its offset came from this plan, pinned before any
 * claim); a part in a file of its own will be copied there.
 */
export function fitsInPlace(parts: readonly LandedPart[], hold: DataHold): hold is DataHold & { plan: number } {
  const { plan } = hold;
  if (plan === undefined) return false;
  for (const [index, { partNumber, record }] of parts.entries()) {
    if (partNumber !== index + 1) return false;
    if (index < parts.length - 1 ? record.size !== plan : record.size > plan) return false;
  }
  // A place past the last part may hold a landed part the caller left out; cutting `data` to the
  // object's length would damage it, should this complete fail and a later one list that part.
  for (const partNumber of hold.claimed) if (partNumber > parts.length) return false;
  return true;
}

/** Copies the parts not yet in place into `data`, then publishes `data` as the object. */
export async function assembleInPlace(
  layout: DiskLayout,
  key: string,
  multipartId: string,
  parts: readonly LandedPart[],
  meta: FileMeta,
  hold: DataHold & { plan: number },
): Promise<void> {
  const dataPath = layout.uploadFile(multipartId, 'data');
  const data = await open(dataPath, constants.O_RDWR | constants.O_CREAT, 0o644);
  try {
    for (const { partNumber, record } of parts) {
      if (record.offset !== undefined) continue;
      await copyRange(
        layout.partPath(multipartId, partNumber),
        HEADER_BYTES,
        data,
        HEADER_BYTES + (partNumber - 1) * hold.plan,
        record.size,
      );
    }
    // Bytes past the object: parts of refused or cut uploads, never landed.
    await data.truncate(HEADER_BYTES + meta.size);
    await writeAll(data, encodeHeader(meta), 0);
    await data.sync();
  } finally {
    await data.close();
  }
  try {
    await publish(dataPath, layout.objectPath(key));
  } catch (error) {
    // Renamed before the failure (the fsync after it failed): `data` is the object now, and the
    // mark stays so that nothing writes to it in place. Not renamed: the upload is as it was.
    if (!(await exists(dataPath))) hold.keep();
    throw error;
  }
  hold.keep();
}

/** Copies every part into a new file, then publishes that as the object. */
export async function assembleByCopy(
  layout: DiskLayout,
  key: string,
  multipartId: string,
  parts: readonly LandedPart[],
  meta: FileMeta,
): Promise<void> {
  const temp = layout.tempPath('assemble');
  try {
    const out = await open(temp, 'wx', 0o644);
    try {
      let position = HEADER_BYTES;
      for (const { partNumber, record } of parts) {
        const [file, from] =
          record.offset === undefined
            ? [layout.partPath(multipartId, partNumber), HEADER_BYTES]
            : [layout.uploadFile(multipartId, 'data'), HEADER_BYTES + record.offset];
        await copyRange(file, from, out, position, record.size);
        position += record.size;
      }
      await writeAll(out, encodeHeader(meta), 0);
      await out.sync();
    } finally {
      await out.close();
    }
    await publish(temp, layout.objectPath(key));
  } catch (error) {
    await removeQuietly(temp);
    throw error;
  }
}

async function copyRange(file: string, from: number, out: FileHandle, to: number, length: number): Promise<void> {
  const source = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(Math.min(COPY_CHUNK, length));
    for (let done = 0; done < length; ) {
      const { bytesRead } = await source.read(buffer, 0, Math.min(buffer.length, length - done), from + done);
      if (bytesRead === 0) {
        throw new DropgateError('UPLOAD_INTEGRITY_FAILED', 'A part changed while the object was being assembled.', {
          reason: 'invalid-part-list',
        });
      }
      await writeAll(out, buffer.subarray(0, bytesRead), to + done);
      done += bytesRead;
    }
  } finally {
    await source.close();
  }
}
