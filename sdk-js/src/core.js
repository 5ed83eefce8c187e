// @ts-check
/**
 * @module core
 *
 * The portable core of the Alcove SDK: signalling, the family's state, break-out rooms and the
 * one WebRTC peer connection, with no DOM and no browser-only global (its own emitter,
 * no `structuredClone`, string URL handling; the platform's WebRTC taken from the options or
 * the globals). It runs in browsers, React Native (see platform/react-native.js) and Node.
 *
 * The main entry, alcove.js, is this plus the browser layer (platform/browser.js: slot
 * playback through `<audio>` elements, the microphone meter), which it makes the default.
 *
 * Method and event names are the break-out contract's (see `protocol.js` `SEED_METHODS` and
 * `docs/protocol.md` §9).
 */

import { Room } from './room.js';

export { Room, EnxRoom, DEFAULT_RECONNECT_WINDOW_MS } from './room.js';
export { BreakoutRoom } from './breakout.js';
export { Connection, DEFAULT_ACK_TIMEOUT_MS, toWebSocketUrl } from './connection.js';
export { MediaSession, DEFAULT_AUDIO_CONSTRAINTS } from './media.js';
export { clone } from './clone.js';
export { Emitter } from './events.js';
export {
  ACK_TYPES,
  AlcoveError,
  CAMERA_SIMULCAST,
  CLIENT_TYPES,
  DEFAULT_SIMULCAST,
  DEFAULT_VIDEO_SLOTS,
  ERROR_MESSAGES,
  ErrorCode,
  FACILITATION_METHODS,
  LISTEN_METHODS,
  PROTOCOL_VERSION,
  SEED_CALLBACKS,
  SEED_METHODS,
  SERVER_TYPES,
  SUPPORTED_VERSIONS,
  breakoutOf,
  errorName,
  supportsRoomList,
} from './protocol.js';

/**
 * Connects to the family of the token's room: opens the signalling WebSocket, sends `connect`,
 * and resolves with the parent-room handle once `roomConnected` arrived. Unless
 * `options.media` is false (or the platform has no WebRTC), it then starts negotiating the one
 * peer connection in the background: watch `room.media.state` / the `mediastatechange` event,
 * or await `room.startMedia()`. A media failure never closes the signalling connection.
 *
 * Rejects with an `AlcoveError`: `result` 4101 (token invalid), 4102 (expired), 4103 (used),
 * 4104 (room not found), 4105 (room full), 4106 (version); `code` "closed" when the socket
 * could not be opened.
 *
 * @param {string} url the signalling URL, e.g. `ws://127.0.0.1:7880/v1/signal`
 * @param {string} token a token from `POST /v1/rooms/{room_id}/tokens`
 * @param {import('./room.js').RoomOptions} [options] `WebSocket` (constructor to use, e.g. the
 *   `ws` package in Node), `timeoutMs` (per acknowledgement, default 10000), and the media
 *   options of media.js (`media`, `audio`, `iceServers`, `audioContainer`, …)
 * @returns {Promise<Room>}
 */
export async function connect(url, token, options = {}) {
  const room = new Room(url, options);
  await room.join(token);
  if (room.media.enabled) {
    room.startMedia().catch(() => {
      // Reported through room.media.state and the `mediastatechange` event.
    });
  }
  return room;
}
