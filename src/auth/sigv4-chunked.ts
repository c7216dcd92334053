/**
 * @module auth/sigv4-chunked
 * Streaming decoder for `Content-Encoding: aws-chunked` bodies
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html and
 * .../sigv4-streaming-trailers.html):
 *   hex-size[;chunk-signature=SIG]\r\n DATA \r\n ... 0[;chunk-signature=SIG]\r\n [trailers\r\n] \r\n
 * Every chunk signature is verified, chained from the seed signature; a trailer signature too.
 * Framing may be split anywhere across incoming buffers; at most one header line is buffered.
 * Data is passed on before its chunk is verified: consumers commit only when the stream ends
 * cleanly (STYLE §2.10), and a bad signature ends it with an error. Since chunk data is never
 * held, a chunk's size does not bound memory; it is bounded instead by what is left of the
 * declared x-amz-decoded-content-length, and by S3's 5 GiB single-PUT maximum. (The AWS SDK
 * sends each piece its source stream yields as one chunk, so a fixed small cap such as 16 MiB
 * would refuse `PutObject({ Body: Readable.from([bigBuffer]) })`.)
 */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { S3Error } from '../errors.js';
import { hmac, safeEqual, sha256Hex } from './encoding.js';
import type { ChunkSigning } from './types.js';

const EMPTY_SHA256 = sha256Hex('');
const MAX_LINE = 4096;
/** Trailers carry a checksum or two (sigv4-streaming-trailers.html); more is refused, not buffered. */
const MAX_TRAILERS = 16;
/** S3's largest single PUT (API_PutObject.html): no chunk of one object can be larger. */
const MAX_CHUNK = 5 * 1024 ** 3;

type State = 'header' | 'data' | 'data-crlf' | 'trailer' | 'done';

export interface ChunkedOptions {
  /** x-amz-decoded-content-length: the decoded total must equal it (IncompleteBody otherwise) */
  decodedLength?: number;
}

export class AwsChunkedDecoder extends Transform {
  /** trailing headers read after the last chunk (e.g. x-amz-checksum-crc32) */
  readonly trailers = new Map<string, string>();
  decodedBytes = 0;
  private state: State = 'header';
  private line = Buffer.alloc(0);
  private remaining = 0;
  private chunkSig = '';
  private chunkHash = createHash('sha256');
  private prevSig: string;
  private trailerLines: string[] = [];

  constructor(
    private readonly signing: ChunkSigning | undefined,
    private readonly expectTrailer: boolean,
    private readonly options: ChunkedOptions = {},
  ) {
    super();
    this.prevSig = signing?.seedSignature ?? '';
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.consume(chunk);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    const declared = this.options.decodedLength;
    if (this.state !== 'done') cb(new S3Error('IncompleteBody', { message: 'The aws-chunked body ended before its final chunk.' }));
    else if (declared !== undefined && declared !== this.decodedBytes) {
      cb(
        new S3Error('IncompleteBody', {
          message: `The aws-chunked body decoded to ${this.decodedBytes} bytes, not the ${declared} of x-amz-decoded-content-length.`,
        }),
      );
    } else cb();
  }

