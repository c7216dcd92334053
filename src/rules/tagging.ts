/**
 * @module rules/tagging
 * MIR-30 MirrorTaggings: the tags a Mirror rule puts on the objects it stores, and how object tags
 * live in an object's system metadata. The tag set is kept as one URL-encoded `k=v&k2=v2` string
 * (the form of S3's `x-amz-tagging` request header) under an internal name that is never sent as a
 * header, next to `x-amz-tagging-count`, which GET and HEAD return as S3 does
 * (`x-oss-tagging-count` to OSS-signed clients). GetObjectTagging reads the set back.
 */
import type { RoutingRule } from './model.js';

/** System-metadata name of the tag set; internal: stripped from every response. */
export const TAG_SET_META = 'x-osprey-tagging';
/** System-metadata name of the tag count, returned on GET/HEAD (S3: x-amz-tagging-count). */
export const TAG_COUNT_META = 'x-amz-tagging-count';

/** S3's object tag limits (AWS "Categorizing your storage using tags"); OSS has the same numbers. */
export const MAX_TAGS = 10;
export const MAX_TAG_KEY = 128;
export const MAX_TAG_VALUE = 256;

export interface Tag {
  key: string;
  value: string;
}

/** MIR-30: the rule's MirrorTaggings, values taken literally (the spec's [design]: no variables). */
export function mirrorTags(rule: RoutingRule): Tag[] {
  return (rule.Redirect.MirrorTaggings?.Taggings ?? [])
    .filter((t) => t.Key !== undefined && t.Key !== '')
    .map((t) => ({ key: t.Key ?? '', value: t.Value ?? '' }));
}

/** Why a tag set cannot be stored (S3's limits), or undefined. Used at PUT ?website. */
export function tagSetProblem(tags: readonly { Key?: string; Value?: string }[]): string | undefined {
  if (tags.length > MAX_TAGS) return `at most ${MAX_TAGS} tags are allowed (got ${tags.length})`;
  const seen = new Set<string>();
  for (const [i, t] of tags.entries()) {
    if (!t.Key) return `Taggings[${i + 1}] needs a non-empty Key`;
    if ([...t.Key].length > MAX_TAG_KEY) return `the tag key '${t.Key.slice(0, 40)}…' is longer than ${MAX_TAG_KEY} characters`;
    if ([...(t.Value ?? '')].length > MAX_TAG_VALUE) return `the value of tag '${t.Key}' is longer than ${MAX_TAG_VALUE} characters`;
    if (seen.has(t.Key)) return `the tag key '${t.Key}' appears twice`;
    seen.add(t.Key);
  }
  return undefined;
}

export function encodeTagSet(tags: readonly Tag[]): string {
  return tags.map((t) => `${encodeURIComponent(t.key)}=${encodeURIComponent(t.value)}`).join('&');
}

export function decodeTagSet(s: string | undefined): Tag[] {
  if (!s) return [];
  return s
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const i = pair.indexOf('=');
      const dec = (v: string) => {
        try {
          return decodeURIComponent(v);
        } catch {
          return v;
        }
      };
      return i < 0 ? { key: dec(pair), value: '' } : { key: dec(pair.slice(0, i)), value: dec(pair.slice(i + 1)) };
    });
}

/** The system-metadata entries that give an object these tags (none for an empty set). */
export function tagSystemMeta(tags: readonly Tag[]): Record<string, string> {
  return tags.length === 0 ? {} : { [TAG_SET_META]: encodeTagSet(tags), [TAG_COUNT_META]: String(tags.length) };
}

/**
 * Response headers from stored ones: the internal tag set is dropped; the count is named for the
 * client's dialect (x-oss-tagging-count for OSS-signed requests).
 */
export function publicTagHeaders(headers: Record<string, string>, dialect: 's3' | 'oss' | undefined): Record<string, string> {
  if (!(TAG_SET_META in headers) && !(TAG_COUNT_META in headers)) return headers;
  const { [TAG_SET_META]: _set, [TAG_COUNT_META]: count, ...rest } = headers;
  void _set;
  if (count !== undefined) rest[dialect === 'oss' ? 'x-oss-tagging-count' : TAG_COUNT_META] = count;
  return rest;
}
