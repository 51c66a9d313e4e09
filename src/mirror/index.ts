/** The Go module mirror's public surface (docs/mirror.md). */
export {
  createMirror,
  handleMirror,
  Mirror,
  type MirrorDeps,
  type MirrorResult,
} from './handler.js';
export { startMirrorListeners, type MirrorListeners, type OnMirrorResult } from './listener.js';
export { checkMirror, mirrorGoEnv, mirrorUrl, type MirrorCheck } from './go-env.js';
export { type MirrorErrorCode } from './errors.js';
export { MIRROR_PREFIX } from './request.js';
