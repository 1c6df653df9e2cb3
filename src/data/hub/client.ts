/**
 * What sits between @huggingface/hub and the network: a fetch wrapper that keeps the token
 * on the hub's origin, remembers the hub's `X-Error-Code` per URL and notices a server that
 * ignores a resume `Range`, and the mapping of hub failures to one-line user errors. Tokens
 * never enter a message.
 */
import { HubApiError } from '@huggingface/hub';
import { UserError } from '../../util/errors.ts';

/** Thrown by the fetch wrapper when a resume request (Range from byte > 0) got the whole file. */
export class RangeIgnoredError extends Error {
  constructor() {
    super('the server ignored the Range request');
  }
}

export interface HubFetch {
  fetch: typeof fetch;
  errorCode(url: string): string | undefined;
  /** True (once) if a resume request for a URL ending in `/path` got the whole file. */
  takeRangeIgnored(path: string): boolean;
}

const REDIRECT = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;
/** A tree page of 1000 entries is about 300 kB; anything near this is no hub answer. */
export const MAX_API_BYTES = 64 * 1024 * 1024;

/**
 * `send()`, sent once more if a GET or HEAD met a reset connection before any answer: a
 * keep-alive connection the server closed just as it was reused (the request never arrived).
 */
async function withResetRetry(send: () => Promise<Response>, method: string): Promise<Response> {
  try {
    return await send();
  } catch (err) {
    if ((method !== 'GET' && method !== 'HEAD') || networkCause(err) !== 'ECONNRESET') throw err;
    return send();
  }
}

/** `res` with a body that errors with `message` (a UserError) once it passes `limit` bytes. */
function bounded(res: Response, limit: number, message: string): Response {
  if (!res.body) return res;
  let seen = 0;
  const body = res.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, out) {
        seen += chunk.byteLength;
        if (seen > limit) throw new UserError(message);
        out.enqueue(chunk);
      },
    }),
  );
  const copy = new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  Object.defineProperty(copy, 'url', { value: res.url }); // the library's errors name it
  return copy;
}

function urlOf(input: Parameters<typeof fetch>[0]): string {
  return typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
}

/**
 * A fetch for @huggingface/hub that follows redirects itself, so that the access token goes
 * to `hubUrl`'s origin only: every request (a redirect hop, or a URL the library chose to
 * call directly, e.g. a CDN it trusts by its `X-Cache` header) to another origin loses its
 * Authorization header, whatever the library or the base fetch would do.
 */
export function hubFetch(hubUrl: string, base: typeof fetch = globalThis.fetch, maxApiBytes = MAX_API_BYTES): HubFetch {
  const hubOrigin = new URL(hubUrl).origin;
  const codes = new Map<string, string>();
  // The library turns stream errors into plain strings, so the wrapper remembers this itself.
  const ignored = new Set<string>();
  const wrapped: typeof fetch = async (input, init) => {
    const url = urlOf(input);
    const headers = new Headers(typeof input === 'object' && 'headers' in input ? input.headers : undefined);
    new Headers(init?.headers).forEach((v, k) => headers.set(k, v));
    let method = init?.method ?? 'GET';
    let body = init?.body;
    let at = url;
    let res: Response;
    for (let hops = 0; ; hops++) {
      const hop = new Headers(headers);
      if (new URL(at).origin !== hubOrigin) hop.delete('authorization');
      res = await withResetRetry(() => base(at, { ...init, method, body, headers: hop, redirect: 'manual' }), method);
      const location = res.headers.get('location');
      if (!REDIRECT.has(res.status) || !location) break;
      await res.body?.cancel();
      if (hops >= MAX_REDIRECTS) throw new UserError(`the hub at ${hubUrl} redirected ${new URL(url).pathname} more than ${MAX_REDIRECTS} times; check --hub-url`);
      at = new URL(location, at).href;
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        headers.delete('content-type');
      }
    }
    const code = res.headers.get('x-error-code');
    if (!res.ok && code) {
      codes.set(url, code);
      codes.set(res.url || at, code); // the library's errors carry the final URL
    }
    const range = headers.get('range');
    if (range && !/^bytes=0-/.test(range) && res.status === 200) {
      await res.body?.cancel();
      ignored.add(url);
      throw new RangeIgnoredError();
    }
    // API answers (listings, revision info) are read whole into memory: bound them. File bodies are bounded by the download.
    return new URL(at).pathname.startsWith('/api/') ? bounded(res, maxApiBytes, `the hub at ${hubUrl} sent more than ${maxApiBytes} bytes for ${new URL(url).pathname}; check --hub-url`) : res;
  };
  return {
    fetch: wrapped,
    errorCode: (url) => codes.get(url),
    takeRangeIgnored: (path) => {
      const hit = [...ignored].find((u) => decodeURIComponent(new URL(u).pathname).endsWith(`/${path}`));
      if (hit) ignored.delete(hit);
      return hit !== undefined;
    },
  };
}

