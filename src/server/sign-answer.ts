/**
 * The JSON text of a single-PUT sign answer, written out field by field. It is byte for byte what
 * `JSON.stringify` gives (sign-answer.test.ts holds it to that), for about half the CPU:
 * `JSON.stringify` walks the object's properties and scans every character of every string for
 * something to escape, ~2.3 µs for this answer on the development machine, ~10% of a sign request
 * without its ledger. Here a string of printable ASCII without `"` or `\` — the presigned URL,
 * the key, the ids and the times always are — is checked with one anchored regular expression and
 * quoted as is; anything else goes through `JSON.stringify`.
 */
import type { SignResponse } from '../shared/protocol.js';

/** Printable ASCII but `"` and `\`: JSON needs no escape inside such a string. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function quote(value: string): string {
  return PLAIN.test(value) ? `"${value}"` : JSON.stringify(value);
}

function headersText(headers: Record<string, string>): string {
  let text = '';
  for (const name of Object.keys(headers)) {
    text += `${text === '' ? '{' : ','}${quote(name)}:${quote(headers[name]!)}`;
  }
  return text === '' ? '{}' : `${text}}`;
}

/** A single PUT's answer (`presignedUrl` set, no `multipart`, no `parts`) as JSON text. */
export function singlePutAnswerText(answer: SignResponse & { presignedUrl: string }): string {
  return `{"uploadId":${quote(answer.uploadId)},"key":${quote(answer.key)},"presignedUrl":${quote(answer.presignedUrl)},"readUrl":${quote(
    answer.readUrl,
  )},"method":"PUT","headers":${headersText(answer.headers)},"expiresAt":${quote(answer.expiresAt)},"uploadExpiresAt":${quote(
    answer.uploadExpiresAt,
  )}}`;
}
