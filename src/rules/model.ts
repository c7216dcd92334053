/**
 * @module rules/model
 * The typed model of a website configuration and its routing rules (OSS element names), inferred
 * from the schema so the two cannot drift. Types only: parsing is rules/rules.ts, checking
 * rules/validate.ts, and both import from here.
 */
import type { Infer, RedirectType } from './schema.js';
import type { CONDITION, REDIRECT, ROUTING_RULE } from './schema.js';

export type Condition = Infer<typeof CONDITION.type>;
export type IncludeHeader = NonNullable<Condition['IncludeHeader']>[number];
export type { RedirectType } from './schema.js';
export type Redirect = Omit<Infer<typeof REDIRECT.type>, 'RedirectType'> & { RedirectType: RedirectType };
export type MirrorHeaders = NonNullable<Redirect['MirrorHeaders']>;
export type KeyValue = NonNullable<MirrorHeaders['Set']>[number];
type RawRule = Infer<typeof ROUTING_RULE.type>;
export type RoutingRule = Omit<RawRule, 'RuleNumber' | 'Redirect'> & { RuleNumber: number; Redirect: Redirect };

export interface WebsiteConfig {
  /** the dialect the configuration was PUT in; GET answers in it (XML-06) */
  dialect: 'oss' | 's3';
  IndexDocument?: { Suffix: string; SupportSubDir?: boolean; Type?: number };
  ErrorDocument?: { Key: string; HttpStatus?: number };
  /** ascending RuleNumber (S3 rules are numbered in document order) */
  RoutingRules: RoutingRule[];
  RedirectAllRequestsTo?: { HostName: string; Protocol?: string };
}