  private consume(buf: Buffer): void {
    let i = 0;
    while (i < buf.length) {
      switch (this.state) {
        case 'header':
        case 'trailer': {
          const nl = buf.indexOf(0x0a, i);
          const end = nl < 0 ? buf.length : nl + 1;
          this.line = Buffer.concat([this.line, buf.subarray(i, end)]);
          if (this.line.length > MAX_LINE) throw this.malformed('a chunk header line is too long');
          i = end;
          if (nl < 0) break;
          const text = this.line.toString('latin1');
          this.line = Buffer.alloc(0);
          if (!text.endsWith('\r\n')) throw this.malformed('chunk header lines must end with CRLF');
          if (this.state === 'header') this.onHeader(text.slice(0, -2));
          else this.onTrailerLine(text.slice(0, -2));
          break;
        }
        case 'data': {
          const n = Math.min(this.remaining, buf.length - i);
          const part = buf.subarray(i, i + n);
          if (this.signing) this.chunkHash.update(part);
          this.decodedBytes += n;
          this.push(part);
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) this.state = 'data-crlf';
          break;
        }
        case 'data-crlf': {
          // the CRLF after the data may itself be split: keep what we have in `line`
          const take = Math.min(2 - this.line.length, buf.length - i);
          this.line = Buffer.concat([this.line, buf.subarray(i, i + take)]);
          i += take;
          if (this.line.length < 2) break;
          if (this.line.toString('latin1') !== '\r\n') throw this.malformed('chunk data must be followed by CRLF');
          this.line = Buffer.alloc(0);
          this.verifyChunk();
          this.state = 'header';
          break;
        }
        case 'done':
          if (buf.subarray(i).some((b) => b !== 0x0d && b !== 0x0a)) throw this.malformed('data after the final chunk');
          i = buf.length;
          break;
      }
    }
  }

  private onHeader(text: string): void {
    const [sizeText = '', ...ext] = text.split(';');
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizeText)) throw this.malformed(`bad chunk size '${sizeText.slice(0, 20)}'`);
    const size = parseInt(sizeText, 16);
    if (size > MAX_CHUNK) throw this.malformed('chunk larger than 5 GiB');
    const declared = this.options.decodedLength;
    if (declared !== undefined && this.decodedBytes + size > declared) {
      throw new S3Error('IncompleteBody', {
        message: `The aws-chunked body holds more than the ${declared} bytes of x-amz-decoded-content-length.`,
      });
    }
    this.chunkSig = '';
    for (const e of ext) {
      const [k, v] = e.split('=');
      if (k?.trim() === 'chunk-signature') this.chunkSig = (v ?? '').trim();
    }
    if (this.signing && !this.chunkSig)
      throw new S3Error('SignatureDoesNotMatch', { message: 'A chunk of a signed aws-chunked body carries no chunk-signature.' });
    this.chunkHash = createHash('sha256');
    if (size > 0) {
      this.remaining = size;
      this.state = 'data';
      return;
    }
    // the final, zero-length chunk
    this.verifyChunk();
    this.state = 'trailer';
  }

  private verifyChunk(): void {
    if (!this.signing) return;
    const s = this.signing;
    const stringToSign = ['AWS4-HMAC-SHA256-PAYLOAD', s.amzDate, s.scope, this.prevSig, EMPTY_SHA256, this.chunkHash.digest('hex')].join(
      '\n',
    );
    const expected = hmac(s.signingKey, stringToSign).toString('hex');
    if (!safeEqual(expected, this.chunkSig))
      throw new S3Error('SignatureDoesNotMatch', { message: 'A chunk signature of the aws-chunked body does not match.' });
    this.prevSig = this.chunkSig;
  }

  private onTrailerLine(text: string): void {
    if (text === '') {
      this.verifyTrailer();
      this.state = 'done';
      return;
    }
    // the signed format without trailers ends "0;chunk-signature=…\r\n\r\n": nothing unsigned may follow
    if (this.signing && !this.expectTrailer) throw this.malformed('trailers in a body signed without them');
    if (this.trailers.size >= MAX_TRAILERS) throw this.malformed('too many trailers');
    const i = text.indexOf(':');
    if (i <= 0) throw this.malformed('bad trailer line');
    const name = text.slice(0, i).trim().toLowerCase();
    const value = text.slice(i + 1).trim();
    if (name === 'x-amz-trailer-signature') {
      this.trailers.set(name, value);
      return;
    }
    this.trailers.set(name, value);
    this.trailerLines.push(`${name}:${value}\n`);
  }

  private verifyTrailer(): void {
    if (!this.signing || !this.expectTrailer) return;
    const s = this.signing;
    const sig = this.trailers.get('x-amz-trailer-signature') ?? '';
    const stringToSign = ['AWS4-HMAC-SHA256-TRAILER', s.amzDate, s.scope, this.prevSig, sha256Hex(this.trailerLines.join(''))].join('\n');
    if (!safeEqual(hmac(s.signingKey, stringToSign).toString('hex'), sig)) {
      throw new S3Error('SignatureDoesNotMatch', { message: 'The trailer signature of the aws-chunked body does not match.' });
    }
    this.trailers.delete('x-amz-trailer-signature');
  }

  private malformed(why: string): S3Error {
    return new S3Error('IncompleteBody', { message: `Malformed aws-chunked body: ${why}.` });
  }
}
