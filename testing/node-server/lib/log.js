'use strict';

// Request lines are logged to stderr, with every credential in the URL
// replaced: a log must never hand out a working token or ticket.
function redactUrl(url) {
  return url.replace(/([?&](?:token|ticket)=)[^&#]*/gi, '$1[redacted]');
}

module.exports = { redactUrl };
