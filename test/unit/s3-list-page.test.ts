/**
 * The S3 driver's reading of the store's ListObjectsV2 answer (src/storage/s3/list.ts
 * parseListPage), on answers as Ceph RGW wrote them (recorded from a throwaway RGW with keys that
 * hold control characters, `% + &<>"'`, spaces, CJK, emoji and a decomposed accent), with and
 * without `encoding-type=url`, and as AWS S3 writes them (a space as `+`, indented XML).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseListPage } from '../../src/storage/s3/list.ts';

const HEAD = '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">';
const item = (key: string, modified = '2026-12-06T17:08:41.724Z') =>
  `<Contents><Key>${key}</Key><LastModified>${modified}</LastModified><ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>0</Size><StorageClass>STANDARD</StorageClass><Type>Normal</Type></Contents>`;

describe('storage/s3 parseListPage', () => {
  it("decodes RGW's url-encoded keys and common prefixes (encoding-type=url), byte for byte", () => {
    // RGW 19 with prefix=p/&delimiter=/&encoding-type=url (keys: %2F for '/', prefixes keep '/', ' stays as &apos;)
    const xml =
      `${HEAD}<EncodingType>url</EncodingType><Name>probe</Name><Prefix>p/</Prefix><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>false</IsTruncated>` +
      '<CommonPrefixes><Prefix>p/cafe%CC%81/</Prefix></CommonPrefixes><CommonPrefixes><Prefix>p/tab%09here/</Prefix></CommonPrefixes><CommonPrefixes><Prefix>p/%E6%97%A5%E6%9C%AC%E8%AA%9E/</Prefix></CommonPrefixes>' +
      item('p%2Fa%20b%2Bc%25.txt') +
      item('p%2Famp%26%3Clt%3E%22q&apos;.txt') +
      item('p%2Fctl%01%1F%7F.txt') +
      item('p%2Fnl%0Ax%0Dy') +
      item('p%2F%E6%97%A5%E6%9C%AC%E8%AA%9E%2F%F0%9F%99%82.txt') +
      '<KeyCount>7</KeyCount></ListBucketResult>';
    const page = parseListPage(xml);
    assert.deepEqual(
      page.contents.map((c) => c.key),
      ['p/a b+c%.txt', 'p/amp&<lt>"q\'.txt', 'p/ctl\x01\x1f\x7f.txt', 'p/nl\nx\ry', 'p/日本語/🙂.txt'],
    );
    assert.deepEqual(page.prefixes, ['p/cafe\u0301/', 'p/tab\there/', 'p/日本語/']);
    assert.equal(page.truncated, false);
    assert.equal(page.nextToken, undefined);
    assert.deepEqual(page.contents[0], {
      key: 'p/a b+c%.txt',
      size: 0,
      etag: '"d41d8cd98f00b204e9800998ecf8427e"',
      lastModified: new Date('2026-12-06T17:08:41.724Z'),
    });
  });

  it("takes RGW's NextContinuationToken as it is: XML references resolved, never URL-decoded", () => {
    // RGW writes the token as the raw key, control characters as character references
    const xml =
      `${HEAD}<EncodingType>url</EncodingType><Name>probe</Name><Prefix>p/</Prefix><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>` +
      item('p%2Famp%26%3Clt%3E%22q&apos;.txt') +
      item('p%2Fctl%01%1F%7F.txt') +
      '<NextContinuationToken>p/ctl&#x01;&#x1f;&#x7f;%20+&amp;&#233;.txt</NextContinuationToken><KeyCount>2</KeyCount><StartAfter>p/a b+c%.txt</StartAfter></ListBucketResult>';
    const page = parseListPage(xml);
    assert.equal(page.truncated, true);
    assert.equal(page.nextToken, 'p/ctl\x01\x1f\x7f%20+&é.txt');
    assert.deepEqual(
      page.contents.map((c) => c.key),
      ['p/amp&<lt>"q\'.txt', 'p/ctl\x01\x1f\x7f.txt'],
    );
  });

  it('leaves names alone when the store did not url-encode them (no EncodingType in the answer)', () => {
    const xml =
      `${HEAD}<Name>probe</Name><Prefix>p/</Prefix><IsTruncated>false</IsTruncated>` +
      item('p/a b+c%25.txt') +
      item('p/amp&amp;&lt;lt&gt;&quot;q&apos;.txt') +
      item('p/ctl&#x01;&#x1f;&#x7f;.txt') +
      '<CommonPrefixes><Prefix>p/100%+/</Prefix></CommonPrefixes></ListBucketResult>';
    const page = parseListPage(xml);
    assert.deepEqual(
      page.contents.map((c) => c.key),
      ['p/a b+c%25.txt', 'p/amp&<lt>"q\'.txt', 'p/ctl\x01\x1f\x7f.txt'],
    );
    assert.deepEqual(page.prefixes, ['p/100%+/']);
  });

  it("reads AWS S3's form (a space as '+', indented XML, Owner inside Contents) and keeps a key's own spaces", () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>b</Name>
  <Prefix></Prefix>
  <KeyCount>2</KeyCount>
  <MaxKeys>2</MaxKeys>
  <EncodingType>url</EncodingType>
  <IsTruncated>true</IsTruncated>
  <Contents>
    <Key>+leading+and+trailing+%2B+</Key>
    <LastModified>2026-01-02T03:04:05.000Z</LastModified>
    <ETag>"0123456789ABCDEF0123456789abcdef-3"</ETag>
    <Size>1048576</Size>
    <Owner><ID>abc</ID><DisplayName>Key</DisplayName></Owner>
    <StorageClass>STANDARD</StorageClass>
  </Contents>
  <CommonPrefixes>
    <Prefix>dir+one/</Prefix>
  </CommonPrefixes>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>
`;
    const page = parseListPage(xml);
    assert.deepEqual(page.contents, [
      {
        key: ' leading and trailing + ',
        size: 1048576,
        etag: '"0123456789ABCDEF0123456789abcdef-3"',
        lastModified: new Date('2026-01-02T03:04:05.000Z'),
      },
    ]);
    assert.deepEqual(page.prefixes, ['dir one/']);
    assert.equal(page.truncated, true);
    assert.equal(page.nextToken, '1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=');
  });

  it('an empty listing', () => {
    const page = parseListPage(
      `${HEAD}<Name>b</Name><Prefix>x/</Prefix><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><KeyCount>0</KeyCount></ListBucketResult>`,
    );
    assert.deepEqual(page, { contents: [], prefixes: [], truncated: false });
  });
});
