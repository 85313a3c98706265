// Image pulls. `POST /images/create` answers 200 as soon as the pull starts; the outcome
// only shows up in the progress stream, so we follow it to its end and fail on `error`.
import type Dockerode from 'dockerode';
import { ValidationError } from '../errors.ts';
import { parseImageRef, type ImageRef } from '../imageRef.ts';
import { hasStatus, toDockerError, type ProgressErrorEntry } from './errors.ts';

export interface PullProgressEvent extends ProgressErrorEntry {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
}

export interface PulledImage {
  imageId: string;
  /** `repository@sha256:…` for the pulled repository; null for images that only exist locally. */
  repoDigest: string | null;
}

export interface ImageInfo extends PulledImage {
  repoDigests: string[];
}

export async function pullImage(
  docker: Dockerode,
  ref: string,
  onProgress?: (event: PullProgressEvent) => void,
  auth?: Dockerode.AuthConfig,
): Promise<PulledImage> {
  const parsed = parseImageRef(ref);
  if (!parsed) throw ValidationError.single('image', `"${ref}" is not a valid image reference`);
  const context = `pull ${ref}`;
  // A digest pins the content; Docker takes it in the `tag` parameter. An empty tag would pull every tag.
  const options = { fromImage: repositoryName(parsed), tag: parsed.digest ?? parsed.tag ?? 'latest' };
  let stream: NodeJS.ReadableStream;
  try {
    stream = auth ? await docker.createImage(auth, options) : await docker.createImage(options);
  } catch (err) {
    throw toDockerError(err, context, ref);
  }

  let failure: ProgressErrorEntry | undefined;
  let digest: string | undefined;
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err) => (err ? reject(toDockerError(err, context, ref)) : resolve()),
      (event: PullProgressEvent) => {
        if (event.error || event.errorDetail) failure ??= event;
        const match = /^Digest: (\S+)$/.exec(event.status ?? '');
        if (match) digest = match[1];
        try {
          onProgress?.(event);
        } catch {
          // A broken progress listener must not abort or corrupt the pull.
        }
      },
    );
  });
  if (failure) throw toDockerError(failure, context, ref);

  const info = await inspectImage(docker, ref);
  if (!info) throw toDockerError({ message: `image ${ref} is missing after a successful pull`, statusCode: 404 }, context, ref);
  return {
    imageId: info.imageId,
    // The stream's "Digest:" line names exactly what was pulled, even when the image has several.
    repoDigest: digest ? `${repositoryName(parsed)}@${digest}` : info.repoDigest,
  };
}

export async function inspectImage(docker: Dockerode, ref: string): Promise<ImageInfo | null> {
  let image: Dockerode.ImageInspectInfo;
  try {
    image = await docker.getImage(ref).inspect();
  } catch (err) {
    if (hasStatus(err, 404)) return null;
    throw toDockerError(err, `inspect image ${ref}`);
  }
  const repoDigests = image.RepoDigests ?? [];
  const parsed = parseImageRef(ref);
  const wanted = parsed ? canonicalRepository(parsed) : null;
  const matching = repoDigests.filter((entry) => {
    const candidate = parseImageRef(entry);
    return candidate !== null && canonicalRepository(candidate) === wanted;
  });
  const pinned = parsed?.digest ? matching.find((entry) => entry.endsWith(`@${parsed.digest}`)) : undefined;
  return { imageId: image.Id, repoDigest: pinned ?? matching[0] ?? null, repoDigests };
}

function repositoryName(ref: ImageRef): string {
  return ref.registry ? `${ref.registry}/${ref.repository}` : ref.repository;
}

// Docker Hub images appear as `busybox`, `library/busybox` or `docker.io/library/busybox`.
function canonicalRepository(ref: ImageRef): string {
  const registry = !ref.registry || ref.registry === 'index.docker.io' ? 'docker.io' : ref.registry;
  const repository = registry === 'docker.io' && !ref.repository.includes('/') ? `library/${ref.repository}` : ref.repository;
  return `${registry}/${repository}`;
}
