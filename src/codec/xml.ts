/**
 * @module codec/xml
 * Size-capped XML parsing and building (fast-xml-parser). Every request body that is parsed
 * goes through `parseXmlBody`, which refuses DOCTYPE/entity declarations, bodies over the cap and
 * absurd nesting, answering MalformedXML / MaxMessageLengthExceeded.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import type { Readable } from 'node:stream';
import { S3Error } from '../errors.js';

export type XmlNode = string | XmlObject | XmlNode[];
export interface XmlObject {
  [name: string]: XmlNode;
}

const MAX_DEPTH = 32;

/**
 * Collect a request body into one Buffer, refusing more than `limit` bytes. On refusal the stream
 * is left unread (not destroyed), so the server can still answer and drain it. `received` (the
 * request's context) counts the bytes read, for the request log and metrics.
 */
export function readCapped(body: Readable, limit: number, received?: { bytesIn: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const done = (err?: Error) => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      if (err) {
        body.pause();
        reject(err);
      } else {
        resolve(Buffer.concat(chunks, total));
      }
    };
    const onData = (chunk: Buffer | string) => {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      total += buf.length;
      if (received) received.bytesIn += buf.length;
      if (total > limit) {
        done(
          new S3Error('MaxMessageLengthExceeded', { message: `Your request was too big: the XML body must be at most ${limit} bytes.` }),
        );
        return;
      }
      chunks.push(buf);
    };
    const onEnd = () => done();
    const onError = (err: Error) => done(err);
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
  });
}

/**
 * A numeric character reference must name a character XML 1.0 allows (its Char production):
 * the parser would silently drop `&#0;` or `&#1;`, so `<Key>a&#0;b</Key>` would name key "ab".
 */
function checkCharRefs(text: string): void {
  for (const m of text.matchAll(/&#(?:x([0-9a-fA-F]+)|([0-9]+));/g)) {
    const digits = (m[1] ?? m[2] ?? '').replace(/^0+(?=.)/, '');
    const cp = digits.length > 8 ? Infinity : Number.parseInt(digits, m[1] !== undefined ? 16 : 10);
    const allowed =
      cp === 0x9 ||
      cp === 0xa ||
      cp === 0xd ||
      (cp >= 0x20 && cp <= 0xd7ff) ||
      (cp >= 0xe000 && cp <= 0xfffd) ||
      (cp >= 0x10000 && cp <= 0x10ffff);
    if (!allowed)
      throw new S3Error('MalformedXML', {
        message: `The XML you provided was not well-formed: the character reference ${m[0].slice(0, 20)} names a character XML does not allow.`,
      });
  }
}

/**
 * Parse XML text into plain objects. Element text is kept as strings (never coerced to
 * numbers); numeric character references are decoded; elements named in `arrays` (dotted paths
 * such as "Delete.Object") always parse as arrays.
 */
export function parseXml(text: string, arrays: readonly string[] = []): XmlObject {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) {
    throw new S3Error('MalformedXML', { message: 'DOCTYPE and entity declarations are not allowed.' });
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new S3Error('MalformedXML', { message: `The XML you provided was not well-formed: ${valid.err.msg} (line ${valid.err.line}).` });
  }
  checkDepth(text);
  checkCharRefs(text);
  const arraySet = new Set(arrays);
  const parser = new XMLParser({
    ignoreAttributes: true,
    parseTagValue: false,
    trimValues: false,
    htmlEntities: true,
    processEntities: true,
    ignoreDeclaration: true,
    removeNSPrefix: true,
    isArray: (_name, jpath) => arraySet.has(String(jpath)),
    // the parser's own count of open elements: checkDepth's scan misses non-ASCII names and '/>' in attributes
    maxNestedTags: MAX_DEPTH - 1,
  });
  let out: unknown;
  try {
    out = parser.parse(text);
  } catch (err) {
    // The validator passes documents the parser then refuses (an unclosed comment or processing
    // instruction after the root element, element names such as 'constructor', nesting too deep):
    // the client's malformed XML, not a 500.
    const why = err instanceof Error ? err.message : String(err);
    const message =
      why === 'Maximum nested tags exceeded'
        ? `The XML is nested deeper than ${MAX_DEPTH} levels.`
        : `The XML you provided was not well-formed: ${why.slice(0, 200)}`;
    throw new S3Error('MalformedXML', { message, cause: err });
  }
  if (out === null || typeof out !== 'object') throw new S3Error('MalformedXML');
  return out as XmlObject;
}

function checkDepth(text: string): void {
  let depth = 0;
  const re = /<(\/?)[A-Za-z_][^>]*?(\/?)>/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[1] === '/') depth--;
    else if (m[2] !== '/') depth++;
    if (depth > MAX_DEPTH) throw new S3Error('MalformedXML', { message: `The XML is nested deeper than ${MAX_DEPTH} levels.` });
  }
}

/** Text of a child element, or undefined. Element-only nodes yield undefined. */
export function text(node: XmlNode | undefined): string | undefined {
  if (node === undefined) return undefined;
  if (typeof node === 'string') return node;
  if (Array.isArray(node)) return text(node[0]);
  // An empty element (<A></A>) parses as ''; an element with children is an object.
  return undefined;
}

export function child(node: XmlNode | undefined, name: string): XmlNode | undefined {
  if (node === undefined || typeof node === 'string' || Array.isArray(node)) return undefined;
  return node[name];
}

export function children(node: XmlNode | undefined): XmlNode[] {
  if (node === undefined) return [];
  return Array.isArray(node) ? node : [node];
}

/**
 * Code and Message of an S3/OSS error body (`<Error><Code>…</Code><Message>…</Message>`), entities
 * decoded (a message quoting a value arrives with `&apos;`), for the command line's error lines;
 * undefined fields when the text is not such a document.
 */
export function errorBody(xml: string): { code?: string; message?: string } {
  let doc: XmlObject;
  try {
    doc = parseXml(xml);
  } catch {
    return {};
  }
  const err = child(doc, 'Error');
  const code = text(child(err, 'Code'));
  const message = text(child(err, 'Message'));
  return { ...(code !== undefined && { code }), ...(message !== undefined && { message }) };
}

const builder = new XMLBuilder({ ignoreAttributes: false, suppressEmptyNode: false, format: false, attributeNamePrefix: '@_' });

/** `{ ListBucketResult: {...} }` -> XML document with declaration. Values must be strings/objects/arrays. */
export function buildXml(doc: Record<string, unknown>): string {
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + escapeControls(builder.build(doc) as string);
}

// The builder writes control characters raw, which is not well-formed XML 1.0; encode them.
function escapeControls(s: string): string {
  return s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\r]/g, (c) => `&#${c.charCodeAt(0)};`);
}
