// @ts-check
/**
 * The Alcove demo: one page, no framework, no build step. It uses only the public SDK
 * (`/sdk/alcove.js`, served from sdk-js/src) and `POST /demo/join`, which mints a token for the
 * shared demo room while the server runs in development mode.
 *
 * Everything shown is drawn from the room handle's state (`room.users`, `room.breakoutRooms`,
 * `room.invitations`, `room.talkers`, …) on every `statechange`; the only state kept here is
 * what the person selected and typed.
 */

import { AlcoveError, breakoutOf, connect, errorName } from '/sdk/alcove.js';

/** @typedef {import('/sdk/alcove.js').Room} Room */
/** @typedef {import('/sdk/protocol.js').ServerFrame} ServerFrame */
/** @typedef {import('/sdk/protocol.js').BreakoutRoomInfo} BreakoutRoomInfo */
/** @typedef {import('/sdk/protocol.js').UserInfo} UserInfo */
/** @typedef {import('/sdk/protocol.js').RoomSummary} RoomSummary */

// ---------------------------------------------------------------------------------------------
// DOM helpers.

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from index.html`);
  return el;
}

/** @param {string} id */
const button = (id) => /** @type {HTMLButtonElement} */ ($(id));
/** @param {string} id */
const input = (id) => /** @type {HTMLInputElement} */ ($(id));

/**
 * Creates an element. Text children are text nodes (never HTML), so names typed by people are
 * shown as they are.
 * @param {string} tag
 * @param {Record<string, any> | null} [attrs]
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {HTMLElement}
 */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = String(v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

// ---------------------------------------------------------------------------------------------
// State of the page (not of the room: that lives in the SDK's handle).

/** @type {Room | null} */
let room = null;
/** Client ids ticked in the people list (moderators invite / move them). */
const selected = new Set();
/** @type {ReturnType<typeof setInterval> | undefined} */
let meterTimer;
/** @type {number | undefined} */
let canvasAnimation;
/** Audio slot levels above this count as speaking. */
const SPEAKING_LEVEL = 0.02;
/** @type {string | null} The room whose audio the SDK last reported audible (`slotAudible`). */
let hearing = null;
/** @type {ReturnType<typeof setInterval> | undefined} Redraws the countdowns. */
let tickTimer;
/**
 * What the person typed or picked in controls that are redrawn on every change (timer
 * seconds, new names, move targets), by a key naming the control, so a redraw keeps it.
 * @type {Map<string, string>}
 */
const drafts = new Map();
/** @type {{from: string, text: string, at: number}[]} The latest broadcasts received, newest first. */
const broadcasts = [];
/**
 * The room the push-to-talk button is held down for (talk-in on until released), or null.
 * @type {string | null}
 */
let pttRoom = null;
/**
 * Each camera tile's rendered height in device pixels as last told to the server with
 * `room.setVideoSlot` (0: hidden), by video slot; the server forwards the simulcast layer
 * that fits it. Cleared on every join.
 * @type {Map<number, number>}
 */
const tileHeights = new Map();
/** @type {Map<number, ReturnType<typeof setTimeout>>} Debounces a tile's height reports while it is resized. */
const tileHeightTimers = new Map();
/** Watches every camera tile's `<video>` (hiding a tile resizes it to 0). */
const tileObserver = typeof ResizeObserver === 'function'
  ? new ResizeObserver((entries) => {
    for (const e of entries) reportTileHeight(/** @type {HTMLElement} */ (e.target));
  })
  : null;

// ---------------------------------------------------------------------------------------------
// Messages to the person.

/**
 * Shows a message for a few seconds.
 * @param {string} text
 * @param {"info" | "error" | "ok"} [kind]
 */
function toast(text, kind = 'info') {
  const el = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
  $('toasts').prepend(el);
  setTimeout(() => el.classList.add('fade'), kind === 'error' ? 7000 : 3500);
  setTimeout(() => el.remove(), kind === 'error' ? 7600 : 4100);
}

/**
 * A readable sentence for an error.
 * @param {unknown} e
 */
function describe(e) {
  if (e instanceof AlcoveError) {
    if (e.result !== null) {
      const name = errorName(e.result);
      const msg = typeof e.ack?.msg === 'string' ? e.ack.msg : e.message;
      return `${msg} (error ${e.result}${name ? ` ${name}` : ''})`;
    }
    return e.message;
  }
  if (e instanceof DOMException && e.name === 'NotAllowedError') return 'Permission denied by the browser.';
  return e instanceof Error ? e.message : String(e);
}

/**
 * Runs an action from a button: disables it meanwhile, shows errors.
 * @param {HTMLButtonElement | null} btn
 * @param {string} what shown with an error, e.g. "Could not join"
 * @param {() => Promise<unknown>} fn
 */
async function act(btn, what, fn) {
  if (btn) btn.disabled = true;
  try {
    await fn();
  } catch (e) {
    toast(`${what}: ${describe(e)}`, 'error');
    logLine('error', `${what}: ${describe(e)}`);
  } finally {
    if (btn) btn.disabled = false;
    render();
  }
}

// ---------------------------------------------------------------------------------------------
// Event log.

/**
 * @param {string} type
 * @param {string | ServerFrame} body
 */
function logLine(type, body) {
  const time = new Date().toLocaleTimeString([], { hour12: false });
  let text = '';
  let ack = false;
  let failed = false;
  if (typeof body === 'string') {
    text = body;
    failed = type === 'error';
  } else {
    const { type: _t, ...rest } = body;
    ack = body.id !== undefined;
    failed = typeof body.result === 'number' && body.result !== 0;
    text = JSON.stringify(rest);
  }
  const full = text;
  if (text.length > 400) text = `${text.slice(0, 400)}… (${full.length} characters)`;
  const li = h('li', { class: `log-entry${failed ? ' log-failed' : ''}` },
    h('span', { class: 'log-time' }, time),
    h('span', { class: 'log-type' }, type),
    ack ? h('span', { class: 'log-tag', title: 'acknowledgement of a request you made' }, 'ack') : null,
    h('code', { class: 'log-body', title: full.length > 400 ? full.slice(0, 4000) : undefined }, text));
  const log = $('log');
  log.prepend(li);
  while (log.childElementCount > 300) log.lastElementChild?.remove();
}

// ---------------------------------------------------------------------------------------------
// Joining and leaving.

async function join(/** @type {SubmitEvent} */ ev) {
  ev.preventDefault();
  const name = input('join-name').value.trim();
  const roleInput = /** @type {HTMLInputElement | null} */ (document.querySelector('input[name=role]:checked'));
  const role = roleInput?.value ?? 'participant';
  const useMic = input('join-mic').checked;
  const err = $('join-error');
  err.hidden = true;
  if (!name) {
    err.textContent = 'Please enter a name.';
    err.hidden = false;
    return;
  }
  localStorage.setItem('alcove-demo', JSON.stringify({ name, role, useMic }));
  const btn = button('join-button');
  btn.disabled = true;
  btn.textContent = 'Joining…';
  setStatus('connecting…', 'pill-busy');
  try {
    const res = await fetch('/demo/join', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name, role }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok || body.result !== 0) {
      throw new Error(`the server refused the demo token: ${body.msg ?? res.statusText} (${body.result ?? res.status})`);
    }
    const signalUrl = signalUrlFor(body.signal_url);
    const r = await connect(signalUrl, body.token, {
      audio: useMic ? { echoCancellation: true, noiseSuppression: true, autoGainControl: true } : false,
      audioContainer: $('audio-sink'),
    });
    room = r;
    tileHeights.clear();
    // For the browser console (and browser tests): the SDK handle of this page.
    /** @type {any} */ (window).alcoveRoom = r;
    wire(r);
    $('join-view').hidden = true;
    $('room-view').hidden = false;
    setStatus('connected', 'pill-ok');
    logLine('roomConnected', `joined "${r.name}" as ${r.me?.name} (${r.role}), client ${r.clientId}`);
    meterTimer = setInterval(updateMeters, 150);
    tickTimer = setInterval(updateCountdowns, 250);
    render();
  } catch (e) {
    err.textContent = `Could not join: ${describe(e)}`;
    err.hidden = false;
    setStatus('not connected', 'pill-idle');
  } finally {
    btn.disabled = false;
    btn.textContent = 'Join';
  }
}

/**
 * The server names its own WebSocket URL from the Host header; on https pages use wss.
 * @param {string | undefined} fromServer
 */
function signalUrlFor(fromServer) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  if (!fromServer) return `${scheme}//${location.host}/v1/signal`;
  const u = new URL(fromServer);
  u.protocol = scheme;
  return u.toString();
}

