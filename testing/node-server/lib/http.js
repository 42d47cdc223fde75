'use strict';

// The HTTP API and the board page, on Node's built-in http module.

const fs = require('node:fs');
const path = require('node:path');
const { verifyPassword, dummyCheck } = require('./passwords');
const { hashSecret } = require('./db');
const { redactUrl } = require('./log');

// The board page every server of the workbook serves, from the repository.
const STATIC_DIR = path.resolve(__dirname, '../../../board/static');
const STATIC_FILES = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/static/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/static/style.css': ['style.css', 'text/css; charset=utf-8'],
};

const MAX_BODY = 64 * 1024;

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

// The `session` cookie of a request: undefined without one, '' for an
// empty one.
function sessionCookie(req) {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const index = pair.indexOf('=');
    if (index === -1) continue;
    if (pair.slice(0, index).trim() === 'session') return pair.slice(index + 1).trim();
  }
  return undefined;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, 'Body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// The JSON body of a login: both fields strings, or a 400.
async function readLogin(req) {
  const type = (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
  const text = await readBody(req);
  if (type !== 'application/json') throw new HttpError(400, 'Expected Content-Type: application/json');
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'Body is not valid JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'Body must be a JSON object');
  }
  if (typeof body.username !== 'string' || typeof body.password !== 'string') {
    throw new HttpError(400, 'username and password must be strings');
  }
  return body;
}

function createApp({ settings, store, sockets }) {
  // The session behind the request's cookie, or a 401.
  function requireSession(req) {
    const id = sessionCookie(req);
    if (!id) throw new HttpError(401, 'Unauthorized');
    const session = store.lookupSession(id);
    if (session.status !== 'ok') throw new HttpError(401, 'Unauthorized');
    return session;
  }

  const routes = {
    'POST /api/login': async (req, res) => {
      const { username, password } = await readLogin(req);
      const user = store.userForLogin(username);
      const ok = user ? await verifyPassword(password, user.password_hash) : await dummyCheck(password);
      if (!ok) throw new HttpError(401, 'Invalid credentials');
      const id = store.createSession(user.id, settings.sessionTtlSecs);
      sendJson(res, 200, { user: { id: user.id, name: user.name } }, {
        'Set-Cookie': `session=${id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${settings.sessionTtlSecs}`,
      });
    },

    'POST /api/logout': async (req, res) => {
      const session = requireSession(req);
      store.deleteSession(session.sessionHash);
      sockets.endSession(session.sessionHash);
      res.writeHead(204, { 'Set-Cookie': 'session=; Path=/; Max-Age=0' });
      res.end();
    },

    'GET /api/me': async (req, res) => {
      const { user } = requireSession(req);
      sendJson(res, 200, { user });
    },

    'POST /api/tokens': async (req, res) => {
      const { user } = requireSession(req);
      sendJson(res, 201, { token: store.createToken(user.id) });
    },
  };

  if (settings.exercise >= 8) {
    routes['POST /api/ws-ticket'] = async (req, res) => {
      const session = requireSession(req);
      const ticket = store.createTicket(session.sessionHash, settings.ticketTtlSecs);
      sendJson(res, 201, { ticket, expiresIn: settings.ticketTtlSecs });
    };
  }

  for (const [route, [file, type]] of Object.entries(STATIC_FILES)) {
    routes[`GET ${route}`] = async (req, res) => {
      const content = await fs.promises.readFile(path.join(STATIC_DIR, file));
      res.writeHead(200, { 'Content-Type': type, 'Content-Length': content.length });
      res.end(content);
    };
  }

  return async function app(req, res) {
    const started = Date.now();
    res.on('finish', () => {
      console.error(`${req.method} ${redactUrl(req.url)} ${res.statusCode} ${Date.now() - started}ms`);
    });
    const { pathname } = new URL(req.url, 'http://localhost');
    const handler = routes[`${req.method} ${pathname}`];
    try {
      if (!handler) throw new HttpError(404, 'Not found');
      await handler(req, res);
    } catch (error) {
      if (!(error instanceof HttpError)) {
        console.error('request failed:', error);
        error = new HttpError(500, 'Internal error');
      }
      if (!res.headersSent) sendJson(res, error.status, { error: error.message });
      else res.destroy();
    }
  };
}

module.exports = { createApp, sessionCookie, hashSecret };
