'use strict';

// Reads the server's settings from the environment, as the contract's
// "Starting a server" table lists them. A bad value throws a SettingError
// naming the setting; server.js prints it and exits non-zero.

class SettingError extends Error {
  constructor(name, problem) {
    super(`${name}: ${problem}`);
    this.setting = name;
  }
}

const LAST_EXERCISE = 10;

// `--exercise N` (or `--exercise=N`) picks the stage of the course the
// server behaves as; without it, the last one.
function parseExercise(argv) {
  let value;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--exercise') value = argv[++i];
    else if (arg.startsWith('--exercise=')) value = arg.slice('--exercise='.length);
    else throw new SettingError('--exercise', `unknown argument ${JSON.stringify(arg)}`);
  }
  if (value === undefined) return LAST_EXERCISE;
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || Number(value) > LAST_EXERCISE) {
    throw new SettingError('--exercise', `must be a whole number from 1 to ${LAST_EXERCISE}, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

// A plain decimal integer within [min, max], or the default when unset.
function integer(env, name, fallback, min, max) {
  const raw = env[name];
  if (raw === undefined) return fallback;
  if (!/^[0-9]+$/.test(raw)) {
    throw new SettingError(name, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  const value = Number(raw);
  if (value < min || value > max) {
    throw new SettingError(name, `must be from ${min} to ${max}, got ${raw}`);
  }
  return value;
}

// Origins compare as scheme://host[:port], case-insensitive, without a
// trailing slash; an entry that is not a URL is kept as written (lowercased)
// so that it simply never matches.
function normalizeOrigin(origin) {
  const trimmed = origin.trim().replace(/\/+$/, '');
  try {
    const url = new URL(trimmed);
    if (url.origin !== 'null') return url.origin.toLowerCase();
  } catch {
    // not a URL: compared as written
  }
  return trimmed.toLowerCase();
}

function redisUrl(raw) {
  if (raw === undefined || raw === '') return null;
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw new SettingError('REDIS_URL', 'is not a URL (expected redis://HOST:PORT)');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new SettingError('REDIS_URL', `must start with redis:// or rediss://, not ${url.protocol}//`);
  }
  return raw;
}

function loadSettings(env, argv) {
  const exercise = parseExercise(argv);
  const settings = {
    exercise,
    port: integer(env, 'PORT', 3000, 0, 65535),
    databasePath: env.DATABASE_PATH === undefined || env.DATABASE_PATH === '' ? ':memory:' : env.DATABASE_PATH,
    sessionTtlSecs: integer(env, 'SESSION_TTL_SECS', 86400, 1, 31536000),
    authTimeoutMs: 5000,
    allowedOrigins: [],
    ticketTtlSecs: 30,
    pingIntervalMs: 30000,
    maxSocketsPerUser: 10,
    messageRate: 20,
    redisUrl: null,
  };
  // Each stage reads the settings its lessons introduce.
  if (exercise >= 5) settings.authTimeoutMs = integer(env, 'AUTH_TIMEOUT_MS', 5000, 1, 3600000);
  if (exercise >= 7) {
    settings.allowedOrigins = (env.ALLOWED_ORIGINS || '')
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '')
      .map(normalizeOrigin);
  }
  if (exercise >= 8) settings.ticketTtlSecs = integer(env, 'TICKET_TTL_SECS', 30, 1, 3600);
  if (exercise >= 9) {
    settings.pingIntervalMs = integer(env, 'PING_INTERVAL_MS', 30000, 100, 3600000);
    settings.maxSocketsPerUser = integer(env, 'MAX_SOCKETS_PER_USER', 10, 1, 10000);
    settings.messageRate = integer(env, 'MESSAGE_RATE', 20, 1, 100000);
  }
  if (exercise >= 10) settings.redisUrl = redisUrl(env.REDIS_URL);
  return settings;
}

module.exports = { loadSettings, normalizeOrigin, SettingError };