/**
 * Subscribes the page to the room.
 * @param {Room} r
 */
function wire(r) {
  r.on('frame', (/** @type {ServerFrame} */ f) => {
    logLine(f.type, f);
    explain(r, f);
  });
  r.on('statechange', () => render());
  r.on('mediastatechange', () => renderMedia());
  r.on('videoSlotsUpdated', () => renderMedia());
  // A resumed connection starts from the server's default layers: report every tile again.
  r.on('reconnected', () => {
    tileHeights.clear();
    for (const v of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('#camera-grid video'))) reportTileHeight(v);
  });
  // The SDK says when a room's audio is really playing (after a move, once the old room's
  // buffered audio is gone): show it, and log it with how long it took.
  r.on('slotAudible', (/** @type {{slot: number, clientId: string, roomId: string, ms: number}} */ e) => {
    hearing = e.roomId;
    logLine('slotAudible', `${r.users.get(e.clientId)?.name ?? e.clientId} audible in ${roomName(r, e.roomId)} (slot ${e.slot}, ${e.ms} ms)`);
    renderMedia();
  });
  r.on('protocolerror', (/** @type {Error} */ e) => logLine('error', `undecodable frame: ${e.message}`));
  r.on('close', (/** @type {{code: number, reason: string}} */ info) => {
    logLine('close', `connection closed (${info.code}${info.reason ? ` ${info.reason}` : ''})`);
    left(info.reason === 'client left'
      ? 'You left the call.'
      : `Disconnected (${info.code}${info.reason ? `: ${info.reason}` : ''}).`);
  });
}

/**
 * Back to the join form.
 * @param {string} message
 */
function left(message) {
  if (meterTimer) clearInterval(meterTimer);
  if (tickTimer) clearInterval(tickTimer);
  stopCanvasAnimation();
  room = null;
  selected.clear();
  drafts.clear();
  broadcasts.length = 0;
  pttRoom = null;
  $('broadcasts').replaceChildren();
  $('room-view').hidden = true;
  $('join-view').hidden = false;
  $('whoami').hidden = true;
  setStatus('not connected', 'pill-idle');
  const err = $('join-error');
  err.textContent = message;
  err.hidden = false;
}

/**
 * @param {string} text
 * @param {string} cls
 */
function setStatus(text, cls) {
  const el = $('conn-status');
  el.textContent = text;
  el.className = `pill ${cls}`;
}

/**
 * Tells the person about things that happen to them (the log shows everything).
 * @param {Room} r
 * @param {ServerFrame} f
 */
