// Docker image references, after the distribution/reference grammar:
//   [registry[:port]/]path[:tag][@digest]

export interface ImageRef {
  registry?: string;
  repository: string;
  tag?: string;
  digest?: string;
}

const component = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domain = `(?:${domainComponent}(?:\\.${domainComponent})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?`;
const tag = '[\\w][\\w.-]{0,127}';
const digest = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const pattern = new RegExp(
  `^(?:(${domain})/)?(${component}(?:/${component})*)(?::(${tag}))?(?:@(${digest}))?$`,
);

/** Parses a reference; returns null when it is not valid. */
export function parseImageRef(input: string): ImageRef | null {
  if (input.length === 0 || input.length > 255 + 128 + 72) return null;
  const match = pattern.exec(input);
  if (!match) return null;
  let registry: string | undefined = match[1];
  let repository = match[2];
  const [, , , tagPart, digestPart] = match;
  // "localhost/x" or "a.b/x" or "a:1/x" name a registry; "library/x" does not.
  if (registry && !/[.:]|^localhost$|^\[/.test(registry)) {
    repository = `${registry}/${repository}`;
    registry = undefined;
    if (!new RegExp(`^${component}$`).test(repository.split('/')[0])) return null;
  }
  if (repository.length > 255) return null;
  return { registry, repository, tag: tagPart, digest: digestPart };
}

/** The reference as Docker pulls it: tag defaults to latest unless a digest pins it. */
export function formatImageRef(ref: ImageRef): string {
  const name = ref.registry ? `${ref.registry}/${ref.repository}` : ref.repository;
  if (ref.digest) return `${name}${ref.tag ? `:${ref.tag}` : ''}@${ref.digest}`;
  return `${name}:${ref.tag ?? 'latest'}`;
}
