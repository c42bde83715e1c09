/**
 * Just enough XML for S3's answers: the first text of a tag, every block of a tag, the root
 * element's name, entity decoding, and escaping for the one body the gateway sends. S3's XML is
 * flat and machine-written (no CDATA, no nesting of a tag in itself, no comments but the
 * declaration), so a few index scans read it at a fraction of a DOM parser's cost.
 */

const ENTITY = /&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const ESCAPES: Record<string, string> = Object.fromEntries(Object.entries(NAMED).map(([name, c]) => [c, `&${name};`]));

/**
 * Text with XML's entities replaced: the five named ones and numeric references.
 * @example decodeXml('&quot;a&amp;b&#x41;&quot;') // '"a&bA"'
 */
export function decodeXml(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(ENTITY, (whole, hex: string | undefined, dec: string | undefined, name: string | undefined) => {
    if (name !== undefined) return NAMED[name] ?? whole;
    const point = Number.parseInt(hex ?? dec ?? '', hex === undefined ? 10 : 16);
    return point <= 0x10ffff ? String.fromCodePoint(point) : whole;
  });
}

/**
 * Text safe inside an XML element.
 * @example escapeXml('"a"<b>') // '&quot;a&quot;&lt;b&gt;'
 */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** The next `<tag>`, `<tag …>` or `<tag/>` at or after `from`: where its content starts, and whether it is empty. */
function openTag(xml: string, tag: string, from: number): { content: number; empty: boolean } | undefined {
  let at = xml.indexOf(`<${tag}`, from);
  while (at >= 0) {
    const next = xml.charCodeAt(at + tag.length + 1);
    // `>`, `/`, or whitespace: not a longer name such as <IDs>.
    if (next === 62 || next === 47 || next === 32 || next === 9 || next === 10 || next === 13) {
      const close = xml.indexOf('>', at);
      if (close < 0) return undefined;
      return { content: close + 1, empty: xml.charCodeAt(close - 1) === 47 };
    }
    at = xml.indexOf(`<${tag}`, at + 1);
  }
  return undefined;
}

/**
 * The raw content of every `<tag>` element, in order (`<tag/>` gives '').
 * @example blocksOf('<Part><N>1</N></Part><Part><N>2</N></Part>', 'Part') // ['<N>1</N>', '<N>2</N>']
 */
export function blocksOf(xml: string, tag: string): string[] {
  const blocks: string[] = [];
  let from = 0;
  for (;;) {
    const open = openTag(xml, tag, from);
    if (!open) return blocks;
    if (open.empty) {
      blocks.push('');
      from = open.content;
      continue;
    }
    const end = xml.indexOf(`</${tag}>`, open.content);
    if (end < 0) return blocks;
    blocks.push(xml.slice(open.content, end));
    from = end + tag.length + 3;
  }
}

/**
 * The decoded text of the first `<tag>` element, or undefined when there is none.
 * @example textOf('<R><ETag>&quot;9b2c&quot;</ETag></R>', 'ETag') // '"9b2c"'
 */
export function textOf(xml: string, tag: string): string | undefined {
  const open = openTag(xml, tag, 0);
  if (!open) return undefined;
  if (open.empty) return '';
  const end = xml.indexOf(`</${tag}>`, open.content);
  return end < 0 ? undefined : decodeXml(xml.slice(open.content, end));
}

const ROOT = /^\s*(?:<\?[^>]*\?>\s*|<!--[\s\S]*?-->\s*)*<([A-Za-z_][\w.:-]*)/;

/**
 * The name of the document's root element, past whitespace (S3 sends some while a
 * CompleteMultipartUpload runs), the XML declaration and comments; undefined when there is none.
 * @example rootOf('  <?xml version="1.0"?>\n<Error><Code>SlowDown</Code></Error>') // 'Error'
 */
export function rootOf(xml: string): string | undefined {
  return ROOT.exec(xml)?.[1];
}
