import { UserInputError } from '../common/errors.js';
import type { Logger } from '../common/log.js';

/** The environment variables that choose the appliance image (values passed in by the caller). */
export interface ApplianceSettings {
  readonly TOIL_APPLIANCE_SELF?: string | undefined;
  readonly TOIL_DOCKER_REGISTRY?: string | undefined;
  readonly TOIL_DOCKER_NAME?: string | undefined;
}

export const DEFAULT_DOCKER_REGISTRY = 'quay.io/ucsc_cgl';
export const DEFAULT_DOCKER_NAME = 'toil';

// registry[:port]/path/name[:tag][@sha256:digest], lowercase path components, as Docker accepts.
const IMAGE_RE =
  /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/** Toil's checkDockerSchema, and a Docker reference check on top; the message names the variable. */
export function validateImageName(image: string, source: string): void {
  const problem =
    image === ''
      ? 'is empty'
      : image.includes('://')
        ? 'must not contain a URL scheme (://)'
        : image.length > 256
          ? 'is longer than 256 characters'
          : !IMAGE_RE.test(image)
            ? 'is not a Docker image reference like quay.io/ucsc_cgl/toil:9.0.0'
            : undefined;
  if (problem)
    throw new UserInputError('BAD_APPLIANCE_IMAGE', `${source}: '${image}' ${problem}`, { image, source });
}

/**
 * The appliance image the cluster's nodes run: TOIL_APPLIANCE_SELF if set, else
 * `<TOIL_DOCKER_REGISTRY>/<TOIL_DOCKER_NAME>:<version>` with Toil's defaults. Each choice is
 * logged, as Toil logs it, so a wrong image is visible before any node waits for it.
 */
export function applianceImage(settings: ApplianceSettings, version: string, log: Logger): string {
  const self = settings.TOIL_APPLIANCE_SELF?.trim();
  if (self) {
    validateImageName(self, 'TOIL_APPLIANCE_SELF');
    log.info({ image: self }, 'Overriding the appliance image with TOIL_APPLIANCE_SELF');
    return self;
  }
  const pick = (name: 'TOIL_DOCKER_REGISTRY' | 'TOIL_DOCKER_NAME', fallback: string): string => {
    const v = settings[name]?.trim();
    if (v) {
      log.info({ [name]: v }, `Overriding ${name}`);
      return v;
    }
    log.info({ [name]: fallback }, `Using default ${name} as it is not set`);
    return fallback;
  };
  const registry = pick('TOIL_DOCKER_REGISTRY', DEFAULT_DOCKER_REGISTRY).replace(/\/+$/, '');
  const name = pick('TOIL_DOCKER_NAME', DEFAULT_DOCKER_NAME);
  const image = `${registry}/${name}:${version}`;
  validateImageName(image, 'TOIL_DOCKER_REGISTRY/TOIL_DOCKER_NAME');
  log.info({ image }, 'Using the appliance image');
  return image;
}