function explain(r, f) {
  switch (f.type) {
    case 'invitationForBreakoutRoom':
      toast(f.force_join
        ? `${f.requestor.name} is moving you to ${roomName(r, f.room_id)}.`
        : `${f.requestor.name} invites you to ${roomName(r, f.room_id)}.`);
      break;
    case 'connectedBreakoutRoom':
      toast(`You are now in ${f.name}. The main room is paused.`, 'ok');
      break;
    case 'didDisconnectedBreakoutRoom':
      if (f.id !== undefined || !f.room_id) break;
      if (f.reason === 'moved') {
        const to = breakoutOf(f.location);
        toast(`You were moved to ${to ? roomName(r, to) : 'another room'}.`, 'ok');
      } else if (f.reason === 'timeout') {
        toast('Time is up: you are back in the main room.', 'ok');
      } else if (f.reason !== 'owner_notice' && r.breakoutHandle(f.room_id)?.connected === false && r.location === 'parent') {
        toast('The break-out rooms were closed. You are back in the main room.', 'ok');
      }
      break;
    case 'breakoutTimerWarning':
      toast(`${roomName(r, f.room_id)} ends in ${formatMs(r.msUntil(f.ends_at))}.`);
      break;
    case 'broadcastReceived':
      broadcasts.unshift({ from: f.from.name, text: f.text, at: f.at });
      broadcasts.length = Math.min(broadcasts.length, 3);
      renderBroadcasts();
      toast(`${f.from.name}: ${f.text}`);
      break;
    case 'helpRequested':
      toast(`${f.name} asks for help in ${roomName(r, f.room_id)}.`);
      break;
    case 'helpAnswered':
      toast(`${f.by.name} joined to help.`, 'ok');
      break;
    case 'helpDismissed':
      toast(`${f.by.name} closed your help request.`);
      break;
    case 'memberMuted':
      if (f.clientId === r.clientId) toast(f.muted ? `${f.by?.name ?? 'A moderator'} muted you.` : 'You are unmuted.', f.muted ? 'info' : 'ok');
      break;
    case 'unmuteAsked':
      toast(`${f.by.name} asks you to unmute.`);
      break;
    case 'breakoutInvitationWithdrawn':
      toast(`An invitation was withdrawn: the room was closed.`);
      break;
    case 'audioBroadcast':
      toast(f.on ? `${f.from.name} is speaking to every room.` : `${f.from.name} stopped speaking to every room.`);
      break;
    case 'listeningChanged':
      if (!f.listening) toast('Listening ended: the room closed or you left the main room.');
      break;
    case 'roomDisconnected':
      toast(`The room ended: ${f.msg}`, 'error');
      break;
    case 'error':
      toast(`Server error ${f.result}: ${f.msg}`, 'error');
      break;
    default:
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering.

/**
 * @param {Room} r
 * @param {string} roomId
 */
function roomName(r, roomId) {
  if (roomId === r.roomId) return 'the main room';
  const info = r.roomList.get(roomId) ?? r.breakoutRooms.get(roomId) ?? r.breakoutHandle(roomId)?.info;
  if (info?.name) return info.name;
  return `a break-out room (id …${roomId.slice(-4)})`;
}

/**
 * @param {Room} r
 * @param {UserInfo} u
 */
function locationLabel(r, u) {
  const br = breakoutOf(u.location);
  return br ? roomName(r, br) : 'Main room';
}

function render() {
  const r = room;
  if (!r) return;
  // Redraws replace the room cards: give the focus back to the control the person was typing in.
  const focused = /** @type {HTMLElement | null} */ (document.activeElement);
  const focusKey = focused?.dataset?.draft;
  const caret = focused instanceof HTMLInputElement && focused.type === 'text' ? focused.selectionStart : null;
  draw(r);
  if (focusKey) {
    const again = /** @type {HTMLInputElement | null} */ (document.querySelector(`[data-draft="${CSS.escape(focusKey)}"]`));
    if (again && again !== focused) {
      again.focus();
      if (caret !== null && again.type === 'text') again.setSelectionRange(caret, caret);
    }
  }
}

/** @param {Room} r */
function draw(r) {
  const me = r.me;
  const isMod = r.role === 'moderator';

  // Header.
  const who = $('whoami');
  who.hidden = false;
  who.replaceChildren(h('strong', null, me?.name ?? '?'), ' · ', r.role ?? '', ' · ', r.name);

  // Where I am.
  const inBr = breakoutOf(r.location);
  $('here-name').textContent = inBr ? roomName(r, inBr) : 'Main room';
  const badges = [];
  if (inBr) badges.push(h('span', { class: `badge ${r.paused ? 'badge-warn' : 'badge-ok'}` }, r.paused ? 'main room paused' : 'hearing main room too'));
  if (r.muted.audio) badges.push(h('span', { class: 'badge badge-warn' }, 'muted in main room'));
  $('br-controls').hidden = !inBr;
  button('btn-pause').hidden = r.paused;
  button('btn-resume').hidden = !r.paused;
  button('btn-mute').hidden = r.muted.audio;
  button('btn-unmute').hidden = !r.muted.audio;

  if (r.mutedByModerator) badges.push(h('span', { class: 'badge badge-warn' }, 'muted by a moderator'));
  $('here-badges').replaceChildren(...badges);

  // Facilitation: the help button, the moderator mute notice.
  $('help-controls').hidden = !inBr;
  button('btn-help').hidden = !!r.helpRequest;
  button('btn-cancel-help').hidden = !r.helpRequest;
  $('help-status').textContent = r.helpRequest ? 'Waiting for a moderator…' : '';
  $('mod-mute').hidden = !r.mutedByModerator;
  $('mod-mute-text').textContent = r.unmuteAskedBy
    ? `${r.unmuteAskedBy.name} asks you to unmute.`
    : 'A moderator muted you: nobody hears you until a moderator asks you to unmute.';
  button('btn-unmute-self').hidden = !r.unmuteAskedBy;

  renderMonitored(r);
  renderInvitations(r);
  renderPeople(r, isMod);
  $('mod-panel').hidden = !isMod;
  $('room-list-card').hidden = isMod;
  if (isMod) {
    renderListenIn(r);
    renderRooms(r);
    renderHelpQueue(r);
    renderBroadcastTargets(r);
  } else {
    renderRoomList(r);
  }
  renderMedia();
  updateCountdowns();
}

/**
 * `m:ss` (or `h:mm:ss`) for a duration in ms, rounded up to the second.
 * @param {number} ms
 */
function formatMs(ms) {
  const total = Math.ceil(ms / 1000);
  const hours = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/**
 * A countdown element for a room's timer, filled in by {@link updateCountdowns}.
 * @param {string} roomId
 */
function countdown(roomId) {
  return h('span', { class: 'countdown', dataset: { countdown: roomId } });
}

/** Redraws every countdown from the SDK's timer state (server clock corrected). */
function updateCountdowns() {
  const r = room;
  if (!r) return;
  for (const el of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('[data-countdown]'))) {
    const left = r.timeLeft(el.dataset.countdown ?? '');
    el.textContent = left === null ? '' : `ends in ${formatMs(left)}`;
    el.classList.toggle('ending', left !== null && left <= 60_000);
  }
  const inBr = breakoutOf(r.location);
  const left = inBr ? r.timeLeft(inBr) : null;
  const timer = $('here-timer');
  timer.hidden = left === null;
  timer.textContent = left === null ? '' : `This room closes in ${formatMs(left)}`;
  timer.classList.toggle('ending', left !== null && left <= 60_000);
}

function renderBroadcasts() {
  $('broadcasts').replaceChildren(...broadcasts.map((b) => h('div', { class: 'broadcast' },
    h('strong', null, `${b.from}: `), b.text)));
}

/**
 * An input whose value survives redraws (kept in {@link drafts}).
 * @param {string} key
 * @param {Record<string, any>} attrs
 */
function draftInput(key, attrs) {
  const el = /** @type {HTMLInputElement} */ (h('input', { ...attrs, dataset: { draft: key } }));
  const saved = drafts.get(key);
  if (saved !== undefined) el.value = saved;
  el.addEventListener('input', () => drafts.set(key, el.value));
  return el;
}

/**
 * A small button that runs `fn` through {@link act}.
 * @param {string} label
 * @param {string} title
 * @param {() => Promise<unknown>} fn
 * @param {string} [cls]
 */
function mkButton(label, title, fn, cls = '') {
  const btn = /** @type {HTMLButtonElement} */ (h('button', { class: cls, title }, label));
  btn.addEventListener('click', () => act(btn, label, fn));
  return btn;
}

/**
 * Privacy is visible: the members of a room a moderator listens to see who listens (and who
 * talks in) — the SDK keeps it from `monitoredBy`; a broadcast heard says who speaks.
 * @param {Room} r
 */
function renderMonitored(r) {
  const inBr = breakoutOf(r.location);
  const m = inBr ? r.monitoredBy.get(inBr) : undefined;
  const banner = $('monitored');
  if (!m || m.moderators.length === 0) {
    banner.hidden = true;
    banner.textContent = '';
  } else {
    const names = m.moderators.map((u) => u.name).join(', ');
    const talking = m.moderators.filter((u) => m.talking.includes(u.clientId)).map((u) => u.name);
    banner.hidden = false;
    banner.textContent = `This room is being listened to by ${names}.`
      + (talking.length ? ` ${talking.join(', ')} ${talking.length === 1 ? 'is' : 'are'} talking to the room.` : '');
  }
  const heard = [...r.audioBroadcasts.values()];
  const bc = $('audio-broadcast');
  bc.hidden = heard.length === 0;
  bc.textContent = heard.length ? `${heard.map((u) => u.name).join(', ')} ${heard.length === 1 ? 'is' : 'are'} speaking to every room.` : '';
}

/**
 * Moderators in the main room: one tile per break-out room (members, a speaking dot, its
 * timer), a Listen toggle, a push-to-talk button (talk-in while held) and the audio broadcast
 * button. The speaking dot lights for the rooms whose members this moderator hears (the room
 * listened to, and members heard in the main room).
 * @param {Room} r
 */
function renderListenIn(r) {
  const inParent = breakoutOf(r.location) === null;
  const panel = $('listen-panel');
  panel.hidden = !inParent;
  if (!inParent) return;
  const rooms = [...r.breakoutRooms.values()];
  if (pttRoom && r.listening !== pttRoom) pttRoom = null; // listening ended or switched
  const state = [];
  if (r.listening) state.push(`Listening to ${roomName(r, r.listening)}${r.listenParent === 'paused' ? ' (main room paused)' : ''}`);
  if (r.talking) state.push('talking in');
  if (r.broadcasting) state.push('broadcasting to every room');
  $('listen-state').textContent = state.join(' · ');
  const bcBtn = button('btn-audio-broadcast');
  bcBtn.textContent = r.broadcasting ? 'Stop broadcasting' : 'Broadcast to all rooms';
  bcBtn.classList.toggle('on', r.broadcasting);
  if (rooms.length === 0) {
    $('listen-grid').replaceChildren(h('p', { class: 'muted' }, 'No break-out rooms to listen to.'));
    return;
  }
  $('listen-grid').replaceChildren(...rooms.map((b) => {
    const listening = r.listening === b.room_id;
    const talking = listening && r.talking;
    const listenBtn = mkButton(listening ? 'Stop listening' : 'Listen',
      listening ? 'stopListening()' : 'listenTo(roomId, {parent}): hear this room from the main room',
      () => (listening ? r.stopListening() : r.listenTo(b.room_id, { parent: input('listen-paused').checked ? 'paused' : 'mixed' })),
      `listen-btn${listening ? ' on' : ''}`);
    const ptt = /** @type {HTMLButtonElement} */ (h('button', {
      class: `ptt-btn${pttRoom === b.room_id ? ' pressed' : ''}`,
      title: 'talkTo(roomId, true) while held: your voice goes into this room',
    }, 'Hold to talk'));
    ptt.disabled = !listening;
    ptt.addEventListener('pointerdown', (ev) => {
      ev.preventDefault();
      void pushToTalk(r, b.room_id, true);
    });
    ptt.addEventListener('keydown', (ev) => {
      if ((ev.key === ' ' || ev.key === 'Enter') && !ev.repeat) {
        ev.preventDefault();
        void pushToTalk(r, b.room_id, true);
      }
    });
    ptt.addEventListener('keyup', (ev) => {
      if (ev.key === ' ' || ev.key === 'Enter') void pushToTalk(r, b.room_id, false);
    });
    return h('div', { class: `listen-tile${listening ? ' listening' : ''}${talking ? ' talking' : ''}`, dataset: { roomId: b.room_id } },
      h('div', { class: 'tile-head' },
        h('span', { class: 'dot', dataset: { speakingRoom: b.room_id } }),
        h('strong', null, b.name || `…${b.room_id.slice(-6)}`),
        countdown(b.room_id)),
      h('div', { class: 'tile-members' }, b.members.length ? b.members.map((m) => m.name).join(', ') : 'nobody yet'),
      h('div', { class: 'button-row' }, listenBtn, ptt));
  }));
}

/**
 * Push-to-talk: talk-in on while the button is held (released anywhere on the page: the
 * tiles are redrawn on every change, so the release is caught on the document).
 * @param {Room} r
 * @param {string} roomId
 * @param {boolean} on
 */
async function pushToTalk(r, roomId, on) {
  if (on && pttRoom === roomId) return;
  if (!on && pttRoom !== roomId) return;
  pttRoom = on ? roomId : null;
  render();
  try {
    await r.talkTo(roomId, on);
  } catch (e) {
    pttRoom = null;
    toast(`Could not talk into the room: ${describe(e)}`, 'error');
    render();
  }
}

/**
 * Participants and viewers: every live room (the SDK's room list), with its countdown, and a
 * Join button for open (self-select) rooms.
 * @param {Room} r
 */
function renderRoomList(r) {
  const rooms = [...r.roomList.values()];
  const inBr = breakoutOf(r.location);
  if (rooms.length === 0) {
    $('room-list').replaceChildren(h('p', { class: 'muted' }, 'No break-out rooms right now.'));
    return;
  }
  $('room-list').replaceChildren(...rooms.map((b) => {
    const here = inBr === b.room_id;
    const full = b.members >= b.participants;
    const canJoin = !here && b.self_select && r.role === 'participant';
    return h('div', { class: `room-card${here ? ' here-card' : ''}`, dataset: { roomId: b.room_id } },
      h('div', { class: 'room-head' },
        h('strong', null, b.name),
        h('span', { class: 'muted small' }, ` ${b.members} in · ${b.participants} places`),
        b.self_select ? h('span', { class: 'badge badge-ok' }, 'open') : null,
        here ? h('span', { class: 'badge badge-ok' }, 'you are here') : null,
        countdown(b.room_id)),
      canJoin
        ? h('div', { class: 'button-row' }, mkButton(full ? 'Full' : 'Join this room',
          'joinBreakoutRoom(): an open room needs no invitation; from another room you switch in one step',
          () => r.joinBreakoutRoom({ role: 'participant', room_id: b.room_id }, { audio: true, video: false }), 'primary self-join'))
        : null);
  }));
}

/**
 * Moderators: the help queue, oldest first, with Join and Dismiss.
 * @param {Room} r
 */
function renderHelpQueue(r) {
  const items = [...r.helpRequests.values()].sort((a, b) => a.at - b.at);
  $('help-count').textContent = String(items.length);
  if (items.length === 0) {
    $('help-queue').replaceChildren(h('li', { class: 'muted small' }, 'Nobody is waiting for help.'));
    return;
  }
  $('help-queue').replaceChildren(...items.map((q) => h('li', { class: 'help-item', dataset: { clientId: q.clientId } },
    h('span', { class: 'grow' }, h('strong', null, q.name), ' in ', roomName(r, q.room_id),
      h('span', { class: 'muted small' }, ` · ${new Date(q.at - r.clockOffsetMs).toLocaleTimeString([], { hour12: false })}`)),
    breakoutOf(r.location) === q.room_id ? null : mkButton('Join', 'joinBreakoutRoom({role: "moderator"}): answers the request',
      () => r.joinBreakoutRoom({ role: 'moderator', room_id: q.room_id }, { audio: true, video: false }), 'primary'),
    mkButton('Dismiss', 'dismissHelp(clientId)', () => r.dismissHelp(q.clientId)))));
}

/**
 * Moderators: the broadcast's target list (every room, the main room, each break-out room).
 * @param {Room} r
 */
function renderBroadcastTargets(r) {
  const sel = /** @type {HTMLSelectElement} */ ($('bc-room'));
  const keep = sel.value;
  const opts = [h('option', { value: '' }, 'every room'), h('option', { value: r.roomId }, 'the main room')];
  for (const b of r.roomList.values()) opts.push(h('option', { value: b.room_id }, b.name));
  sel.replaceChildren(...opts);
  if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
}

/** @param {Room} r */
function renderInvitations(r) {
  const cards = [...r.invitations.values()].map((inv) => {
    const acceptBtn = /** @type {HTMLButtonElement} */ (h('button', { class: 'primary' }, 'Join'));
    const rejectBtn = /** @type {HTMLButtonElement} */ (h('button', null, 'Decline'));
    const inBr = breakoutOf(r.location);
    acceptBtn.addEventListener('click', () => act(acceptBtn, 'Could not join the break-out room', async () => {
      await r.joinBreakoutRoom({ role: 'participant', room_id: inv.room_id }, { audio: true, video: false });
    }));
    rejectBtn.addEventListener('click', () => act(rejectBtn, 'Could not decline', () => r.rejectBreakOutRoom(inv.room_id)));
    if (inBr) acceptBtn.title = 'You switch rooms in one step (never through the main room).';
    return h('div', { class: 'invitation' },
      h('div', null,
        h('strong', null, inv.requestor.name), ' invites you to ', h('strong', null, roomName(r, inv.room_id)),
        inBr ? h('div', { class: 'muted small' }, 'Joining moves you out of your current break-out room.') : null),
      h('div', { class: 'button-row' }, acceptBtn, rejectBtn));
  });
  $('invitations').replaceChildren(...cards);
}

/**
 * @param {Room} r
 * @param {boolean} isMod
 */
function renderPeople(r, isMod) {
  const users = [...r.users.values()];
  $('people-count').textContent = String(users.length);
  $('people-hint').hidden = !isMod;
  for (const id of [...selected]) if (!r.users.has(id)) selected.delete(id);
  const rows = users.map((u) => {
    const mine = u.clientId === r.clientId;
    const box = isMod && !mine
      ? /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', title: 'select for invite / move', 'aria-label': `select ${u.name}` }))
      : null;
    if (box) {
      box.checked = selected.has(u.clientId);
      box.addEventListener('change', () => {
        if (box.checked) selected.add(u.clientId);
        else selected.delete(u.clientId);
      });
    }
    const where = breakoutOf(u.location);
    return h('li', { class: `person${mine ? ' me' : ''}`, dataset: { clientId: u.clientId } },
      box ?? h('span', { class: 'box-space' }),
      h('i', { class: 'dot', title: 'speaking indicator' }),
      h('span', { class: 'person-name' }, u.name, mine ? h('span', { class: 'muted' }, ' (you)') : null),
      h('span', { class: `role role-${u.role}` }, u.role),
      h('span', { class: `where${where ? ' where-br' : ''}` }, locationLabel(r, u)),
      h('span', { class: 'flags' },
        u.paused ? h('span', { class: 'flag flag-paused', title: 'main room paused: does not hear the main room, is not heard there' }, 'paused') : null,
        u.muted.audio ? h('span', { class: 'flag flag-muted', title: 'muted in the main room' }, 'muted') : null,
        (mine ? r.mutedByModerator : r.moderatorMuted.has(u.clientId))
          ? h('span', { class: 'flag flag-modmuted', title: 'muted by a moderator: the server drops their audio' }, 'mod-muted') : null),
      isMod && !mine ? personTools(r, u) : null);
  });
  $('people').replaceChildren(...rows);
}

/**
 * Moderators: move a person to a room of their choice, mute them, ask them to unmute.
 * @param {Room} r
 * @param {UserInfo} u
 */
function personTools(r, u) {
  const where = breakoutOf(u.location);
  const key = `move:${u.clientId}`;
  const sel = /** @type {HTMLSelectElement} */ (h('select', { 'aria-label': `move ${u.name} to`, class: 'move-target' },
    h('option', { value: '' }, 'move to…'),
    ...[...r.roomList.values()].filter((b) => b.room_id !== where).map((b) => h('option', { value: b.room_id }, b.name))));
  const saved = drafts.get(key);
  if (saved && [...sel.options].some((o) => o.value === saved)) sel.value = saved;
  sel.addEventListener('change', () => drafts.set(key, sel.value));
  const muted = r.moderatorMuted.has(u.clientId);
  return h('div', { class: 'person-tools' },
    sel,
    mkButton('Move', 'moveToBreakoutRoom(clientId, roomId): one step, from the main room or another break-out room', async () => {
      if (!sel.value) throw new Error('pick a room first');
      await r.moveToBreakoutRoom(u.clientId, sel.value);
      drafts.delete(key);
    }, 'move-btn'),
    muted
      ? mkButton('Ask to unmute', 'askToUnmute(clientId)', () => r.askToUnmute(u.clientId), 'ask-unmute-btn')
      : mkButton('Mute', 'muteMember({clientId}): the server drops their audio', () => r.muteMember({ clientId: u.clientId }), 'mute-btn'));
}

/** @param {Room} r */
function renderRooms(r) {
  const rooms = [...r.breakoutRooms.values()];
  const inBr = breakoutOf(r.location);
  const size = input('cr-size');
  if (r.settings) size.max = String(Math.max(2, r.settings.max_active_talkers - 1));
  if (rooms.length === 0) {
    $('rooms').replaceChildren(h('p', { class: 'muted' }, 'No break-out rooms. Create some above.'));
    return;
  }
  const cards = rooms.map((b) => {
    const mk = (/** @type {string} */ label, /** @type {string} */ title, /** @type {() => Promise<unknown>} */ fn, cls = '') => {
      const btn = /** @type {HTMLButtonElement} */ (h('button', { class: cls, title }, label));
      btn.addEventListener('click', () => act(btn, label, fn));
      return btn;
    };
    const invite = (/** @type {boolean} */ force) => async () => {
      const clients = [...selected];
      if (clients.length === 0) throw new Error('tick one or more people in the list first');
      const ack = await r.inviteToBreakOutRoom({ clients, room_id: b.room_id, force_join: force });
      const failed = /** @type {{clientId: string, result: number, msg: string}[]} */ (ack.failed ?? []);
      for (const f of failed) toast(`${r.users.get(f.clientId)?.name ?? f.clientId}: ${f.msg} (${f.result})`, 'error');
      if (ack.invited?.length) toast(`${force ? 'Moved' : 'Invited'} ${ack.invited.length} to ${b.name || 'the room'}.`, 'ok');
      selected.clear();
    };
    const here = inBr === b.room_id;
    const secs = draftInput(`timer:${b.room_id}`, { type: 'number', min: '1', max: '86400', placeholder: 'sec', 'aria-label': 'timer seconds', class: 'timer-seconds' });
    const warn = draftInput(`warn:${b.room_id}`, { type: 'number', min: '0', max: '86400', placeholder: 'warn s', 'aria-label': 'warning seconds before the end', class: 'timer-warning' });
    const newName = draftInput(`name:${b.room_id}`, { type: 'text', maxlength: '64', placeholder: 'new name', 'aria-label': 'new name', class: 'rename-input' });
    const open = !!b.self_select;
    const tools = h('div', { class: 'room-tools' },
      secs, warn,
      mkButton('Set timer', 'setBreakoutDuration(roomId, seconds, {warning})', async () => {
        const n = Number(secs.value);
        if (!Number.isInteger(n) || n < 1) throw new Error('give the timer in whole seconds');
        await r.setBreakoutDuration(b.room_id, n, warn.value === '' ? {} : { warning: Number(warn.value) });
        drafts.delete(`timer:${b.room_id}`);
        drafts.delete(`warn:${b.room_id}`);
      }, 'set-timer'),
      r.timeLeft(b.room_id) !== null ? mkButton('Clear timer', 'setBreakoutDuration(roomId, null)', () => r.setBreakoutDuration(b.room_id, null), 'clear-timer') : null,
      newName,
      mkButton('Rename', 'renameBreakoutRoom(roomId, name)', async () => {
        await r.renameBreakoutRoom(b.room_id, newName.value);
        drafts.delete(`name:${b.room_id}`);
      }, 'rename-btn'),
      mkButton(open ? 'Close to self-join' : 'Open to self-join', `setSelfSelect(${!open}, roomId)`, () => r.setSelfSelect(!open, b.room_id), 'self-select-btn'),
      mkButton('Mute room', 'muteMember({roomId}): every member except moderators', () => r.muteMember({ roomId: b.room_id }), 'mute-room-btn'));
    return h('div', { class: `room-card${here ? ' here-card' : ''}`, dataset: { roomId: b.room_id } },
      h('div', { class: 'room-head' },
        h('strong', null, b.name || `…${b.room_id.slice(-6)}`),
        h('span', { class: 'muted small' }, ` ${b.members.length} in · ${b.participants} places · owner ${b.owner.name}`),
        b.share ? h('span', { class: 'badge' }, 'share') : null,
        b.canvas ? h('span', { class: 'badge' }, 'canvas') : null,
        open ? h('span', { class: 'badge badge-ok' }, 'open') : null,
        here ? h('span', { class: 'badge badge-ok' }, 'you are here') : null,
        countdown(b.room_id)),
      h('div', { class: 'room-body' },
        h('div', null, h('span', { class: 'muted small' }, 'In the room: '),
          b.members.length ? b.members.map((m) => m.name).join(', ') : h('span', { class: 'muted' }, 'nobody yet')),
        h('div', null, h('span', { class: 'muted small' }, 'Invited: '),
          b.invitations.length
            ? b.invitations.map((c) => r.users.get(c)?.name ?? c).join(', ')
            : h('span', { class: 'muted' }, 'no pending invitations'))),
      h('div', { class: 'button-row' },
        mk('Invite selected', 'inviteToBreakOutRoom({force_join: false})', invite(false)),
        mk('Move selected', 'inviteToBreakOutRoom({force_join: true}): they join at once', invite(true)),
        here ? null : mk('Join (moderator)', 'joinBreakoutRoom({role: "moderator"}): does not take a place',
          () => r.joinBreakoutRoom({ role: 'moderator', room_id: b.room_id }, { audio: true, video: false })),
        here ? null : mk('Join as participant', 'joinBreakoutRoom({role: "participant"}): takes a place',
          () => r.joinBreakoutRoom({ role: 'participant', room_id: b.room_id }, { audio: true, video: false }))),
      tools);
  });
  $('rooms').replaceChildren(...cards);
}

function renderMedia() {
  const r = room;
  if (!r) return;
  const m = r.media;
  const st = m.state;
  /** @type {string[]} */
  const parts = [];
  switch (st.state) {
    case 'idle': parts.push('Audio: not started'); break;
    case 'negotiating': parts.push('Audio: connecting…'); break;
    case 'connected': parts.push(`Audio: ${st.connectionState === 'connected' ? 'connected' : `negotiated (transport ${st.connectionState})`}`); break;
    case 'failed': parts.push(`Audio unavailable: ${st.error ? describe(st.error) : 'failed'}`); break;
    case 'closed': parts.push('Audio: closed'); break;
    case 'disabled': parts.push('Audio: not supported in this browser'); break;
    default:
  }
  // What the SDK last reported audible, while it is still the room this person is in.
  if (st.state === 'connected' && hearing && hearing === (breakoutOf(r.location) ?? r.roomId)) parts.push(`hearing ${roomName(r, hearing)}`);
  if (st.micError) parts.push(`microphone unavailable (${describe(st.micError)})`);
  else if (!m.micStream) parts.push('no microphone');
  const status = $('media-status');
  status.textContent = parts.join(' · ');
  status.className = `media-status ${st.state === 'failed' || st.micError ? 'warn' : ''}`;
  button('btn-enable-audio').hidden = !st.autoplayBlocked;

  const micTrack = m.micStream?.getAudioTracks()[0];
  const micBtn = button('btn-mic');
  micBtn.disabled = !micTrack;
  micBtn.textContent = micTrack && !micTrack.enabled ? 'Unmute microphone' : 'Mute microphone';

  // Sharing is allowed where the current room allows it.
  const br = breakoutOf(r.location);
  const info = br ? r.breakoutRooms.get(br) ?? r.breakoutHandle(br)?.info : null;
  const shareAllowed = br ? !!info?.share : !!r.settings?.screen_share;
  const canvasAllowed = br ? !!info?.canvas : !!r.settings?.canvas;
  const connected = st.state === 'connected';
  const sharing = !!m.localShareTrack;
  const canvasing = !!m.localCanvasTrack;
  const shareBtn = button('btn-share');
  shareBtn.textContent = sharing ? 'Stop sharing screen' : 'Share screen';
  shareBtn.disabled = !connected || (!sharing && (!shareAllowed || (!!r.share && r.share.clientId !== r.clientId)));
  shareBtn.title = !connected ? 'media is not connected' : !shareAllowed ? 'screen share is not enabled in this room'
    : r.share && r.share.clientId !== r.clientId ? `${r.share.name} is sharing` : '';
  const canvasBtn = button('btn-canvas');
  canvasBtn.textContent = canvasing ? 'Stop canvas' : 'Share canvas';
  canvasBtn.disabled = !connected || (!canvasing && (!canvasAllowed || (!!r.canvas && r.canvas.clientId !== r.clientId)));
  canvasBtn.title = !connected ? 'media is not connected' : !canvasAllowed ? 'canvas is not enabled in this room'
    : r.canvas && r.canvas.clientId !== r.clientId ? `${r.canvas.name} is streaming a canvas` : '';

  showRemote('share', r.share && r.share.clientId !== r.clientId ? r.share : null, () => r.shareTrack(), 'Screen shared by');
  showRemote('canvas', r.canvas && r.canvas.clientId !== r.clientId ? r.canvas : null, () => r.canvasTrack(), 'Canvas from');
  $('local-canvas-figure').hidden = !canvasing;
  if (!canvasing) stopCanvasAnimation();
  renderCameras(r, connected, !!br);
}

/**
 * The camera grid (protocol 4): one tile per video slot that shows someone, in the main room
 * only; in a break-out room the grid is hidden and a note says why.
 * @param {Room} r
 * @param {boolean} connected
 * @param {boolean} inBreakout
 */
function renderCameras(r, connected, inBreakout) {
  const m = r.media;
  const slots = m.videoSlotCount;
  const publishing = !!m.localCameraTrack;
  const camBtn = button('btn-camera');
  camBtn.hidden = slots === 0;
  camBtn.textContent = publishing ? 'Stop camera' : 'Start camera';
  camBtn.disabled = !connected;
  $('cameras').hidden = slots === 0;
  $('cameras-br-note').hidden = !inBreakout;
  const grid = $('camera-grid');
  grid.hidden = inBreakout;
  /** @type {string[]} */
  const names = [];
  if (publishing) names.push(inBreakout ? 'you (not shown here)' : 'you');
  for (let i = 0; i < slots; i++) {
    let fig = /** @type {HTMLElement | null} */ (grid.querySelector(`figure[data-slot="${i}"]`));
    if (!fig) {
      fig = document.createElement('figure');
      fig.dataset.slot = String(i);
      const v = document.createElement('video');
      v.autoplay = true;
      v.playsInline = true;
      v.muted = true;
      fig.append(v, document.createElement('figcaption'));
      grid.append(fig);
      tileObserver?.observe(v);
    }
    const who = inBreakout ? undefined : r.videoSlots.get(i);
    const video = /** @type {HTMLVideoElement} */ (fig.querySelector('video'));
    const t = who ? r.videoSlotTrack(i) : null;
    fig.hidden = !who || !t;
    fig.dataset.clientId = who?.clientId ?? '';
    /** @type {HTMLElement} */ (fig.querySelector('figcaption')).textContent = who ? who.name : '';
    if (!who || !t) continue;
    names.push(who.name);
    const current = /** @type {MediaStream | null} */ (video.srcObject);
    if (!current || current.getVideoTracks()[0] !== t) {
      video.srcObject = new MediaStream([t]);
      video.play().catch(() => {});
    }
  }
  $('on-camera').textContent = names.length ? `· on camera: ${names.join(', ')}` : '· nobody on camera';
}

/**
 * Tells the server (`setVideoSlot`) how tall a camera tile is rendered: its CSS height ×
 * `devicePixelRatio`, 0 while hidden (in a break-out room, or no one on that slot). Reported
 * 100 ms after the last resize, and only when it changed.
 * @param {HTMLElement} video the tile's `<video>`
 */
function reportTileHeight(video) {
  const slot = Number(video.closest('figure')?.dataset.slot);
  if (!Number.isInteger(slot)) return;
  clearTimeout(tileHeightTimers.get(slot));
  tileHeightTimers.set(slot, setTimeout(() => {
    const r = room;
    if (!r || r.closed) return;
    const height = Math.round(video.getBoundingClientRect().height * (window.devicePixelRatio || 1));
    if (tileHeights.get(slot) === height) return;
    tileHeights.set(slot, height);
    r.setVideoSlot(slot, { height }).catch((e) => {
      tileHeights.delete(slot);
      logLine('error', `setVideoSlot(${slot}, {height: ${height}}): ${describe(e)}`);
    });
  }, 100));
}

/**
 * @param {"share" | "canvas"} kind
 * @param {{name: string} | null} who
 * @param {() => MediaStreamTrack | null} track
 * @param {string} caption
 */
function showRemote(kind, who, track, caption) {
  const fig = $(`${kind}-figure`);
  const video = /** @type {HTMLVideoElement} */ ($(`${kind}-video`));
  const t = who ? track() : null;
  if (!who || !t) {
    fig.hidden = true;
    if (video.srcObject) video.srcObject = null;
    return;
  }
  fig.hidden = false;
  $(`${kind}-caption`).textContent = `${caption} ${who.name}`;
  const current = /** @type {MediaStream | null} */ (video.srcObject);
  if (!current || current.getVideoTracks()[0] !== t) {
    video.srcObject = new MediaStream([t]);
    video.play().catch(() => {});
  }
}

/** Speaking indicators and the microphone meter, a few times a second. */
function updateMeters() {
  const r = room;
  if (!r) return;
  /** @type {Map<string, number>} */
  const levels = new Map();
  for (const [slot, talker] of r.talkers) {
    levels.set(talker.clientId, Math.max(levels.get(talker.clientId) ?? 0, r.slotLevel(slot)));
  }
  const micTrack = r.media.micStream?.getAudioTracks()[0];
  const mine = micTrack && micTrack.enabled ? r.media.localLevel() : 0;
  levels.set(r.clientId, mine);
  const meter = $('mic-meter');
  meter.style.width = `${Math.round(Math.min(1, mine * 2) * 100)}%`;
  for (const li of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('#people .person'))) {
    const id = li.dataset.clientId ?? '';
    const dot = li.querySelector('.dot');
    if (!dot) continue;
    const level = levels.get(id);
    const threshold = id === r.clientId ? 0.05 : SPEAKING_LEVEL;
    dot.classList.toggle('talker', level !== undefined && id !== r.clientId);
    dot.classList.toggle('speaking', level !== undefined && level > threshold);
  }
  // Listen-in tiles: a room speaks when one of its members is heard speaking in a slot.
  for (const dot of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('#listen-grid [data-speaking-room]'))) {
    const b = r.breakoutRooms.get(dot.dataset.speakingRoom ?? '');
    const heard = b ? b.members.map((m) => levels.get(m.clientId)).filter((l) => l !== undefined) : [];
    dot.classList.toggle('talker', heard.length > 0);
    dot.classList.toggle('speaking', heard.some((l) => (l ?? 0) > SPEAKING_LEVEL));
  }
}