/** Replace every occurrence of the token, in case any library message ever carried it. */
export function redact(message: string, token: string | undefined): string {
  return token ? message.split(token).join('<token>') : message;
}

export interface HubContext {
  repo: string;
  revision: string;
  hubUrl: string;
  token?: string;
  /** The file being fetched, when the failure is about one file. */
  path?: string;
}

function networkCause(err: unknown): string | undefined {
  // Duck-typed, not instanceof: fetch may come from another realm (test runners, custom fetch).
  const e = err as { name?: unknown; message?: unknown; cause?: { code?: string; message?: string } } | null;
  if (!e || e.name !== 'TypeError' || (e.message !== 'fetch failed' && !e.cause)) return undefined;
  return e.cause?.code ?? e.cause?.message ?? String(e.message);
}

/** A hub failure as a one-line UserError naming the repo / revision / file and the fix. */
export function hubError(err: unknown, ctx: HubContext, codes?: HubFetch): Error {
  if (err instanceof UserError) return new UserError(redact(err.message, ctx.token), err.exitCode);
  const net = networkCause(err);
  if (net) {
    return new UserError(`cannot reach the hub at ${ctx.hubUrl} (${net}); check the network or --hub-url, or use --offline with a cached copy`);
  }
  if (err instanceof HubApiError) {
    const code = codes?.errorCode(err.url) ?? '';
    const who = `dataset ${ctx.repo}`;
    if (code === 'GatedRepo' || ((err.statusCode === 401 || err.statusCode === 403) && code !== 'RepoNotFound')) {
      return new UserError(
        ctx.token
          ? `${who} refused the access token (status ${err.statusCode}): accept the dataset's terms on the hub with the token's account, or use a token with read access`
          : `${who} is gated and needs an access token: set HF_TOKEN or pass --token (after accepting its terms on the hub)`,
      );
    }
    if (code === 'RepoNotFound') {
      return new UserError(`${who} does not exist on ${ctx.hubUrl} (or is private and the token has no access); check --dataset`);
    }
    if (code === 'RevisionNotFound') return new UserError(`revision '${ctx.revision}' does not exist in ${who}; check --revision`);
    if (code === 'EntryNotFound') {
      return new UserError(`${ctx.path ?? 'a file'} is listed but missing in ${who}@${ctx.revision}; try again, or pick another --revision`);
    }
    if (err.statusCode === 404 && ctx.path) {
      return new UserError(`${ctx.path} is listed in ${who}@${ctx.revision} but the hub answered status 404 for it; try again later, or pick another --revision`);
    }
    if (err.statusCode === 404) return new UserError(`${who}@${ctx.revision} not found on ${ctx.hubUrl} (status 404); check --dataset and --revision`);
    return new UserError(`the hub answered status ${err.statusCode} for ${who}${ctx.path ? ` (${ctx.path})` : ''}; try again later`);
  }
  if (err instanceof Error && /token must start with/i.test(err.message)) {
    return new UserError('the access token is malformed (it must start with hf_); check HF_TOKEN or --token');
  }
  const message = typeof (err as Error)?.message === 'string' ? (err as Error).message : String(err);
  return new Error(redact(message, ctx.token));
}

/** One line for a hub answer that is not what the API returns (`expected`, e.g. 'a file listing'). */
export function malformedAnswer(ctx: HubContext, request: string, expected: string, detail: string): UserError {
  return new UserError(
    redact(`the hub at ${ctx.hubUrl} answered the ${request} for dataset ${ctx.repo}@${ctx.revision} with something that is not ${expected} (${detail}); check --hub-url`, ctx.token),
  );
}

/**
 * Like hubError, for a JSON request: a body that does not parse (SyntaxError) or does not have
 * the `shape` the library reads (a TypeError without a network cause) becomes `malformedAnswer`.
 */
export function jsonRequestError(err: unknown, ctx: HubContext, request: string, expected: string, shape: string, codes?: HubFetch): Error {
  const e = err as { name?: unknown; message?: unknown } | null;
  if (!(err instanceof UserError) && !networkCause(err)) {
    if (e?.name === 'SyntaxError') return malformedAnswer(ctx, request, expected, 'not JSON');
    // V8's words for iterating or reading fields of a value of the wrong type (not the library's own TypeErrors).
    if (e?.name === 'TypeError' && /is not iterable|Cannot read properties of|Cannot convert/.test(String(e.message))) {
      return malformedAnswer(ctx, request, expected, `not ${shape}`);
    }
  }
  return hubError(err, ctx, codes);
}
