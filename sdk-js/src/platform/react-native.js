// @ts-check
/**
 * @module platform/react-native
 *
 * The SDK for React Native, on [react-native-webrtc](https://github.com/react-native-webrtc/react-native-webrtc):
 * the portable core (core.js: same `Room`, same seed names, same events) with react-native-webrtc's
 * `RTCPeerConnection`, `mediaDevices` and `MediaStream`, and no browser audio layer (react-native-webrtc
 * plays every received audio track through the device's audio output on its own; routing to the
 * loudspeaker or earpiece is the app's, e.g. with react-native-incall-manager).
 *
 * ```js
 * import * as webrtc from 'react-native-webrtc';
 * import { connect } from '@alcove/sdk-js/react-native';
 *
 * const room = await connect('wss://alcove.example.com/v1/signal', token, { webrtc });
 * room.on('invitationForBreakoutRoom', async (inv) => {
 *   const br = await room.joinBreakoutRoom({ role: 'participant', room_id: inv.room_id }, { audio: true, video: false });
 *   // … later
 *   await br.disconnect();
 * });
 * ```
 *
 * Without `webrtc`, the globals are used: call react-native-webrtc's `registerGlobals()` first.
 * The signalling WebSocket is React Native's global `WebSocket`.
 *
 * What differs from a browser (react-native-webrtc has no `getSynchronizationSources()`):
 * `room.slotLevel(i)` is 0 and `slotAudible` is not emitted; the slot gate still silences every
 * slot at a move's acknowledgement and opens it when the new room's slot map names its talker
 * (without waiting for the old jitter buffer to play out). `room.media.localLevel()` is 0
 * (no WebAudio meter); screen sharing works where react-native-webrtc's `getDisplayMedia` does;
 * `shareCanvas` is not available.
 */

import { Room, connect as connectCore } from '../core.js';

export * from '../core.js';

/**
 * What the adapter takes from react-native-webrtc: `import * as webrtc from 'react-native-webrtc'`
 * (or any object with these three members; a WebRTC package for Node works too).
 * @typedef {{
 *   RTCPeerConnection: unknown,
 *   mediaDevices: unknown,
 *   MediaStream?: unknown,
 * }} ReactNativeWebRTC
 */

/**
 * `connect()` options on React Native: the core's, plus `webrtc`.
 * @typedef {import('../room.js').RoomOptions & {webrtc?: ReactNativeWebRTC}} ReactNativeOptions
 */

/**
 * The core's options for React Native: the platform's WebRTC from `options.webrtc` (else the
 * globals `registerGlobals()` installs), no audio output (react-native-webrtc plays received
 * tracks natively), then whatever `options` sets itself.
 * @param {ReactNativeOptions} [options]
 * @returns {import('../room.js').RoomOptions}
 */
export function reactNativeOptions(options = {}) {
  const { webrtc, ...rest } = options;
  /** @type {any} */
  const g = globalThis;
  return {
    RTCPeerConnection: /** @type {typeof RTCPeerConnection | undefined} */ (webrtc?.RTCPeerConnection ?? g.RTCPeerConnection),
    mediaDevices: /** @type {import('../media.js').MediaDevicesLike | undefined} */ (webrtc?.mediaDevices ?? g.navigator?.mediaDevices),
    MediaStream: /** @type {typeof MediaStream | undefined} */ (webrtc?.MediaStream ?? g.MediaStream),
    audioOutput: null,
    ...rest,
  };
}

/**
 * Connects to the family of the token's room (as core `connect`), with react-native-webrtc.
 * @param {string} url the signalling URL, e.g. `wss://alcove.example.com/v1/signal`
 * @param {string} token a token from `POST /v1/rooms/{room_id}/tokens`
 * @param {ReactNativeOptions} [options] `webrtc` (react-native-webrtc's exports), and the
 *   core's options (`timeoutMs`, `audio`, `iceServers`, `reconnect`, …)
 * @returns {Promise<Room>}
 */
export function connect(url, token, options = {}) {
  return connectCore(url, token, reactNativeOptions(options));
}

/**
 * A parent-room handle that has not connected yet (as `new Room(url, options)`), with
 * react-native-webrtc; `room.join(token)` connects it.
 * @param {string} url
 * @param {ReactNativeOptions} [options]
 * @returns {Room}
 */
export function createRoom(url, options = {}) {
  return new Room(url, reactNativeOptions(options));
}