// ---------------------------------------------------------------------------------------------
// The canvas that "Share canvas" streams: a small animation, so that motion is visible.

function startCanvasAnimation() {
  const canvas = /** @type {HTMLCanvasElement} */ ($('local-canvas'));
  const ctx = canvas.getContext('2d');
  if (!ctx) return canvas;
  const name = room?.me?.name ?? '';
  const t0 = performance.now();
  const draw = () => {
    const t = (performance.now() - t0) / 1000;
    const { width: w, height: hgt } = canvas;
    ctx.fillStyle = `hsl(${(t * 20) % 360} 45% 18%)`;
    ctx.fillRect(0, 0, w, hgt);
    for (let i = 0; i < 5; i++) {
      const x = w / 2 + Math.cos(t * (0.8 + i * 0.3) + i) * (w / 2 - 24);
      const y = hgt / 2 + Math.sin(t * (1.1 + i * 0.2) + i * 2) * (hgt / 2 - 24);
      ctx.beginPath();
      ctx.fillStyle = `hsl(${(i * 72 + t * 40) % 360} 80% 60%)`;
      ctx.arc(x, y, 14, 0, Math.PI * 2);
      ctx.fill();
    }
    ctx.fillStyle = '#fff';
    ctx.font = '16px system-ui, sans-serif';
    ctx.fillText(`${name} · ${new Date().toLocaleTimeString([], { hour12: false })}`, 12, hgt - 12);
    canvasAnimation = requestAnimationFrame(draw);
  };
  stopCanvasAnimation();
  draw();
  return canvas;
}

