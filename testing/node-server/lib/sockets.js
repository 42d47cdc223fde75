'use strict';

// The WebSocket endpoint GET /ws, on the `ws` library: choosing and checking
// the credential of an upgrade, the first-message auth, rooms, and the
// checks that keep a long-lived socket honest.

const http = require('node:http');
const { WebSocketServer, WebSocket } = require('ws');
const { sessionCookie } = require('./http');
const { normalizeOrigin } = require('./settings');
const { redactUrl } = require('./log');
const { send } = require('./rooms');

const MAX_MESSAGE = 64 * 1024;
// setTimeout takes at most 2^31 - 1 ms; a later expiry is re-checked then.
const MAX_TIMER = 2 ** 31 - 1;

function createSockets({ settings, store, rooms, bus, server }) {
  const { exercise } = settings;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE });
  const bySession = new Map(); // session hash -> Set of sockets
  const socketsPerUser = new Map(); // user id -> open authenticated sockets
  const authenticated = new Set();
  let nextId = 1;
  let ownOrigins = [];

  // ---- choosing the credential -------------------------------------------

  // The order of the contract: ticket, token, bearer header, cookie, none.
  function readCredential(req, url) {
    const params = url.searchParams;
    if (exercise >= 8 && params.has('ticket')) return { kind: 'ticket', value: params.get('ticket') };
    if (exercise >= 4 && params.has('token')) return { kind: 'token', value: params.get('token') };
    if (exercise >= 8 && req.headers.authorization !== undefined) {
      const bearer = /^Bearer(?:[ \t]+(.*))?$/i.exec(req.headers.authorization.trim());
      if (bearer) return { kind: 'bearer', value: (bearer[1] ?? '').trim() };
      // Any other scheme (Basic, say) is the browser's doing: ignored here.
    }
    const cookie = sessionCookie(req);
    if (cookie !== undefined) return { kind: 'cookie', value: cookie };
    return { kind: 'none' };
  }

  // Only a cookie is attached by the browser on its own, so only a cookie
  // upgrade has its Origin checked. No Origin at all is a non-browser client.
  function originAllowed(origin) {
    if (origin === undefined) return true;
    const normalized = normalizeOrigin(origin);
    return ownOrigins.includes(normalized) || settings.allowedOrigins.includes(normalized);
  }

  // Answers an upgrade with a plain HTTP error instead of a socket.
  function refuse(req, socket, status, body, headers = {}) {
    const text = JSON.stringify(body);
    const lines = [
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}`,
      'Content-Type: application/json',
      `Content-Length: ${Buffer.byteLength(text)}`,
      'Connection: close',
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ];
    socket.end(`${lines.join('\r\n')}\r\n\r\n${text}`);
    console.error(`${req.method} ${redactUrl(req.url)} ${status} (upgrade refused)`);
  }

  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    try {
      upgrade(req, socket, head);
    } catch (error) {
      console.error(`upgrade failed: ${error.message}`);
      refuse(req, socket, 500, { error: 'Internal error' });
    }
  });

  function upgrade(req, socket, head) {
    const url = new URL(req.url, 'http://localhost');
    if (url.pathname !== '/ws') return refuse(req, socket, 404, { error: 'Not found' });
    const credential = readCredential(req, url);
    if (exercise >= 7 && credential.kind === 'cookie' && !originAllowed(req.headers.origin)) {
      return refuse(req, socket, 403, { error: 'Forbidden origin' });
    }
    if (credential.kind === 'bearer') {
      // A bad bearer token is refused before the upgrade: no socket at all.
      credential.result = store.lookupToken(credential.value);
      if (credential.result.status === 'unknown') {
        return refuse(req, socket, 401, { error: 'Invalid token' }, { 'WWW-Authenticate': 'Bearer' });
      }
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      console.error(`${req.method} ${redactUrl(req.url)} 101`);
      try {
        connected(ws, credential);
      } catch (error) {
        console.error(`socket ${ws.id}: ${error.message}`);
        ws.close(1011, 'Internal error');
      }
    });
  }

  // ---- authenticating the socket -----------------------------------------

  function reject(ws, code, reason, frame = reason) {
    if (frame) send(ws, { error: frame });
    ws.close(code, reason);
  }

  function connected(ws, credential) {
    ws.id = nextId++;
    ws.boards = new Set();
    ws.user = null;
    ws.sessionHash = null;
    ws.queue = Promise.resolve();
    ws.lastSeen = Date.now();

    ws.on('message', (data, isBinary) => onMessage(ws, data, isBinary));
    ws.on('pong', () => {
      ws.lastSeen = Date.now();
    });
    ws.on('close', () => onClose(ws));
    ws.on('error', (error) => console.error(`socket ${ws.id}: ${error.message}`));

    switch (credential.kind) {
      case 'cookie': {
        const session = store.lookupSession(credential.value);
        if (session.status === 'ok') return accept(ws, session.user, session);
        if (session.status === 'expired' && exercise >= 6) return reject(ws, 4002, 'Session expired');
        if (session.status === 'user-not-found') return reject(ws, 4001, 'User not found');
        return reject(ws, 4001, 'Invalid session');
      }
      case 'token':
      case 'bearer': {
        const result = credential.result ?? store.lookupToken(credential.value);
        if (result.status === 'ok') return accept(ws, result.user);
        if (result.status === 'user-not-found') return reject(ws, 4001, 'User not found');
        return reject(ws, 4001, 'Invalid token');
      }
      case 'ticket': {
        const result = store.takeTicket(credential.value);
        if (result.status === 'ok') return accept(ws, result.user, result);
        if (result.status === 'expired') return reject(ws, 4001, 'Ticket expired');
        return reject(ws, 4001, 'Invalid ticket');
      }
      default:
        if (exercise < 5) return reject(ws, 4001, 'Unauthorized');
        // First-message auth: the socket waits for {"type":"auth","token":...}.
        ws.awaitingAuth = true;
        ws.authTimer = setTimeout(() => {
          ws.awaitingAuth = false;
          reject(ws, 4001, 'Authentication timeout');
        }, settings.authTimeoutMs);
    }
  }

  function authFrame(ws, data, isBinary) {
    ws.awaitingAuth = false;
    clearTimeout(ws.authTimer);
    let message;
    try {
      message = isBinary ? null : JSON.parse(data.toString('utf8'));
    } catch {
      message = null;
    }
    if (message?.type !== 'auth' || typeof message.token !== 'string') {
      return reject(ws, 4001, 'Unauthorized');
    }
    const result = store.lookupToken(message.token);
    if (result.status === 'ok') return accept(ws, result.user);
    if (result.status === 'user-not-found') return reject(ws, 4001, 'User not found');
    return reject(ws, 4001, 'Invalid token');
  }

  // A socket whose credential checked out. A session (cookie or ticket)
  // stays attached to it: the session's end ends the socket.
  function accept(ws, user, session = null) {
    if (exercise >= 9) {
      const open = socketsPerUser.get(user.id) ?? 0;
      if (open >= settings.maxSocketsPerUser) return reject(ws, 1008, 'Too many connections', null);
      socketsPerUser.set(user.id, open + 1);
      ws.holdsSlot = true;
      ws.bucket = { tokens: settings.messageRate, refilledAt: Date.now() };
    }
    ws.user = user;
    authenticated.add(ws);
    if (session) {
      ws.sessionHash = session.sessionHash;
      if (!bySession.has(session.sessionHash)) bySession.set(session.sessionHash, new Set());
      bySession.get(session.sessionHash).add(ws);
      if (exercise >= 6) watchExpiry(ws, session.expiresAt);
    }
    send(ws, { type: 'authenticated', user });
  }

  // Closes the socket once the clock reaches its session's expires_at,
  // read again from the database then (it may have changed since).
  function watchExpiry(ws, expiresAt) {
    const delay = Math.min(expiresAt * 1000 - Date.now() + 5, MAX_TIMER);
    ws.expiryTimer = setTimeout(() => {
      const session = store.lookupSessionHash(ws.sessionHash);
      if (session.status === 'ok') watchExpiry(ws, session.expiresAt);
      else if (session.status !== 'user-not-found') sessionEnded(ws);
    }, Math.max(delay, 0));
  }

  function sessionEnded(ws) {
    reject(ws, 4002, 'Session expired');
  }

  // A logout: that session's sockets here and, over the bus, everywhere.
  function endSession(sessionHash) {
    if (exercise < 6) return;
    for (const ws of bySession.get(sessionHash) ?? []) sessionEnded(ws);
    if (bus) bus.publishSessionEnded(sessionHash);
  }
  if (bus) {
    bus.onSessionEnded = (sessionHash) => {
      for (const ws of bySession.get(sessionHash) ?? []) sessionEnded(ws);
    };
  }

  // ---- messages ----------------------------------------------------------

  // Every text or binary frame takes one from the socket's bucket, before
  // it is parsed; the bucket refills at MESSAGE_RATE a second.
  function takeFromBucket(ws) {
    const now = Date.now();
    const rate = settings.messageRate;
    const bucket = ws.bucket;
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.refilledAt) / 1000) * rate);
    bucket.refilledAt = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  function onMessage(ws, data, isBinary) {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.lastSeen = Date.now();
    if (!ws.user) {
      if (ws.awaitingAuth) authFrame(ws, data, isBinary);
      return;
    }
    if (exercise < 3) return;
    // Messages are handled one at a time, in the order they came: with
    // Redis, a join waits for its count before the next message is read.
    const allowed = exercise < 9 || takeFromBucket(ws);
    const handle = allowed ? () => handleMessage(ws, data, isBinary) : () => send(ws, { error: 'Rate limited' });
    ws.queue = ws.queue.then(handle).catch((error) => console.error(`socket ${ws.id}: ${error.message}`));
  }

  const BOARD_MESSAGES = new Set(['join', 'typing', 'leave']);

  async function handleMessage(ws, data, isBinary) {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (isBinary) return send(ws, { error: 'Invalid JSON' });
    let message;
    try {
      message = JSON.parse(data.toString('utf8'));
    } catch {
      return send(ws, { error: 'Invalid JSON' });
    }
    const type = message !== null && typeof message === 'object' ? message.type : undefined;
    if (!BOARD_MESSAGES.has(type)) return send(ws, { error: 'Unknown message type' });
    const { boardId } = message;
    if (typeof boardId !== 'string') return send(ws, { error: 'Invalid message' });

    // From exercise 9 the user is read afresh before acting on a message.
    if (exercise >= 9 && !store.user(ws.user.id)) return reject(ws, 4001, 'User not found');

    if (type === 'join') return join(ws, boardId);
    if (!rooms.has(ws, boardId)) return send(ws, { error: 'Not in board' });
    if (type === 'typing') {
      if (exercise >= 9 && !store.isMember(boardId, ws.user.id)) return reject(ws, 4003, 'Forbidden');
      return rooms.broadcast(boardId, { type: 'user_typing', user: ws.user, boardId }, ws);
    }
    const viewers = await rooms.leave(ws, boardId);
    rooms.broadcast(boardId, { type: 'user_left', user: ws.user, viewers, boardId }, ws);
  }

  async function join(ws, boardId) {
    if (!store.isMember(boardId, ws.user.id)) return reject(ws, 4003, 'Forbidden');
    if (rooms.has(ws, boardId)) {
      return send(ws, { type: 'joined', boardId, viewers: await rooms.viewers(boardId) });
    }
    const viewers = await rooms.join(ws, boardId);
    send(ws, { type: 'joined', boardId, viewers });
    rooms.broadcast(boardId, { type: 'user_joined', user: ws.user, viewers, boardId }, ws);
  }

  // ---- the end of a socket -----------------------------------------------

  function onClose(ws) {
    clearTimeout(ws.authTimer);
    clearTimeout(ws.expiryTimer);
    authenticated.delete(ws);
    if (ws.holdsSlot) {
      const left = socketsPerUser.get(ws.user.id) - 1;
      if (left > 0) socketsPerUser.set(ws.user.id, left);
      else socketsPerUser.delete(ws.user.id);
    }
    if (ws.sessionHash) {
      const sockets = bySession.get(ws.sessionHash);
      sockets?.delete(ws);
      if (sockets?.size === 0) bySession.delete(ws.sessionHash);
    }
    // Every board it was in hears that it left, after whatever it sent last.
    ws.queue = ws.queue
      .then(async () => {
        for (const boardId of [...ws.boards]) {
          const viewers = await rooms.leave(ws, boardId);
          rooms.broadcast(boardId, { type: 'user_left', user: ws.user, viewers, boardId }, ws);
        }
      })
      .catch((error) => console.error(`socket ${ws.id}: ${error.message}`));
  }

  // ---- heartbeats and re-checks (exercise 9) -----------------------------

  // What a message or a tick re-reads: the session, the user, the boards.
  // False when the socket was closed for it.
  function recheck(ws) {
    if (ws.sessionHash) {
      const session = store.lookupSessionHash(ws.sessionHash);
      if (session.status === 'unknown' || session.status === 'expired') {
        sessionEnded(ws);
        return false;
      }
    }
    if (!store.user(ws.user.id)) {
      reject(ws, 4001, 'User not found');
      return false;
    }
    for (const boardId of ws.boards) {
      if (!store.isMember(boardId, ws.user.id)) {
        reject(ws, 4003, 'Forbidden');
        return false;
      }
    }
    return true;
  }

  let heartbeat = null;
  if (exercise >= 9) {
    const interval = settings.pingIntervalMs;
    // The sweep runs after this turn's I/O (setImmediate), so a pong that
    // arrived while the process waited for the CPU is read before the
    // socket's silence is judged.
    const sweep = () => {
      const now = Date.now();
      for (const ws of authenticated) {
        if (ws.readyState !== WebSocket.OPEN) continue;
        // Silent (not even a pong) for two intervals: gone, without waiting
        // for a closing handshake it would not answer either.
        if (now - ws.lastSeen >= 2 * interval) {
          ws.terminate();
          continue;
        }
        try {
          if (recheck(ws)) ws.ping();
        } catch (error) {
          // The database could not answer: try again at the next tick.
          console.error(`socket ${ws.id}: ${error.message}`);
        }
      }
    };
    heartbeat = setInterval(() => setImmediate(sweep), interval);
  }

  // ---- shutting down -----------------------------------------------------

  // Closes every socket 1001, those still waiting for their auth frame too;
  // resolves once they are closed, or after `grace` ms at the latest.
  function shutdown(grace) {
    clearInterval(heartbeat);
    const open = [...wss.clients];
    for (const ws of open) ws.close(1001, 'Server shutting down');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const ws of wss.clients) ws.terminate();
        resolve();
      }, grace);
      const closed = open.map((ws) => new Promise((done) => {
        if (ws.readyState === WebSocket.CLOSED) done();
        else ws.once('close', done);
      }));
      Promise.all(closed)
        .then(() => Promise.all(open.map((ws) => ws.queue)))
        .then(() => {
          clearTimeout(timer);
          resolve();
        });
    });
  }

  return {
    endSession,
    shutdown,
    setPort(port) {
      ownOrigins = [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
    },
  };
}

module.exports = { createSockets };
