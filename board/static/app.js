// The board page: log in, open a socket to /ws on this server, join a
// board, and show what the server says, close codes included.
//
// Plain JavaScript with no build step and no library, so that what the
// browser runs is exactly what is in this file. The page never reconnects
// by itself: when a socket closes, the close code and reason stay on
// screen, because seeing them is the point of the workbook.

"use strict";

// How often a `typing` frame may be sent while the user keeps typing, and
// how long "X is typing..." stays up after the last one arrives. The fade
// is longer than the throttle, so steady typing keeps the line up.
const TYPING_THROTTLE_MS = 1500;
const TYPING_FADE_MS = 3000;
// The frames list keeps only the newest ones.
const MAX_FRAMES = 30;

// What each close code means, in the words of the book's close-codes
// chapter. The server's own reason text is shown beside it.
const CLOSE_MEANINGS = {
  1000: "Normal closure: the socket was closed on purpose.",
  1001: "Going away: the server is shutting down. Connect again in a moment.",
  1006: "The connection ended without a close frame: the server refused the upgrade " +
    "(for example with 403 for a foreign origin; a browser does not show the status), " +
    "crashed, or could not be reached. The server's log says which.",
  1008: "Policy violation: too many connections are open. Close another window and connect again.",
  1009: "Message too big: a frame was over the server's size limit.",
  1011: "Internal error: the server hit an unexpected problem.",
  4001: "Unauthorized: the server does not know who you are. The credential was missing, " +
    "unknown or wrong. Log in and connect again.",
  4002: "Session ended: your session expired or you logged out. Log in again.",
  4003: "Forbidden: you may not do that, for example open a board you are not a member of.",
};

const $ = (id) => document.getElementById(id);

const state = {
  user: null,          // the logged-in user, from /api/me or the login
  socket: null,        // the current WebSocket, if any
  authenticated: false, // whether the server said who the socket is
  opened: false,       // whether the current socket ever opened
  board: null,         // the board the socket has joined
  viewers: 0,
  lastTypingSent: 0,
  typers: new Map(),   // name -> timer that removes it
};

function showUser() {
  $("who").textContent = state.user ? `Logged in as ${state.user.name}.` : "Not logged in.";
  $("logout").hidden = !state.user;
  $("login").hidden = Boolean(state.user);
}

function setStatus(text) {
  $("status").textContent = text;
}

function logFrame(arrow, text) {
  const item = document.createElement("li");
  item.textContent = `${arrow} ${text}`;
  $("frames").prepend(item);
  while ($("frames").children.length > MAX_FRAMES) {
    $("frames").lastElementChild.remove();
  }
}

function send(frame) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    const text = JSON.stringify(frame);
    state.socket.send(text);
    logFrame("\u2192", text);
  }
}

function showViewers() {
  $("viewers").textContent = state.board
    ? `Viewing ${state.board}: ${state.viewers} ${state.viewers === 1 ? "viewer" : "viewers"} (you included).`
    : "Not viewing a board.";
}

function showTypers() {
  const names = [...state.typers.keys()];
  $("typing").textContent = names.length === 0 ? ""
    : `${names.join(" and ")} ${names.length === 1 ? "is" : "are"} typing...`;
}

function someoneTyped(name) {
  clearTimeout(state.typers.get(name));
  state.typers.set(name, setTimeout(() => {
    state.typers.delete(name);
    showTypers();
  }, TYPING_FADE_MS));
  showTypers();
}

function clearTypers() {
  state.typers.forEach((timer) => clearTimeout(timer));
  state.typers.clear();
  showTypers();
}

function showClosed(event, opened) {
  const meaning = CLOSE_MEANINGS[event.code] || "This page does not know that code.";
  $("close-code").textContent = opened
    ? `Closed with ${event.code}.`
    : `Could not connect (closed with ${event.code}).`;
  $("close-meaning").textContent = meaning;
  $("close-reason").textContent = event.reason
    ? `The server's reason: \u201c${event.reason}\u201d.`
    : "The server gave no reason.";
  $("closed").hidden = false;
}

function setConnected(connected) {
  $("connect").disabled = connected;
  $("disconnect").disabled = !connected;
}