function stopCanvasAnimation() {
  if (canvasAnimation !== undefined) cancelAnimationFrame(canvasAnimation);
  canvasAnimation = undefined;
}

// ---------------------------------------------------------------------------------------------
// Buttons.

/**
 * @param {string} id
 * @param {string} what
 * @param {(r: Room) => Promise<unknown>} fn
 */
function onClick(id, what, fn) {
  const btn = button(id);
  btn.addEventListener('click', () => {
    const r = room;
    if (r) void act(btn, what, () => fn(r));
  });
}

/** @returns {import('/sdk/protocol.js').RoomDefinition} */
function definition() {
  const rooms = Number(input('cr-rooms').value);
  const size = Number(input('cr-size').value);
  const minutes = Number(input('cr-duration').value);
  const names = input('cr-names').value.split(',').map((n) => n.trim()).filter((n) => n !== '');
  return {
    participants: size,
    audio: true,
    video: false,
    canvas: input('cr-canvas').checked,
    share: input('cr-share').checked,
    max_rooms: rooms,
    duration: minutes > 0 ? Math.round(minutes * 60) : undefined,
    names: names.length ? names : undefined,
    self_select: input('cr-self-select').checked || undefined,
  };
}

function setup() {
  // Remember the last name and role.
  try {
    const saved = JSON.parse(localStorage.getItem('alcove-demo') ?? 'null');
    if (saved) {
      input('join-name').value = saved.name ?? '';
      const radio = /** @type {HTMLInputElement | null} */ (document.querySelector(`input[name=role][value="${saved.role}"]`));
      if (radio) radio.checked = true;
      input('join-mic').checked = saved.useMic !== false;
    }
  } catch {
    // Nothing saved.
  }
  $('join-form').addEventListener('submit', (ev) => void join(/** @type {SubmitEvent} */ (ev)));

  onClick('btn-pause', 'Could not pause the main room', (r) => r.pause());
  onClick('btn-resume', 'Could not resume the main room', (r) => r.resume());
  onClick('btn-mute', 'Could not mute', (r) => r.muteRoom({ audio: true, video: false }));
  onClick('btn-unmute', 'Could not unmute', (r) => r.unmuteRoom({ audio: true, video: false }));
  onClick('btn-leave-br', 'Could not leave the break-out room', async (r) => {
    const br = r.breakoutRoom;
    if (!br) throw new Error('you are not in a break-out room');
    await br.disconnect();
    toast('Back in the main room.', 'ok');
  });
  onClick('btn-clear-all', 'Could not clear', (r) => r.clearAllBreakOutSession());
  onClick('btn-create', 'Could not create rooms', async (r) => {
    const ack = await r.createBreakOutRoom(definition());
    toast(`Created ${ack.msg.rooms.length} room(s).`, 'ok');
  });
  onClick('btn-create-invite', 'Could not create and assign', async (r) => {
    const force = input('cr-force').checked;
    const policy = input('cr-meet-new').checked ? 'meet_new' : undefined;
    const ack = await r.createAndInviteBreakoutRoom({ ...definition(), force_join: force, policy });
    const n = ack.msg.invitations.reduce((/** @type {number} */ s, /** @type {{clients: string[]}} */ i) => s + i.clients.length, 0);
    toast(`Created ${ack.msg.rooms.length} room(s); ${force ? 'moved' : 'invited'} ${n}; ${ack.msg.unassigned.length} stay in the main room.`, 'ok');
  });
  onClick('btn-destroy-all', 'Could not close the rooms', async (r) => {
    if (!confirm('Close every break-out room and bring everyone back to the main room?')) return;
    const ack = await r.destroyAllBreakOutSession();
    toast(`Closed ${ack.msg.rooms.length} room(s).`, 'ok');
  });
  onClick('btn-self-select-all-on', 'Could not open the rooms', (r) => r.setSelfSelect(true));
  onClick('btn-self-select-all-off', 'Could not close the rooms', (r) => r.setSelfSelect(false));
  onClick('btn-help', 'Could not ask for help', async (r) => {
    const ack = await r.requestHelp();
    toast(ack.already_pending ? 'Your request is still waiting.' : 'The moderators were told.', 'ok');
  });
  onClick('btn-cancel-help', 'Could not cancel', (r) => r.cancelHelp());
  onClick('btn-unmute-self', 'Could not unmute', (r) => r.unmuteSelf());
  onClick('btn-audio-broadcast', 'Could not broadcast', (r) => (r.broadcasting ? r.stopBroadcast() : r.startBroadcast()));
  const release = () => {
    if (room && pttRoom) void pushToTalk(room, pttRoom, false);
  };
  document.addEventListener('pointerup', release);
  document.addEventListener('pointercancel', release);
  window.addEventListener('blur', release);
  $('broadcast-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const r = room;
    if (!r) return;
    const text = /** @type {HTMLTextAreaElement} */ ($('bc-text'));
    const target = /** @type {HTMLSelectElement} */ ($('bc-room')).value;
    void act(button('btn-broadcast'), 'Could not send', async () => {
      const ack = await r.broadcastMessage(text.value, target ? [target] : undefined);
      toast(`Sent to ${ack.recipients} ${ack.recipients === 1 ? 'person' : 'people'}.`, 'ok');
      text.value = '';
    });
  });
  onClick('btn-save-plan', 'Could not save the plan', async (r) => {
    const ack = await r.savePlan(input('plan-name').value);
    toast(`Saved plan "${ack.plan.name}" (${ack.plan.rooms.length} rooms).`, 'ok');
    await loadPlans(r);
  });
  onClick('btn-list-plans', 'Could not list the plans', loadPlans);
  onClick('btn-apply-plan', 'Could not apply the plan', async (r) => {
    const name = /** @type {HTMLSelectElement} */ ($('plan-select')).value;
    if (!name) throw new Error('load the plans and pick one first');
    const ack = await r.applyPlan(name, { forceJoin: input('plan-force').checked });
    const n = ack.invitations.reduce((/** @type {number} */ s, /** @type {{clients: string[]}} */ i) => s + i.clients.length, 0);
    toast(`Applied "${name}": ${ack.rooms.length} room(s), ${n} placed${ack.unmatched.length ? `, not here: ${ack.unmatched.join(', ')}` : ''}.`, 'ok');
  });
  onClick('btn-mic', 'Microphone', async (r) => {
    const t = r.media.micStream?.getAudioTracks()[0];
    if (t) t.enabled = !t.enabled;
  });
  onClick('btn-enable-audio', 'Could not start sound', async (r) => {
    if (!(await r.media.resumeAudio())) throw new Error('the browser still blocks playback');
  });
  onClick('btn-share', 'Screen share', async (r) => {
    if (r.media.localShareTrack) await r.stopShare();
    else await r.shareScreen();
  });
  onClick('btn-camera', 'Camera', async (r) => {
    if (r.media.localCameraTrack) await r.unpublishCamera();
    else await r.publishCamera({ width: 640, height: 480 });
    renderMedia();
  });
  onClick('btn-canvas', 'Canvas', async (r) => {
    if (r.media.localCanvasTrack) {
      await r.stopCanvas();
      stopCanvasAnimation();
    } else {
      const canvas = startCanvasAnimation();
      $('local-canvas-figure').hidden = false;
      try {
        await r.shareCanvas(canvas, 15);
      } catch (e) {
        stopCanvasAnimation();
        $('local-canvas-figure').hidden = true;
        throw e;
      }
    }
  });
  onClick('btn-leave-call', 'Could not leave', async (r) => {
    r.disconnect();
  });
  button('btn-clear-log').addEventListener('click', () => $('log').replaceChildren());
}

/**
 * Fills the plan picker from `listPlans()`.
 * @param {Room} r
 */
async function loadPlans(r) {
  const ack = await r.listPlans();
  const sel = /** @type {HTMLSelectElement} */ ($('plan-select'));
  const keep = sel.value;
  /** @type {{name: string, rooms: number, members: number}[]} */
  const plans = ack.plans;
  sel.replaceChildren(...(plans.length
    ? plans.map((p) => h('option', { value: p.name }, `${p.name} (${p.rooms} rooms, ${p.members} people)`))
    : [h('option', { value: '' }, '(no saved plans)')]));
  if (plans.some((p) => p.name === keep)) sel.value = keep;
}

setup();
