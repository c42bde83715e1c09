import { describe, expect, it } from 'vitest';
import { blocksOf, decodeXml, escapeXml, rootOf, textOf } from './s3-xml.js';

// Shaped like what AWS S3 and Ceph RGW answer to GetObjectAcl and ListParts.
const ACL = `<?xml version="1.0" encoding="UTF-8"?>
<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>owner-1</ID><DisplayName>Owner</DisplayName></Owner>
<AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>owner-1</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>
<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>
</AccessControlList></AccessControlPolicy>`;

describe('s3-xml', () => {
  it('decodes the named entities and numeric references, and leaves unknown ones alone', () => {
    expect(decodeXml('&quot;9b2c&quot;')).toBe('"9b2c"');
    expect(decodeXml('a&amp;b &lt;c&gt; &apos;d&apos; &#65;&#x42;&#x1F600;')).toBe("a&b <c> 'd' AB😀");
    expect(decodeXml('&amp;quot; &nbsp; &#x110000;')).toBe('&quot; &nbsp; &#x110000;');
    expect(decodeXml('plain')).toBe('plain');
  });

  it('escapes what XML text may not hold, and decoding gives it back', () => {
    const raw = `"etag"&<x>'`;
    expect(escapeXml(raw)).toBe('&quot;etag&quot;&amp;&lt;x&gt;&apos;');
    expect(decodeXml(escapeXml(raw))).toBe(raw);
  });

  it('reads the first text of a tag, past attributes, not a longer name that starts the same', () => {
    expect(textOf('<R><IDs>no</IDs><ID a="1">yes</ID><ID>later</ID></R>', 'ID')).toBe('yes');
    expect(textOf('<R><ETag>&quot;a-2&quot;</ETag></R>', 'ETag')).toBe('"a-2"');
    expect(textOf('<R><ETag/></R>', 'ETag')).toBe('');
    expect(textOf('<R><ETag></ETag></R>', 'ETag')).toBe('');
    expect(textOf('<R></R>', 'ETag')).toBeUndefined();
    expect(textOf('<R><ETag>cut', 'ETag')).toBeUndefined();
  });

  it('lists every block of a tag, and tells <Grant> from <Grantee>', () => {
    const grants = blocksOf(ACL, 'Grant');
    expect(grants).toHaveLength(2);
    expect(grants.map((g) => textOf(g, 'Permission'))).toEqual(['FULL_CONTROL', 'READ']);
    expect(textOf(blocksOf(grants[1] ?? '', 'Grantee')[0] ?? '', 'URI')).toBe('http://acs.amazonaws.com/groups/global/AllUsers');
    expect(textOf(blocksOf(ACL, 'Owner')[0] ?? '', 'ID')).toBe('owner-1');
    expect(blocksOf('<L><P>1</P><P/><P>3</P></L>', 'P')).toEqual(['1', '', '3']);
    expect(blocksOf('<L></L>', 'P')).toEqual([]);
  });

  it('names the root element past whitespace, the declaration and comments', () => {
    expect(rootOf(ACL)).toBe('AccessControlPolicy');
    expect(rootOf('\n   \n<?xml version="1.0"?><!-- c --><Error><Code>InternalError</Code></Error>\n\n')).toBe('Error');
    expect(rootOf('<CompleteMultipartUploadResult><ETag>x</ETag></CompleteMultipartUploadResult>')).toBe('CompleteMultipartUploadResult');
    expect(rootOf('text <Error>')).toBeUndefined();
    expect(rootOf('')).toBeUndefined();
  });
});
