// @ts-check
/**
 * @module alcove
 *
 * The Alcove SDK's main entry: the portable core (core.js) plus the browser layer
 * (platform/browser.js), which it makes the default audio output: each audio slot plays through
 * a hidden `<audio>` element and `room.media.localLevel()` meters the microphone. Without a
 * `document` (React Native, Node) that layer stays inert, so this entry imports anywhere.
 * Plain ES modules with JSDoc types, served as they are (no build step).
 *
 * ```js
 * import { connect } from '/sdk/alcove.js';
 *
 * const room = await connect('ws://127.0.0.1:7880/v1/signal', token);
 * room.on('invitationForBreakoutRoom', async (inv) => {
 *   const br = await room.joinBreakoutRoom({ role: 'participant', room_id: inv.room_id }, { audio: true, video: false });
 *   // … later
 *   await br.disconnect();
 * });
 * ```
 *
 * React Native: `@alcove/sdk-js/react-native` (platform/react-native.js).
 *
 * Method and event names are the break-out contract's (see `protocol.js` `SEED_METHODS` and
 * `docs/protocol.md` §9).
 */

import { MediaSession } from './media.js';
import { browserAudioOutput } from './platform/browser.js';

if (MediaSession.defaultAudioOutput === null) MediaSession.defaultAudioOutput = browserAudioOutput;

export * from './core.js';
export { browserAudioOutput, BrowserAudioOutput } from './platform/browser.js';