// The URL of the socket: /ws on this same server, with a one-time ticket
// when the user chose one and the server offers them.
async function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${location.host}/ws`;
  const ticketChosen = document.querySelector('input[name="credential"]:checked').value === "ticket";
  if (!ticketChosen || $("credential").hidden) {
    return url;
  }
  const response = await fetch("/api/ws-ticket", { method: "POST" });
  if (response.status !== 201) {
    throw new Error(`POST /api/ws-ticket answered ${response.status}`);
  }
  const { ticket } = await response.json();
  return `${url}?ticket=${encodeURIComponent(ticket)}`;
}

async function connect() {
  disconnectQuietly();
  $("closed").hidden = true;
  setConnected(true);
  setStatus("Connecting...");
  let url;
  try {
    url = await socketUrl();
  } catch (error) {
    setConnected(false);
    setStatus(`Could not get a ticket: ${error.message}.`);
    return;
  }
  const socket = new WebSocket(url);
  state.socket = socket;
  state.opened = false;
  state.authenticated = false;
  socket.onopen = () => {
    state.opened = true;
    setStatus("Connected. Waiting for the server to say who this socket is...");
  };
  socket.onmessage = (event) => {
    logFrame("\u2190", event.data);
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    received(frame);
  };
  socket.onclose = (event) => {
    state.socket = null;
    state.authenticated = false;
    state.board = null;
    clearTypers();
    showViewers();
    setConnected(false);
    setStatus("Not connected.");
    showClosed(event, state.opened);
  };
}

// Closes the current socket without reporting it: used when the page
// itself replaces the socket, for example after logging in.
function disconnectQuietly() {
  if (state.socket) {
    state.socket.onclose = null;
    state.socket.close(1000);
    state.socket = null;
    state.authenticated = false;
    state.board = null;
    clearTypers();
    showViewers();
  }
}

function received(frame) {
  switch (frame.type) {
    case "authenticated":
      state.authenticated = true;
      setStatus(`Socket authenticated as ${frame.user.name}.`);
      join($("board-id").value);
      break;
    case "joined":
      state.board = frame.boardId;
      state.viewers = frame.viewers;
      showViewers();
      break;
    case "user_joined":
    case "user_left":
      state.viewers = frame.viewers;
      showViewers();
      if (frame.type === "user_left") {
        state.typers.delete(frame.user.name);
        showTypers();
      }
      break;
    case "user_typing":
      someoneTyped(frame.user.name);
      break;
    default:
      // Error frames ({"error": ...}) and anything else are in the frames list.
      break;
  }
}

function join(boardId) {
  // Before the server says who the socket is, any frame but an auth frame
  // may end it; the authenticated frame joins the chosen board anyway.
  if (!state.authenticated) {
    return;
  }
  if (state.board && state.board !== boardId) {
    send({ type: "leave", boardId: state.board });
    state.board = null;
    clearTypers();
  }
  send({ type: "join", boardId });
}

function typed() {
  const now = Date.now();
  if (state.board && now - state.lastTypingSent >= TYPING_THROTTLE_MS) {
    state.lastTypingSent = now;
    send({ type: "typing", boardId: state.board });
  }
}

async function logIn(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  const response = await fetch("/api/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: $("username").value, password: $("password").value }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    $("login-error").textContent = `Login failed: ${body.error || response.status}.`;
    return;
  }
  state.user = body.user;
  $("password").value = "";
  showUser();
  // A socket opened before the login has no session: open a new one, which
  // carries the new cookie with its upgrade.
  connect();
}

async function logOut() {
  const response = await fetch("/api/logout", { method: "POST" });
  if (response.status === 204 || response.status === 401) {
    state.user = null;
    showUser();
  }
  // The socket stays as it is: closing it is the server's job (4002), and
  // the page shows whether it does.
}

// Whether this server issues WebSocket tickets. A GET of the POST-only
// route answers 405 where it exists and 404 where it does not, without
// issuing a ticket.
async function offerTickets() {
  const response = await fetch("/api/ws-ticket");
  $("credential").hidden = response.status === 404;
}

async function start() {
  $("login-form").addEventListener("submit", logIn);
  $("logout").addEventListener("click", logOut);
  $("connect").addEventListener("click", connect);
  $("disconnect").addEventListener("click", () => state.socket && state.socket.close(1000));
  $("board-id").addEventListener("change", () => join($("board-id").value));
  $("text").addEventListener("input", typed);
  const me = await fetch("/api/me");
  state.user = me.ok ? (await me.json()).user : null;
  showUser();
  await offerTickets();
  // Connect straight away, logged in or not: the page shows what the
  // server does with whatever credential the browser has.
  connect();
}

start();
